package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	websocket "github.com/hybi/websocket"
	"github.com/hybi/websocket/frame"
)

// Both echo servers, goroutine per connection and Loop, write every
// message back with its type, negotiate compression when asked, and take
// messages larger than the default limit.
func TestEchoHandler(t *testing.T) {
	for _, loop := range []bool{false, true} {
		for _, compress := range []bool{false, true} {
			t.Run(fmt.Sprintf("loop=%v/compress=%v", loop, compress), func(t *testing.T) {
				h, stop, err := echoHandler(compress, loop)
				if err != nil {
					t.Fatal(err)
				}
				srv := httptest.NewServer(h)
				defer srv.Close()
				defer stop()
				c, res, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/",
					&websocket.DialOptions{Options: websocket.Options{Compression: true, MaxMessageSize: 64 << 20}, Proxy: websocket.NoProxy})
				if err != nil {
					t.Fatal(err)
				}
				defer c.CloseNow()
				if got := len(res.Extensions) == 1; got != compress {
					t.Errorf("extensions %v, want permessage-deflate: %v", res.Extensions, compress)
				}
				for _, m := range []struct {
					name string
					typ  websocket.MessageType
					p    []byte
				}{
					{"empty text", websocket.Text, nil},
					{"text", websocket.Text, []byte("Hello, world!")},
					{"binary", websocket.Binary, []byte{0, 1, 2, 0xff}},
					{"binary 16 MiB", websocket.Binary, make([]byte, 16<<20)},
				} {
					t.Run(m.name, func(t *testing.T) {
						if err := c.WriteMessage(m.typ, m.p); err != nil {
							t.Fatal(err)
						}
						typ, got, err := c.ReadMessage(nil)
						if err != nil {
							t.Fatal(err)
						}
						if typ != m.typ || string(got) != string(m.p) {
							t.Errorf("echo is type %v, %d bytes; want type %v, %d bytes", typ, len(got), m.typ, len(m.p))
						}
					})
				}
				if err := c.Close(frame.CloseNormal, ""); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
		}
	}
}

// connectProc is a running interactive wsx connect whose stdin stays open.
type connectProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout syncBuffer
	stderr syncBuffer
	done   chan error
}

// startConnect starts wsx connect with an open stdin and waits until it
// is connected.
func startConnect(t *testing.T, args ...string) *connectProc {
	t.Helper()
	p := &connectProc{cmd: exec.Command(wsxBinary(t), append([]string{"connect"}, args...)...), done: make(chan error, 1)}
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.stdin.Close()
		p.cmd.Process.Kill()
	})
	p.waitFor(t, &p.stderr, "connected to")
	return p
}

// waitFor waits up to 5 s for want in b.
func (p *connectProc) waitFor(t *testing.T, b *syncBuffer, want string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(b.String(), want) {
			return
		}
	}
	t.Fatalf("wsx connect never printed %q:\nstdout %s\nstderr %s", want, p.stdout.String(), p.stderr.String())
}

// wait waits for the process to exit and returns its exit status.
func (p *connectProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case err := <-p.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(10 * time.Second):
		t.Fatalf("wsx connect did not exit:\n%s", p.stderr.String())
		return -1
	}
}

// writeCertFiles writes a generated certificate and its key as PEM files.
func writeCertFiles(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	cert, certPEM, err := selfSignedCert()
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(cert.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestServeTLS(t *testing.T) {
	t.Run("generated", func(t *testing.T) {
		pemFile := filepath.Join(t.TempDir(), "wsx.pem")
		srv := startWsx(t, "serve", "-addr", "127.0.0.1:0", "-tls", "-tls-out", pemFile)
		if !strings.HasPrefix(srv.url, "wss://") {
			t.Fatalf("url %s, want wss://", srv.url)
		}
		srv.waitLog(t, `SHA-256 fingerprint ([0-9A-F]{2}:){31}[0-9A-F]{2}\n`)
		r := wsx(t, "", "connect", "-cacert", pemFile, srv.url, "over tls")
		if r.code != exitClean || r.stdout != "< over tls\n" {
			t.Errorf("-cacert: exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
		}
		r = wsx(t, "", "connect", "-insecure", srv.url, "insecure")
		if r.code != exitClean || r.stdout != "< insecure\n" {
			t.Errorf("-insecure: exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
		}
		r = wsx(t, "", "connect", srv.url, "untrusted")
		if r.code != exitNoDial {
			t.Errorf("untrusted: exit %d, want %d", r.code, exitNoDial)
		}
		contains(t, "stderr", r.stderr, "certificate signed by unknown authority")
	})
	t.Run("files", func(t *testing.T) {
		certFile, keyFile := writeCertFiles(t)
		srv := startWsx(t, "serve", "-addr", "127.0.0.1:0", "-cert", certFile, "-key", keyFile, "-compress")
		r := wsx(t, "", "connect", "-cacert", certFile, "-compress", srv.url, strings.Repeat("z", 300))
		if r.code != exitClean || r.stdout != "< "+strings.Repeat("z", 300)+"\n" {
			t.Errorf("exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
		}
		srv.waitLog(t, `close #1 remote=127\.0\.0\.1:\d+ duration=\S+ closed_by=peer code=1000 frames="close received, then sent"`)
		contains(t, "server log", srv.log(), `extensions="permessage-deflate`)
	})
}

// Origin patterns and subprotocols: a foreign origin is refused with 403
// (connect prints status and body, the server logs the refusal); an allowed
// one gets the subprotocol, and both log lines say so.
func TestServeOriginSubprotocol(t *testing.T) {
	srv := startWsx(t, "serve", "-addr", "127.0.0.1:0", "-origin", "app.example.com", "-subprotocol", "chat.v2,chat.v1")
	r := wsx(t, "", "connect", "-origin", "http://evil.example", srv.url, "hi")
	if r.code != exitNoDial {
		t.Errorf("foreign origin: exit %d, want %d", r.code, exitNoDial)
	}
	contains(t, "stderr", r.stderr, "handshake refused: HTTP 403 Forbidden\norigin not allowed: \"http://evil.example\"")
	srv.waitLog(t, `refused #1 remote=\S+ path="/": handshake: origin not allowed`)

	r = wsx(t, "", "connect", "-origin", "https://app.example.com", "-subprotocol", "chat.v1", srv.url, "/close 4001 bye")
	if r.code != exitClean {
		t.Errorf("allowed origin: exit %d\n%s", r.code, r.stderr)
	}
	contains(t, "stderr", r.stderr, `subprotocol "chat.v1"`)
	srv.waitLog(t, `open  #2 remote=\S+ path="/" subprotocol="chat.v1" extensions=""`)
	srv.waitLog(t, `close #2 .* closed_by=peer code=4001 reason="bye"`)
}

// Broadcast: a message from one connection reaches every open one.
func TestServeBroadcast(t *testing.T) {
	srv := startWsx(t, "serve", "-addr", "127.0.0.1:0", "-mode", "broadcast")
	a := startConnect(t, srv.url)
	srv.waitLog(t, `open  #1`)
	r := wsx(t, "", "connect", srv.url, "hello everyone")
	if r.code != exitClean || r.stdout != "< hello everyone\n" {
		t.Errorf("sender: exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
	}
	a.waitFor(t, &a.stdout, "< hello everyone\n")
	a.stdin.Close()
	if code := a.wait(t); code != exitClean {
		t.Errorf("listener exit %d\n%s", code, a.stderr.String())
	}
}

// Ctrl-C on the server closes every connection with 1001, which the
// client reports as a clean close by the peer; both servers, with a
// heartbeat running.
func TestServeShutdown(t *testing.T) {
	for _, loop := range []bool{false, true} {
		t.Run(fmt.Sprintf("loop=%v", loop), func(t *testing.T) {
			args := []string{"serve", "-addr", "127.0.0.1:0", "-ping", "100ms", "-pong-timeout", "2s"}
			if loop {
				args = append(args, "-loop")
			}
			srv := startWsx(t, args...)
			c := startConnect(t, "-trace", srv.url)
			io.WriteString(c.stdin, "ping me\n")
			c.waitFor(t, &c.stdout, "< ping me\n")
			c.waitFor(t, &c.stderr, "server→client ping")
			srv.cmd.Process.Signal(os.Interrupt)
			if code := c.wait(t); code != exitClean {
				t.Errorf("exit %d", code)
			}
			contains(t, "stderr", c.stderr.String(), "closed by the peer", "code   1001 (going away)", `reason "server shutting down"`, "close received, then sent")
			srv.waitLog(t, `close #1 .* closed_by=local code=1001 reason="server shutting down" frames="close sent, then received"`)
		})
	}
}

func TestServeBadFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-mode", "shout"}, `-mode "shout"`},
		{[]string{"-loop", "-mode", "broadcast"}, "-loop serves -mode echo only"},
		{[]string{"-cert", "x.pem"}, "-cert and -key go together"},
		{[]string{"-tls-out", "x.pem"}, "-tls-out needs -tls"},
		{[]string{"-compress", "-server-max-window-bits", "20"}, "want 8-14"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		r := wsx(t, "", append([]string{"serve"}, tt.args...)...)
		if r.code != exitUsage {
			t.Errorf("serve %v: exit %d, want %d", tt.args, r.code, exitUsage)
		}
		contains(t, "stderr", r.stderr, tt.want)
	}
	r := wsx(t, "", "serve", "-addr", "256.0.0.1:0")
	if r.code != exitFailed {
		t.Errorf("bad address: exit %d, want %d", r.code, exitFailed)
	}
	certFile, _ := writeCertFiles(t)
	r = wsx(t, "", "serve", "-addr", "127.0.0.1:0", "-cert", certFile, "-key", certFile)
	if r.code != exitFailed || strings.Contains(r.stderr, "panic") {
		t.Errorf("key file without a key: exit %d\n%s", r.code, r.stderr)
	}
}

// The compression parameters reach the negotiated extension, which both
// connect and the server's log print.
func TestServeCompressionParams(t *testing.T) {
	srv := startWsx(t, "serve", "-addr", "127.0.0.1:0", "-compress", "-server-no-context-takeover", "-client-no-context-takeover", "-server-max-window-bits", "10")
	long := strings.Repeat("compressible ", 50)
	r := wsx(t, "", "connect", "-compress", "-trace", srv.url, long)
	if r.code != exitClean || r.stdout != "< "+long+"\n" {
		t.Errorf("exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
	}
	contains(t, "connect", r.stderr, "server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits=10", "server→client text         fin=1 rsv1=1")
	srv.waitLog(t, `open  #1 .* extensions="permessage-deflate; [^"]*server_max_window_bits=10`)
}
