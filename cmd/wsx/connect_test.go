package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	websocket "github.com/hybi/websocket"
)

var (
	wsxOnce sync.Once
	wsxBin  string
	wsxErr  error
	wsxDir  string
)

// wsxBinary builds the wsx binary once for all the tests that run it.
func wsxBinary(t *testing.T) string {
	t.Helper()
	wsxOnce.Do(func() {
		wsxDir, wsxErr = os.MkdirTemp("", "wsx-test-")
		if wsxErr != nil {
			return
		}
		wsxBin = wsxDir + "/wsx"
		out, err := exec.Command("go", "build", "-o", wsxBin, ".").CombinedOutput()
		if err != nil {
			wsxErr = errors.New(string(out))
		}
	})
	if wsxErr != nil {
		t.Fatalf("go build: %v", wsxErr)
	}
	return wsxBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if wsxDir != "" {
		os.RemoveAll(wsxDir)
	}
	os.Exit(code)
}

// result is what a finished wsx run printed and its exit status.
type result struct {
	stdout, stderr string
	code           int
}

// wsx runs the binary with stdin and returns its output and exit status,
// killing it after 30 s.
func wsx(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, wsxBinary(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("wsx %v: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("wsx %v did not end within 30 s:\n%s\n%s", args, out.String(), errb.String())
	}
	return result{out.String(), errb.String(), code}
}

// proc is a running wsx serve (or proxy) process.
type proc struct {
	url  string
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs bytes.Buffer
	done chan struct{}
}

// log returns what the server printed so far.
func (s *proc) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

// waitLog waits up to 10 s for the server's output to match re.
func (s *proc) waitLog(t *testing.T, re string) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := rx.FindString(s.log()); m != "" {
			return m
		}
	}
	t.Fatalf("server output never matched %q:\n%s", re, s.log())
	return ""
}

// startWsx starts a long-running wsx command (serve, proxy) and waits for
// the line naming its URL; the process is interrupted at the end of the
// test.
func startWsx(t *testing.T, args ...string) *proc {
	t.Helper()
	s := &proc{cmd: exec.Command(wsxBinary(t), args...), done: make(chan struct{})}
	pr, pw := io.Pipe()
	s.cmd.Stdout, s.cmd.Stderr = pw, pw
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.logs.WriteString(line + "\n")
			s.mu.Unlock()
			if m := regexp.MustCompile(`wss?://[^ /]+/`).FindString(line); m != "" {
				select {
				case urls <- m:
				default:
				}
			}
		}
	}()
	go func() {
		s.cmd.Wait()
		pw.Close()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
			t.Errorf("wsx %v did not stop on os.Interrupt", args)
		}
	})
	select {
	case s.url = <-urls:
	case <-s.done:
		t.Fatalf("wsx %v exited:\n%s", args, s.log())
	case <-time.After(10 * time.Second):
		t.Fatalf("wsx %v printed no URL:\n%s", args, s.log())
	}
	return s
}

// syncBuffer is a bytes.Buffer safe to read while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// contains fails the test for each want missing from got.
func contains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

func TestConnectEchoTrace(t *testing.T) {
	srv := startWsx(t, "serve", "-addr", "127.0.0.1:0")
	r := wsx(t, "", "connect", "-trace", srv.url, "hello", "/ping hi", "/hex 00ff", "/close 4000 done")
	if r.code != exitClean {
		t.Errorf("exit %d, want %d\n%s", r.code, exitClean, r.stderr)
	}
	contains(t, "stdout", r.stdout, "< hello\n", "< binary 2 bytes: 00ff\n")
	contains(t, "stderr", r.stderr,
		`client→server text         fin=1 rsv1=0 mask=1 len=5 "hello"`,
		`client→server ping         fin=1 rsv1=0 mask=1 len=2 "hi"`,
		`server→client pong         fin=1 rsv1=0 mask=0 len=2 "hi"`,
		`server→client text         fin=1 rsv1=0 mask=0 len=5 "hello"`,
		`client→server close        fin=1 rsv1=0 mask=1 len=6 code=4000 reason="done"`,
		`server→client close        fin=1 rsv1=0 mask=0 len=2 code=4000`,
		"closed by us (local)", "code   4000", `reason "done"`, "frames close sent, then received",
		"cause  none: the closing handshake completed")
}

// With -compress a message past the threshold goes out with RSV1, and a
// fragmented message shows FIN clear on all frames but the last.
func TestConnectTraceRSV1(t *testing.T) {
	srv := startWsx(t, "serve", "-addr", "127.0.0.1:0", "-compress")
	long := strings.Repeat("abcd", 100)
	r := wsx(t, "", "connect", "-trace", "-compress", srv.url, long)
	if r.code != exitClean {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
	contains(t, "stdout", r.stdout, "< "+long+"\n")
	contains(t, "stderr", r.stderr, `extensions "permessage-deflate`, "client→server text         fin=1 rsv1=1 mask=1", "server→client text         fin=1 rsv1=1 mask=0")
}

// Lines on stdin are messages; end of input closes with 1000.
func TestConnectStdin(t *testing.T) {
	srv := startWsx(t, "serve", "-addr", "127.0.0.1:0")
	r := wsx(t, "one\n//two\n/binary three\n/nonsense\n/hex zz\n", "connect", srv.url)
	if r.code != exitClean {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
	if want := "< one\n< /two\n< binary 5 bytes: 7468726565\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	contains(t, "stderr", r.stderr, "unknown command /nonsense", "/hex: invalid hex", "code   1000 (normal closure)")
}

// A received message over -max-size fails the connection with 1009:
// closed by us, but not a clean close (exit 1). Fewer replies than -wait
// is a failure too.
func TestConnectFailures(t *testing.T) {
	srv := startWsx(t, "serve", "-addr", "127.0.0.1:0")
	r := wsx(t, "", "connect", "-max-size", "10", srv.url, strings.Repeat("x", 100))
	if r.code != exitFailed {
		t.Errorf("too big: exit %d, want %d\n%s", r.code, exitFailed, r.stderr)
	}
	contains(t, "stderr", r.stderr, "code   1009 (message too big)", "cause  ")

	r = wsx(t, "", "connect", "-wait", "2", "-timeout", "300ms", srv.url, "once")
	if r.code != exitFailed {
		t.Errorf("-wait 2: exit %d, want %d\n%s", r.code, exitFailed, r.stderr)
	}
	contains(t, "stderr", r.stderr, "got 1 of 2 replies")
}

func TestConnectBadInput(t *testing.T) {
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no websockets here", http.StatusForbidden)
	}))
	defer refuse.Close()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no url", []string{"connect"}, exitUsage, "want a URL"},
		{"malformed url", []string{"connect", "ht tp://x"}, exitUsage, "bad URL"},
		{"wrong scheme", []string{"connect", "ftp://127.0.0.1/"}, exitUsage, "scheme must be ws:// or wss://"},
		{"no host", []string{"connect", "ws:///path"}, exitUsage, "no host"},
		{"bad header", []string{"connect", "-H", "nocolon", "ws://127.0.0.1:1/"}, exitUsage, `want "Name: value"`},
		{"bad proxy", []string{"connect", "-proxy", "ftp://x", "ws://127.0.0.1:1/"}, exitUsage, "-proxy"},
		{"socks proxy down", []string{"connect", "-timeout", "5s", "-proxy", "socks5h://127.0.0.1:1", "ws://ws.example.invalid/"}, exitNoDial, "proxy 127.0.0.1:1: dial tcp 127.0.0.1:1: connect: connection refused"},
		{"missing cacert", []string{"connect", "-cacert", "/nonexistent.pem", "wss://127.0.0.1:1/"}, exitUsage, "-cacert"},
		{"bad close code", []string{"connect", "ws://127.0.0.1:1/", "/close 1005x"}, exitUsage, "not a close code"},
		{"reserved close code", []string{"connect", "ws://127.0.0.1:1/", "/close 1004"}, exitUsage, "/close"},
		{"unreachable", []string{"connect", "-timeout", "5s", "ws://127.0.0.1:1/"}, exitNoDial, "connection refused"},
		{"refused handshake", []string{"connect", "ws" + strings.TrimPrefix(refuse.URL, "http") + "/"}, exitNoDial, "handshake refused: HTTP 403 Forbidden\nno websockets here"},
		{"tls to plain", []string{"connect", "-timeout", "5s", "wss" + strings.TrimPrefix(refuse.URL, "http") + "/"}, exitNoDial, "tls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := wsx(t, "", tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d\n%s", r.code, tt.code, r.stderr)
			}
			contains(t, "stderr", r.stderr, tt.want)
			if strings.Contains(r.stderr, "panic") {
				t.Errorf("panicked:\n%s", r.stderr)
			}
		})
	}
}

// Ctrl-C (os.Interrupt) closes with 1001 and a completed handshake: exit 0.
func TestConnectInterrupt(t *testing.T) {
	srv := startWsx(t, "serve", "-addr", "127.0.0.1:0")
	cmd := exec.Command(wsxBinary(t), "connect", srv.url)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	pr, pw := io.Pipe()
	var errb syncBuffer
	cmd.Stderr = io.MultiWriter(pw, &errb)
	var out syncBuffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(pr)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "connected to") {
		t.Fatalf("first line %q", sc.Text())
	}
	go io.Copy(io.Discard, pr)
	io.WriteString(stdin, "before\n")
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(out.String(), "< before") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	interrupt(t, cmd, &errb)
	pw.Close()
	contains(t, "stdout", out.String(), "< before")
	contains(t, "stderr", errb.String(), "closed by us (local)", "code   1001 (going away)", `reason "interrupted"`, "close sent, then received")
}

// interrupt sends os.Interrupt to a started command and waits up to 10 s
// for it to exit, failing the test if it exits with an error or not at all.
func interrupt(t *testing.T, cmd *exec.Cmd, stderr fmt.Stringer) {
	t.Helper()
	cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("%v did not end after os.Interrupt", cmd.Args)
	}
}

// The seed failure: a server pushes after idle gaps longer than the
// client's 500 ms (here 200 ms) read deadline. With -read-timeout the
// timeouts are printed and every push arrives; with -timeout-closes wsx
// behaves like the failing client and drops the connection at the first
// timeout, which the close report and the server's log tell apart from a
// server-side close.
func TestConnectReadTimeout(t *testing.T) {
	srv := startWsx(t, "serve", "-addr", "127.0.0.1:0", "-mode", "broadcast")
	obs := startConnect(t, "-trace", "-read-timeout", "200ms", "-wait", "0", srv.url, "/sleep 1.5s")
	r := wsx(t, "", "connect", "-ping", "0", srv.url, "first", "/sleep 600ms", "second")
	if r.code != exitClean {
		t.Errorf("pusher: exit %d\n%s", r.code, r.stderr)
	}
	if code := obs.wait(t); code != exitClean {
		t.Errorf("observer: exit %d\n%s", code, obs.stderr.String())
	}
	if got, want := obs.stdout.String(), "< first\n< second\n"; got != want {
		t.Errorf("observer got %q, want %q", got, want)
	}
	contains(t, "observer", obs.stderr.String(), "read timed out after 200ms; the connection stays open, reading on",
		`server→client text         fin=1 rsv1=0 mask=0 len=6 "second"`, "code   1000 (normal closure)")

	drop := startConnect(t, "-trace", "-read-timeout", "200ms", "-timeout-closes", "-wait", "0", srv.url, "/sleep 3s")
	if code := drop.wait(t); code != exitFailed {
		t.Errorf("-timeout-closes: exit %d, want %d", code, exitFailed)
	}
	contains(t, "-timeout-closes", drop.stderr.String(), "read timed out after 200ms: -timeout-closes drops the connection (no Close frame)",
		"closed by us (local)", "code   1006 (abnormal closure)", "frames no close frames")
	srv.waitLog(t, `close #\d+ .* closed_by=none code=1006 frames="no close frames" cause=`)
}

// -proxy dials through an HTTP CONNECT proxy.
func TestConnectHTTPProxy(t *testing.T) {
	srv := startWsx(t, "serve", "-addr", "127.0.0.1:0")
	var mu sync.Mutex
	var targets []string
	px := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		mu.Lock()
		targets = append(targets, r.Host)
		mu.Unlock()
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer up.Close()
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer nc.Close()
		io.WriteString(nc, "HTTP/1.1 200 Connection established\r\n\r\n")
		go io.Copy(up, brw)
		io.Copy(nc, up)
	}))
	defer px.Close()
	r := wsx(t, "", "connect", "-proxy", px.URL, srv.url, "via proxy")
	if r.code != exitClean || r.stdout != "< via proxy\n" {
		t.Errorf("exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := strings.TrimSuffix(strings.TrimPrefix(srv.url, "ws://"), "/"); len(targets) != 1 || targets[0] != want {
		t.Errorf("proxy saw CONNECT %v, want [%s]", targets, want)
	}
}

// -ping and -pong-timeout: a server that never reads never answers the
// heartbeat's pings, and the connection ends with the heartbeat timeout
// as its cause (exit 1).
func TestConnectHeartbeatTimeout(t *testing.T) {
	hold := make(chan struct{})
	defer close(hold)
	mute := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		<-hold // never read: pings stay unanswered
	}))
	defer mute.Close()
	r := wsx(t, "", "connect", "-trace", "-ping", "100ms", "-pong-timeout", "300ms", "-wait", "0", "ws"+strings.TrimPrefix(mute.URL, "http")+"/", "/sleep 5s")
	if r.code != exitFailed {
		t.Errorf("exit %d, want %d\n%s", r.code, exitFailed, r.stderr)
	}
	contains(t, "stderr", r.stderr, "client→server ping", "closed by nobody: the transport failed", "code   1006 (abnormal closure)", "cause  websocket: heartbeat timeout")
}

// Ctrl-C while the opening handshake hangs abandons it (exit 3).
func TestConnectInterruptHandshake(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accept, never answer
		}
	}()
	cmd := exec.Command(wsxBinary(t), "connect", "ws://"+ln.Addr().String()+"/")
	var errb syncBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitNoDial {
			t.Errorf("exit %v, want status %d\n%s", err, exitNoDial, errb.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("wsx connect did not give up the handshake on os.Interrupt")
	}
	contains(t, "stderr", errb.String(), "context canceled")
}
