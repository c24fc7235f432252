package websocket

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hybi/websocket/handshake"
)

// reconnectChildEnv makes the test binary a WebSocket echo server (see
// init): the value is the address to listen on. The child prints the
// address it listens on, then serves until it is killed or its stdin
// closes (so it never outlives the test).
const reconnectChildEnv = "HYBI_RECONNECT_TEST_SERVER"

func init() {
	addr := os.Getenv(reconnectChildEnv)
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(2)
	}
	fmt.Println(ln.Addr())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	for {
		nc, err := ln.Accept()
		if err != nil {
			os.Exit(2)
		}
		go func() {
			c, err := Upgrade(nc, nil, nil)
			if err != nil {
				nc.Close()
				return
			}
			serveEcho(c, nil)
		}()
	}
}

// serveEcho echoes every message and sends a copy of each to got, until
// the connection ends.
func serveEcho(c *Conn, got chan<- string) {
	defer c.CloseNow()
	for {
		typ, p, err := c.ReadMessage(nil)
		if err != nil {
			return
		}
		if got != nil {
			got <- string(p)
		}
		if c.WriteMessage(typ, p) != nil {
			return
		}
	}
}

// rcServer is a loopback server that can be stopped and started again on
// the same port. handle serves the i-th TCP connection (from 1, counted
// across restarts).
type rcServer struct {
	t      *testing.T
	addr   string
	handle func(i int, nc net.Conn)

	n     atomic.Int32
	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	wg    *sync.WaitGroup // the handlers of the running listener
}

func newRCServer(t *testing.T, handle func(i int, nc net.Conn)) *rcServer {
	s := &rcServer{t: t, addr: "127.0.0.1:0", handle: handle, conns: map[net.Conn]bool{}}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *rcServer) url() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "ws://" + s.addr + "/feed"
}

func (s *rcServer) start() {
	s.mu.Lock()
	addr := s.addr
	s.mu.Unlock()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.t.Errorf("listen %s: %v", addr, err)
		return
	}
	wg := new(sync.WaitGroup)
	s.mu.Lock()
	s.addr = ln.Addr().String()
	s.ln, s.wg = ln, wg
	s.mu.Unlock()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			if s.ln != ln { // stopped meanwhile
				s.mu.Unlock()
				nc.Close()
				return
			}
			s.conns[nc] = true
			s.mu.Unlock()
			i := int(s.n.Add(1))
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				s.handle(i, nc)
			}()
		}
	}()
}

// stop closes the listener and every connection, and waits for the
// handlers.
func (s *rcServer) stop() {
	s.mu.Lock()
	wg := s.wg
	if s.ln != nil {
		s.ln.Close()
		s.ln, s.wg = nil, nil
	}
	for nc := range s.conns {
		nc.Close()
		delete(s.conns, nc)
	}
	s.mu.Unlock()
	if wg != nil {
		wg.Wait()
	}
}

// refuse reads the request head and answers it with status and header.
func refuse(nc net.Conn, status int, header string) {
	if _, err := http.ReadRequest(bufio.NewReader(nc)); err != nil {
		return
	}
	fmt.Fprintf(nc, "HTTP/1.1 %d %s\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n", status, http.StatusText(status), header)
}

// rcHarness runs a Reconnector with a fake clock: every backoff wait is
// recorded, advances the clock and returns at once (after onSleep, which
// the test may use to act while the client is disconnected), and the
// jitter is always half of its bound.
type rcHarness struct {
	t  *testing.T
	r  *Reconnector
	ok chan *Conn // one per Connected event
	rc chan error // Run's result

	mu       sync.Mutex
	now      time.Time
	sleeps   []time.Duration
	events   []ReconnectEvent
	connects int
}

// rcOptions are the options of most tests: a backoff of 100 ms doubling up
// to 1 s, no heartbeat.
func rcOptions() *ReconnectOptions {
	o := &ReconnectOptions{Delay: 100 * time.Millisecond, MaxDelay: time.Second, Multiplier: 2, DialTimeout: 10 * time.Second}
	o.PingInterval = -1
	o.CloseTimeout = 2 * time.Second
	return o
}

func newRCHarness(t *testing.T, url string, o *ReconnectOptions, onSleep func(n int, d time.Duration)) *rcHarness {
	h := &rcHarness{t: t, ok: make(chan *Conn, 16), rc: make(chan error, 1), now: time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)}
	onConnect := o.OnConnect
	o.OnConnect = func(ctx context.Context, c *Conn) error {
		h.mu.Lock()
		h.connects++
		h.mu.Unlock()
		if onConnect != nil {
			if err := onConnect(ctx, c); err != nil {
				return err
			}
		}
		return nil
	}
	o.OnEvent = func(ev ReconnectEvent) {
		h.mu.Lock()
		h.events = append(h.events, ev)
		h.mu.Unlock()
		if ev.Kind == Connected {
			h.ok <- ev.Conn
		}
	}
	h.r = NewReconnector(url, o)
	h.r.now = func() time.Time {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.now
	}
	h.r.rand = func() float64 { return 0.5 }
	h.r.sleep = func(ctx context.Context, d time.Duration) error {
		h.mu.Lock()
		h.sleeps = append(h.sleeps, d)
		h.now = h.now.Add(d)
		n := len(h.sleeps)
		h.mu.Unlock()
		if n > 20 {
			t.Errorf("more than 20 backoff waits: a retry storm")
			return errors.New("too many waits")
		}
		if onSleep != nil {
			onSleep(n, d)
		}
		return ctx.Err()
	}
	return h
}

func (h *rcHarness) run(ctx context.Context) {
	go func() { h.rc <- h.r.Run(ctx) }()
}

func (h *rcHarness) advance(d time.Duration) {
	h.mu.Lock()
	h.now = h.now.Add(d)
	h.mu.Unlock()
}

// connected waits for the next Connected event: the connection is live.
func (h *rcHarness) connected() *Conn {
	h.t.Helper()
	select {
	case c := <-h.ok:
		return c
	case err := <-h.rc:
		h.rc <- err
		h.t.Fatalf("Run returned %v, want a connection; events:\n%s", err, h.log())
	case <-time.After(20 * time.Second):
		h.t.Fatalf("no connection within 20 s; events:\n%s", h.log())
	}
	return nil
}

// result waits for Run to return, and checks that nothing the
// Reconnector started outlives it.
func (h *rcHarness) result() error {
	h.t.Helper()
	select {
	case err := <-h.rc:
		h.noGoroutines()
		return err
	case <-time.After(20 * time.Second):
		h.t.Fatalf("Run did not return within 20 s; events:\n%s", h.log())
	}
	return nil
}

// noGoroutines fails the test if a goroutine is still in the Reconnector's
// code or holds a client connection's heartbeat once Run has returned
// (after a short grace for the scheduler).
func (h *rcHarness) noGoroutines() {
	h.t.Helper()
	var left []string
	for range 50 {
		left = left[:0]
		for _, g := range interestingGoroutines() {
			if strings.Contains(g, "(*Reconnector)") {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.t.Errorf("goroutines left after Run returned:\n%s", strings.Join(left, "\n\n"))
}

func (h *rcHarness) log() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b strings.Builder
	for _, ev := range h.events {
		b.WriteString(ev.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// kinds returns the events as "kind#attempt" strings.
func (h *rcHarness) kinds() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, ev := range h.events {
		out = append(out, fmt.Sprintf("%v#%d", ev.Kind, ev.Attempt))
	}
	return out
}

// find returns the events of kind k.
func (h *rcHarness) find(k ReconnectEventKind) []ReconnectEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []ReconnectEvent
	for _, ev := range h.events {
		if ev.Kind == k {
			out = append(out, ev)
		}
	}
	return out
}

func (h *rcHarness) check(wantKinds []string, wantSleeps []time.Duration, wantConnects int) {
	h.t.Helper()
	if diff := cmp.Diff(wantKinds, h.kinds()); diff != "" {
		h.t.Errorf("events (-want +got):\n%s\nlog:\n%s", diff, h.log())
	}
	h.mu.Lock()
	sleeps, connects := h.sleeps, h.connects
	h.mu.Unlock()
	if diff := cmp.Diff(wantSleeps, sleeps); diff != "" {
		h.t.Errorf("backoff waits (-want +got):\n%s", diff)
	}
	if connects != wantConnects {
		h.t.Errorf("OnConnect ran %d times, want %d", connects, wantConnects)
	}
}

// checkBounds checks the full-jitter bounds of the recorded waits: the
// wait after n consecutive failures lies in [0, min(MaxDelay,
// Delay×2^(n-1))).
func (h *rcHarness) checkBounds() {
	h.t.Helper()
	for _, ev := range append(h.find(DialFailed), h.find(Disconnected)...) {
		if ev.Final {
			continue
		}
		limit := min(h.r.opts.Delay<<(ev.Failures-1), h.r.opts.MaxDelay)
		if ev.Delay < 0 || ev.Delay >= limit {
			h.t.Errorf("%v: wait %v outside [0, %v)", ev, ev.Delay, limit)
		}
	}
}

// closeEnd returns the *CloseError of a Disconnected event.
func closeEnd(t *testing.T, ev ReconnectEvent) *CloseError {
	t.Helper()
	var ce *CloseError
	if !errors.As(ev.Err, &ce) {
		t.Fatalf("%v: want a *CloseError", ev)
	}
	return ce
}

// roundTrip sends msg through the Reconnector and waits for the server to
// see it.
func roundTrip(t *testing.T, r *Reconnector, got <-chan string, msg string) {
	t.Helper()
	if err := r.WriteMessage(Text, []byte(msg)); err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
	select {
	case m := <-got:
		if m != msg {
			t.Fatalf("server got %q, want %q", m, msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("server did not get %q", msg)
	}
}

func echoHandler(got chan<- string) func(int, net.Conn) {
	return func(_ int, nc net.Conn) {
		c, err := Upgrade(nc, nil, nil)
		if err != nil {
			return
		}
		serveEcho(c, got)
	}
}

// firstThenEcho serves the first connection with first and echoes on the
// others.
func firstThenEcho(got chan<- string, first func(c *Conn, nc net.Conn)) func(int, net.Conn) {
	return func(i int, nc net.Conn) {
		c, err := Upgrade(nc, nil, nil)
		if err != nil {
			return
		}
		if i == 1 {
			first(c, nc)
			return
		}
		serveEcho(c, got)
	}
}

// refuseThenEcho answers the first n requests with status and header,
// and echoes on later connections.
func refuseThenEcho(n, status int, header string) func(int, net.Conn) {
	return func(i int, nc net.Conn) {
		if i <= n {
			refuse(nc, status, header)
			return
		}
		echoHandler(nil)(i, nc)
	}
}

// closeOK closes the Reconnector and checks that Run returns nil.
func (h *rcHarness) closeOK() {
	h.t.Helper()
	if err := h.r.Close(); err != nil {
		h.t.Fatalf("Close = %v", err)
	}
	if err := h.result(); err != nil {
		h.t.Fatalf("Run after Close = %v, want nil", err)
	}
}

// closeAfterOneReconnect closes the Reconnector, checks that exactly one
// drop and one reconnect happened, and returns how the first connection
// ended.
func (h *rcHarness) closeAfterOneReconnect() *CloseError {
	h.t.Helper()
	h.closeOK()
	h.check([]string{"dialing#1", "connected#1", "disconnected#1", "dialing#2", "connected#2", "stopped#0"},
		[]time.Duration{50 * time.Millisecond}, 2)
	h.checkBounds()
	return closeEnd(h.t, h.find(Disconnected)[0])
}

// The server's listener is closed with its connections and reopened on
// the same port: the client sees the end (1006), a refused dial, then
// connects again.
func TestReconnectServerRestart(t *testing.T) {
	got := make(chan string, 16)
	srv := newRCServer(t, echoHandler(got))
	h := newRCHarness(t, srv.url(), rcOptions(), func(n int, d time.Duration) {
		if n == 2 { // the first redial was refused
			srv.start()
		}
	})
	h.run(context.Background())
	h.connected()
	roundTrip(t, h.r, got, "before")
	srv.stop()
	h.connected()
	roundTrip(t, h.r, got, "after")
	if err := h.r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.result(); err != nil {
		t.Fatalf("Run after Close = %v, want nil", err)
	}
	h.check([]string{"dialing#1", "connected#1", "disconnected#1", "dialing#2", "dial failed#2", "dialing#3", "connected#3", "stopped#0"},
		[]time.Duration{50 * time.Millisecond, 100 * time.Millisecond}, 2)
	h.checkBounds()
	if ce := closeEnd(t, h.find(Disconnected)[0]); ce.Code != CloseAbnormal || ce.Initiator != None {
		t.Errorf("end of the first connection: %v, want 1006 by none", ce)
	}
	if f := h.find(DialFailed)[0]; !errors.Is(f.Err, syscall.ECONNREFUSED) || f.Final {
		t.Errorf("refused dial reported as %v (final %v), want ECONNREFUSED, not final", f.Err, f.Final)
	}
}

// startChild runs the test binary as an echo server on addr and returns
// the process and the address it listens on.
func startChild(t *testing.T, addr string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), reconnectChildEnv+"="+addr)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "127.0.0.1:") {
		t.Fatalf("child server said %q, %v", line, err)
	}
	return cmd, strings.TrimSpace(line)
}

// The server is a separate process, killed with SIGKILL: the kernel ends
// its connections, and a new process on the same port takes over.
func TestReconnectServerKilled(t *testing.T) {
	child, addr := startChild(t, "127.0.0.1:0")
	echoes := make(chan string, 4)
	o := rcOptions()
	o.OnMessage = func(_ *Conn, _ MessageType, p []byte) { echoes <- string(p) }
	h := newRCHarness(t, "ws://"+addr+"/", o, func(n int, d time.Duration) {
		if n == 1 {
			startChild(t, addr)
		}
	})
	h.run(context.Background())
	c := h.connected()
	echo := func(msg string) {
		t.Helper()
		roundTrip(t, h.r, echoes, msg)
	}
	echo("ping")
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	c2 := h.connected()
	if c2 == c {
		t.Fatal("same connection after the kill")
	}
	echo("after kill")
	ce := h.closeAfterOneReconnect()
	if ce.Code != CloseAbnormal || ce.Initiator != None || ce.Err == nil {
		t.Errorf("end after the kill: %v, want 1006 by none with a cause", ce)
	}
}

// The server resets the TCP connection (SO_LINGER 0): the end carries
// ECONNRESET and the client reconnects.
func TestReconnectTCPReset(t *testing.T) {
	reset := make(chan struct{})
	got := make(chan string, 16)
	srv := newRCServer(t, firstThenEcho(got, func(c *Conn, nc net.Conn) {
		<-reset
		nc.(*net.TCPConn).SetLinger(0)
		c.CloseNow()
	}))
	h := newRCHarness(t, srv.url(), rcOptions(), nil)
	h.run(context.Background())
	h.connected()
	close(reset)
	h.connected()
	roundTrip(t, h.r, got, "after reset")
	ce := h.closeAfterOneReconnect()
	if ce.Code != CloseAbnormal || ce.Initiator != None || !errors.Is(ce, syscall.ECONNRESET) {
		t.Errorf("end after the reset: %v, want 1006 by none, ECONNRESET", ce)
	}
}

// The server stops answering (it never reads, so it never answers a
// Ping): only the heartbeat can tell, and the client reconnects.
func TestReconnectHalfOpen(t *testing.T) {
	quit := make(chan struct{})
	got := make(chan string, 16)
	srv := newRCServer(t, firstThenEcho(got, func(c *Conn, _ net.Conn) {
		<-quit // silent: reads nothing, answers nothing
		c.CloseNow()
	}))
	defer close(quit)
	o := rcOptions()
	o.PingInterval = 50 * time.Millisecond
	o.PongTimeout = 500 * time.Millisecond
	h := newRCHarness(t, srv.url(), o, nil)
	h.run(context.Background())
	h.connected()
	h.connected()
	roundTrip(t, h.r, got, "after the heartbeat")
	ce := h.closeAfterOneReconnect()
	if ce.Code != CloseAbnormal || ce.Initiator != None || !errors.Is(ce, ErrHeartbeatTimeout) {
		t.Errorf("end of the silent connection: %v, want 1006 by none, ErrHeartbeatTimeout", ce)
	}
}

// Overloaded servers: 503 and 429 with Retry-After (seconds, and an HTTP
// date) are retried after at least that long, then the 101 connects.
func TestReconnectRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name, header string
		status       int
		want         time.Duration
	}{
		{"503 seconds", "Retry-After: 1\r\n", 503, time.Second},
		{"429 date", "Retry-After: Sat, 05 Dec 2026 08:00:03 GMT\r\n", 429, 3 * time.Second},
		{"503 without", "", 503, 50 * time.Millisecond},
		{"503 garbage", "Retry-After: soon\r\n", 503, 50 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRCServer(t, refuseThenEcho(1, tc.status, tc.header))
			h := newRCHarness(t, srv.url(), rcOptions(), nil)
			h.run(context.Background())
			h.connected()
			h.closeOK()
			h.check([]string{"dialing#1", "dial failed#1", "dialing#2", "connected#2", "stopped#0"}, []time.Duration{tc.want}, 1)
			f := h.find(DialFailed)[0]
			var re *handshake.ResponseError
			if !errors.As(f.Err, &re) || re.StatusCode != tc.status || f.Final || f.Delay != tc.want {
				t.Errorf("refusal reported as %v", f)
			}
			if n := srv.n.Load(); n != 2 {
				t.Errorf("server saw %d requests, want 2", n)
			}
		})
	}
}

// A refusal that retrying cannot fix stops at once (one request, no wait);
// the others are retried.
func TestReconnectRefusals(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 426, 301} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv := newRCServer(t, func(i int, nc net.Conn) { refuse(nc, status, "") })
			h := newRCHarness(t, srv.url(), rcOptions(), nil)
			h.run(context.Background())
			err := h.result()
			var re *handshake.ResponseError
			if !errors.As(err, &re) || re.StatusCode != status {
				t.Fatalf("Run = %v, want the %d refusal", err, status)
			}
			h.check([]string{"dialing#1", "dial failed#1", "stopped#0"}, nil, 0)
			if n := srv.n.Load(); n != 1 {
				t.Errorf("server saw %d requests, want 1 (no retry storm)", n)
			}
			if f := h.find(DialFailed)[0]; !f.Final || f.Delay != 0 {
				t.Errorf("refusal reported as %v, want final", f)
			}
			if s := h.find(Stopped)[0]; s.Err != err {
				t.Errorf("Stopped reports %v, Run returned %v", s.Err, err)
			}
		})
	}
	for _, status := range []int{500, 502, 408} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv := newRCServer(t, refuseThenEcho(2, status, ""))
			h := newRCHarness(t, srv.url(), rcOptions(), nil)
			h.run(context.Background())
			h.connected()
			h.closeOK()
			h.check([]string{"dialing#1", "dial failed#1", "dialing#2", "dial failed#2", "dialing#3", "connected#3", "stopped#0"},
				[]time.Duration{50 * time.Millisecond, 100 * time.Millisecond}, 1)
			h.checkBounds()
		})
	}
}

// The server closes with 1012 (service restart): reconnect. Then with a
// code the application marked final: stop, and return the *CloseError.
func TestReconnectCloseCodes(t *testing.T) {
	const final = CloseCode(4001)
	srv := newRCServer(t, func(i int, nc net.Conn) {
		c, err := Upgrade(nc, nil, nil)
		if err != nil {
			return
		}
		code := CloseServiceRestart
		if i == 2 {
			code = final
		}
		c.Close(code, "bye")
	})
	o := rcOptions()
	o.FinalCloseCodes = []CloseCode{final}
	h := newRCHarness(t, srv.url(), o, nil)
	h.run(context.Background())
	err := h.result()
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != final || ce.Initiator != Peer || ce.Reason != "bye" {
		t.Fatalf("Run = %v, want the peer's close %d", err, final)
	}
	h.check([]string{"dialing#1", "connected#1", "disconnected#1", "dialing#2", "connected#2", "disconnected#2", "stopped#0"},
		[]time.Duration{50 * time.Millisecond}, 2)
	h.checkBounds()
	d := h.find(Disconnected)
	if ce := closeEnd(t, d[0]); ce.Code != CloseServiceRestart || ce.Initiator != Peer || d[0].Final {
		t.Errorf("first end: %v (final %v), want 1012 by peer, retried", ce, d[0].Final)
	}
	if !d[1].Final || d[1].Delay != 0 {
		t.Errorf("second end: %v, want final", d[1])
	}
	if n := srv.n.Load(); n != 2 {
		t.Errorf("server saw %d connections, want 2", n)
	}
}

// A connection that stayed up ResetAfter resets the backoff; short ones
// make it grow.
func TestReconnectBackoffReset(t *testing.T) {
	const final = CloseCode(4000)
	var h *rcHarness
	srv := newRCServer(t, func(i int, nc net.Conn) {
		c, err := Upgrade(nc, nil, nil)
		if err != nil {
			return
		}
		switch i {
		case 2:
			c.WriteMessage(Text, []byte("tick")) // the client's clock moves on
			c.Close(CloseServiceRestart, "")
		case 4:
			c.Close(final, "")
		default:
			c.Close(CloseServiceRestart, "")
		}
	})
	o := rcOptions()
	o.FinalCloseCodes = []CloseCode{final}
	o.ResetAfter = time.Minute
	o.OnMessage = func(*Conn, MessageType, []byte) { h.advance(time.Minute) }
	h = newRCHarness(t, srv.url(), o, nil)
	h.run(context.Background())
	h.result()
	h.check([]string{
		"dialing#1", "connected#1", "disconnected#1",
		"dialing#2", "connected#2", "disconnected#2",
		"dialing#3", "connected#3", "disconnected#3",
		"dialing#4", "connected#4", "disconnected#4", "stopped#0",
	}, []time.Duration{50 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond}, 4)
	h.checkBounds()
	var fails []int
	for _, ev := range h.find(Disconnected) {
		fails = append(fails, ev.Failures)
	}
	if diff := cmp.Diff([]int{1, 1, 2, 3}, fails); diff != "" {
		t.Errorf("consecutive failures (-want +got):\n%s", diff)
	}
}

// The backoff's bounds over many steps, with the extremes of the random
// source: [0, min(MaxDelay, Delay×Multiplier^(n-1))), and at least the
// server's Retry-After.
func TestReconnectBackoffBounds(t *testing.T) {
	r := NewReconnector("ws://127.0.0.1:1/", &ReconnectOptions{Delay: 100 * time.Millisecond, MaxDelay: 5 * time.Second, Multiplier: 3})
	for _, x := range []float64{0, 0.25, 0.999999} {
		r.rand = func() float64 { return x }
		for n := 1; n <= 40; n++ {
			limit := 100 * time.Millisecond
			for i := 1; i < n && limit < 5*time.Second; i++ {
				limit *= 3
			}
			limit = min(limit, 5*time.Second)
			d := r.backoff(n, 0)
			if d < 0 || d >= limit || d != time.Duration(x*float64(limit)) {
				t.Fatalf("rand %v, failure %d: wait %v, want %v of [0, %v)", x, n, d, x, limit)
			}
			if d := r.backoff(n, 7*time.Second); d != 7*time.Second {
				t.Fatalf("Retry-After 7s: wait %v", d)
			}
		}
	}
	// Defaults.
	r = NewReconnector("ws://127.0.0.1:1/", nil)
	r.rand = func() float64 { return 0.999999 }
	if d := r.backoff(1, 0); d >= DefaultReconnectDelay || d < DefaultReconnectDelay*99/100 {
		t.Errorf("default first wait %v", d)
	}
	if d := r.backoff(100, 0); d >= DefaultReconnectMaxDelay || d < DefaultReconnectMaxDelay*99/100 {
		t.Errorf("default longest wait %v", d)
	}
}

// Which errors stop a Reconnector.
func TestReconnectPermanent(t *testing.T) {
	r := NewReconnector("ws://127.0.0.1:1/", &ReconnectOptions{FinalCloseCodes: []CloseCode{4001, ClosePolicyViolation}})
	resp := func(status int) error {
		return fmt.Errorf("websocket: dial: %w", &handshake.ResponseError{StatusCode: status, Err: handshake.ErrNotSwitching})
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"1001", &CloseError{Code: CloseGoingAway, Initiator: Peer}, false},
		{"1006", &CloseError{Code: CloseAbnormal, Err: io.ErrUnexpectedEOF}, false},
		{"1011", &CloseError{Code: CloseInternalError, Initiator: Peer}, false},
		{"1012", &CloseError{Code: CloseServiceRestart, Initiator: Peer}, false},
		{"1013", &CloseError{Code: CloseTryAgainLater, Initiator: Peer}, false},
		{"heartbeat", &CloseError{Code: CloseAbnormal, Err: ErrHeartbeatTimeout}, false},
		{"final 4001", fmt.Errorf("wrapped: %w", &CloseError{Code: 4001, Initiator: Peer}), true},
		{"final 1008", &CloseError{Code: ClosePolicyViolation, Initiator: Local}, true},
		{"400", resp(400), true},
		{"401", resp(401), true},
		{"403", resp(403), true},
		{"404", resp(404), true},
		{"426", resp(426), true},
		{"101 bad accept", &handshake.ResponseError{StatusCode: 101, Err: handshake.ErrBadAccept}, true},
		{"408", resp(408), false},
		{"429", resp(429), false},
		{"500", resp(500), false},
		{"503", resp(503), false},
		{"malformed", &handshake.ResponseError{Err: handshake.ErrMalformedResponse}, false},
		{"refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, false},
		{"reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, false},
		{"timeout", fmt.Errorf("websocket: dial: %w", context.DeadlineExceeded), false},
		{"dns", &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, false},
		{"bad url", &urlError{"x"}, true},
		{"Permanent", Permanent(errors.New("login refused")), true},
		{"proxy 407", fmt.Errorf("w: %w", &ProxyError{StatusCode: 407}), true},
		{"proxy 403", &ProxyError{StatusCode: 403}, true},
		{"proxy 502", &ProxyError{StatusCode: 502}, false},
		{"proxy 503", &ProxyError{StatusCode: 503}, false},
		{"socks auth", &SOCKSError{Auth: true, Status: 1}, true},
		{"socks no method", &SOCKSError{Auth: true}, true},
		{"socks ruleset", &SOCKSError{Reply: 2}, true},
		{"socks command", &SOCKSError{Reply: 7}, true},
		{"socks address type", &SOCKSError{Reply: 8}, true},
		{"socks general", &SOCKSError{Reply: 1}, false},
		{"socks host unreachable", &SOCKSError{Reply: 4}, false},
		{"socks connection refused", &SOCKSError{Reply: 5}, false},
		{"socks not socks", fmt.Errorf("w: %w", ErrSOCKSProtocol), true},
	} {
		if got := r.permanent(tc.err); got != tc.want {
			t.Errorf("%s: permanent(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
}

// A URL no retry can fix ends Run before any dial.
func TestReconnectBadURL(t *testing.T) {
	for _, u := range []string{"ftp://127.0.0.1/", "ws://", "ws://127.0.0.1/#x", "ws://[::1", "127.0.0.1:80"} {
		h := newRCHarness(t, u, rcOptions(), nil)
		h.run(context.Background())
		err := h.result()
		if !errors.As(err, new(*urlError)) {
			t.Errorf("%q: Run = %v, want a URL error", u, err)
		}
		h.check([]string{"stopped#0"}, nil, 0)
	}
}

// A server whose certificate does not verify: one attempt, then stop.
func TestReconnectTLSVerification(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		c, err := Accept(w, r, nil)
		if err == nil {
			c.CloseNow()
		}
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed TLS handshake
	srv.StartTLS()
	defer srv.Close()
	h := newRCHarness(t, "wss"+strings.TrimPrefix(srv.URL, "https"), rcOptions(), nil)
	h.run(context.Background())
	err := h.result()
	if !errors.As(err, new(*tls.CertificateVerificationError)) {
		t.Fatalf("Run = %v, want a certificate verification error", err)
	}
	h.check([]string{"dialing#1", "dial failed#1", "stopped#0"}, nil, 0)
	if n.Load() != 0 {
		t.Errorf("%d requests reached the handler", n.Load())
	}
}

// A server that accepts TCP but never answers the handshake: the attempt
// ends at DialTimeout and is retried.
func TestReconnectDialTimeout(t *testing.T) {
	quit := make(chan struct{})
	srv := newRCServer(t, func(i int, nc net.Conn) {
		if i == 1 {
			<-quit // reads nothing, answers nothing
			return
		}
		echoHandler(nil)(i, nc)
	})
	defer close(quit)
	o := rcOptions()
	o.DialTimeout = 100 * time.Millisecond
	h := newRCHarness(t, srv.url(), o, nil)
	h.run(context.Background())
	h.connected()
	h.closeOK()
	h.check([]string{"dialing#1", "dial failed#1", "dialing#2", "connected#2", "stopped#0"}, []time.Duration{50 * time.Millisecond}, 1)
	if f := h.find(DialFailed)[0]; !errors.Is(f.Err, context.DeadlineExceeded) || f.Final {
		t.Errorf("silent server reported as %v, want a retried deadline", f)
	}
}

// Messages written while disconnected are queued up to QueueLimit bytes,
// refused beyond it with ErrQueueFull, and sent in order after OnConnect
// of the next connection, before any later message.
func TestReconnectQueue(t *testing.T) {
	got := make(chan string, 32)
	srv := newRCServer(t, echoHandler(got))
	o := rcOptions()
	o.QueueLimit = 10
	o.OnConnect = func(ctx context.Context, c *Conn) error {
		return c.WriteMessage(Text, []byte("subscribe"))
	}
	var queued, refused []string
	var bad []error
	var h *rcHarness
	h = newRCHarness(t, srv.url(), o, func(n int, d time.Duration) {
		if n != 1 {
			return
		}
		// Disconnected: Run waits here, so nothing is live.
		for i := range 8 {
			msg := fmt.Sprintf("m%d", i)
			switch err := h.r.WriteMessage(Text, []byte(msg)); {
			case err == nil:
				queued = append(queued, msg)
			case errors.Is(err, ErrQueueFull):
				refused = append(refused, msg)
			default:
				bad = append(bad, err)
			}
		}
		if err := h.r.WriteMessage(Binary, make([]byte, 11)); !errors.Is(err, ErrQueueFull) {
			bad = append(bad, fmt.Errorf("11 bytes: %v, want ErrQueueFull", err))
		}
		if err := h.r.WriteMessage(Text, []byte{0xff}); !errors.Is(err, ErrInvalidText) {
			bad = append(bad, fmt.Errorf("invalid text: %v, want ErrInvalidText", err))
		}
		if m, b := h.r.Queued(); m != 5 || b != 10 {
			bad = append(bad, fmt.Errorf("Queued() = %d, %d; want 5, 10", m, b))
		}
		srv.start()
	})
	h.run(context.Background())
	h.connected()
	if got := <-got; got != "subscribe" {
		t.Fatalf("first message %q", got)
	}
	srv.stop()
	h.connected()
	roundTripAfter := "later"
	if err := h.r.WriteMessage(Text, []byte(roundTripAfter)); err != nil {
		t.Fatal(err)
	}
	var order []string
	for len(order) < 7 {
		select {
		case m := <-got:
			order = append(order, m)
		case <-time.After(10 * time.Second):
			t.Fatalf("server got only %q", order)
		}
	}
	h.r.Close()
	if err := h.result(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	for _, err := range bad {
		t.Error(err)
	}
	if diff := cmp.Diff([]string{"m0", "m1", "m2", "m3", "m4"}, queued); diff != "" {
		t.Errorf("queued (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"m5", "m6", "m7"}, refused); diff != "" {
		t.Errorf("refused (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"subscribe", "m0", "m1", "m2", "m3", "m4", "later"}, order); diff != "" {
		t.Errorf("server order (-want +got):\n%s", diff)
	}
	if m, b := h.r.Queued(); m != 0 || b != 0 {
		t.Errorf("Queued() after the flush = %d, %d", m, b)
	}
	if err := h.r.WriteMessage(Text, []byte("x")); !errors.Is(err, ErrReconnectorClosed) {
		t.Errorf("write after Close: %v, want ErrReconnectorClosed", err)
	}
}

// Messages still queued when the Reconnector stops are handed back in the
// Stopped event, not dropped silently; without a queue, a write while
// disconnected says ErrNotConnected.
func TestReconnectStopReportsUnsent(t *testing.T) {
	srv := newRCServer(t, func(i int, nc net.Conn) { refuse(nc, 503, "Retry-After: 5\r\n") })
	o := rcOptions()
	o.QueueLimit = 100
	var r *Reconnector
	h := newRCHarness(t, srv.url(), o, func(n int, d time.Duration) {
		if n == 1 {
			r.WriteMessage(Text, []byte("one"))
			r.WriteMessage(Binary, []byte("two"))
			r.Close()
		}
	})
	r = h.r
	h.run(context.Background())
	if err := h.result(); err != nil {
		t.Fatalf("Run = %v, want nil after Close", err)
	}
	want := []QueuedMessage{{Text, []byte("one")}, {Binary, []byte("two")}}
	if diff := cmp.Diff(want, h.find(Stopped)[0].Unsent); diff != "" {
		t.Errorf("Unsent (-want +got):\n%s", diff)
	}

	r2 := NewReconnector(srv.url(), rcOptions())
	if err := r2.WriteMessage(Text, []byte("x")); !errors.Is(err, ErrNotConnected) {
		t.Errorf("write without a queue: %v, want ErrNotConnected", err)
	}
	if err := r2.WriteMessage(MessageType(9), nil); err == nil {
		t.Error("bad message type accepted")
	}
}

// Run ends when its context ends (the live connection is closed with
// 1001), when Close is called at any stage, and refuses a second call.
func TestReconnectStop(t *testing.T) {
	closes := make(chan CloseCode, 4)
	srv := newRCServer(t, func(i int, nc net.Conn) {
		c, err := Upgrade(nc, nil, &AcceptOptions{Options: Options{OnClose: func(code CloseCode, _ string) { closes <- code }}})
		if err != nil {
			return
		}
		c.ReadMessage(nil)
		c.CloseNow()
	})
	t.Run("context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		h := newRCHarness(t, srv.url(), rcOptions(), nil)
		h.run(ctx)
		h.connected()
		cancel()
		if err := h.result(); !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v, want context.Canceled", err)
		}
		if code := <-closes; code != CloseGoingAway {
			t.Errorf("server saw close %v, want 1001", code)
		}
		if err := h.r.Run(ctx); err != errRunTwice {
			t.Errorf("second Run = %v", err)
		}
	})
	t.Run("Close while connected", func(t *testing.T) {
		h := newRCHarness(t, srv.url(), rcOptions(), nil)
		h.run(context.Background())
		h.connected()
		if err := h.r.Close(); err != nil {
			t.Fatal(err)
		}
		if err := h.result(); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		if code := <-closes; code != CloseNormal {
			t.Errorf("server saw close %v, want 1000", code)
		}
		if err := h.r.Close(); !errors.Is(err, ErrReconnectorClosed) {
			t.Errorf("second Close = %v", err)
		}
	})
	t.Run("Close while waiting", func(t *testing.T) {
		var r *Reconnector
		h := newRCHarness(t, "ws://127.0.0.1:1/", rcOptions(), func(int, time.Duration) { r.Close() })
		r = h.r
		h.run(context.Background())
		if err := h.result(); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		h.check([]string{"dialing#1", "dial failed#1", "stopped#0"}, []time.Duration{50 * time.Millisecond}, 0)
	})
	t.Run("Close before Run", func(t *testing.T) {
		h := newRCHarness(t, srv.url(), rcOptions(), nil)
		h.r.Close()
		h.run(context.Background())
		if err := h.result(); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		h.check([]string{"stopped#0"}, nil, 0)
	})
	t.Run("OnConnect error", func(t *testing.T) {
		o := rcOptions()
		login := errors.New("login refused")
		o.OnConnect = func(context.Context, *Conn) error { return Permanent(login) }
		h := newRCHarness(t, srv.url(), o, nil)
		h.run(context.Background())
		if err := h.result(); !errors.Is(err, login) {
			t.Fatalf("Run = %v, want the OnConnect error", err)
		}
		if code := <-closes; code != CloseNormal {
			t.Errorf("server saw close %v, want 1000", code)
		}
		h.check([]string{"dialing#1", "dial failed#1", "stopped#0"}, nil, 1)
	})
}

// Writers racing with reconnects: every write is accepted (sent or
// queued) or refused with the connection's *CloseError, and each writer's
// messages that arrive do so in order and once. A message sent on a
// connection that then drops may be lost (WebSocket has no delivery
// acknowledgement); the queue only covers the time without a connection.
// Run under -race.
func TestReconnectConcurrentWrites(t *testing.T) {
	got := make(chan string, 1024)
	srv := newRCServer(t, func(i int, nc net.Conn) {
		c, err := Upgrade(nc, nil, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for n := 0; i > 1 || n < 20; n++ { // the first connection drops after 20
			_, p, err := c.ReadMessage(nil)
			if err != nil {
				return
			}
			got <- string(p)
		}
		c.Close(CloseServiceRestart, "")
	})
	o := rcOptions()
	o.QueueLimit = 1 << 20
	h := newRCHarness(t, srv.url(), o, nil)
	h.run(context.Background())
	h.connected()
	var wg sync.WaitGroup
	accepted := make([][]string, 3)
	for w := range accepted {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				msg := fmt.Sprintf("%d:%d", w, i)
				if err := h.r.WriteMessage(Text, []byte(msg)); err == nil {
					accepted[w] = append(accepted[w], msg)
				} else if CloseStatus(err) == 0 {
					t.Errorf("write %s: %v", msg, err)
				}
			}
		}()
	}
	wg.Wait()
	h.connected() // the second connection
	if err := h.r.WriteMessage(Text, []byte("fin")); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for done := false; !done; {
		select {
		case m := <-got:
			done = m == "fin"
			seen = append(seen, m)
		case <-time.After(10 * time.Second):
			t.Fatalf("no fin; server got %d messages", len(seen))
		}
	}
	h.r.Close()
	h.result()
	for w, a := range accepted {
		var mine []string
		for _, m := range seen {
			if strings.HasPrefix(m, fmt.Sprint(w)+":") {
				mine = append(mine, m)
			}
		}
		// mine must be a subsequence of a.
		j := 0
		for _, m := range a {
			if j < len(mine) && mine[j] == m {
				j++
			}
		}
		if j != len(mine) {
			t.Errorf("writer %d: received %q is not an in-order subsequence of accepted %q", w, mine, a)
		}
	}
	if len(h.find(Disconnected)) == 0 {
		t.Error("no reconnect happened during the writes")
	}
}

// The log lines events print (docs/troubleshooting.md quotes one).
func TestReconnectEventString(t *testing.T) {
	for _, tc := range []struct {
		ev   ReconnectEvent
		want string
	}{
		{ReconnectEvent{Kind: Disconnected, Attempt: 1, Up: 123 * time.Second, Delay: 412 * time.Millisecond,
			Err: &CloseError{Code: CloseServiceRestart, Reason: "deploying", Initiator: Peer, Frames: ReceivedThenSent}},
			`websocket: reconnect: disconnected (attempt 1) after 2m3s: websocket: closed by peer: 1012 (service restart) "deploying" (close received, then sent); retrying in 412ms`},
		{ReconnectEvent{Kind: DialFailed, Attempt: 3, Final: true, Err: errors.New("handshake: server answered 401 Unauthorized")},
			`websocket: reconnect: dial failed (attempt 3): handshake: server answered 401 Unauthorized; giving up`},
		{ReconnectEvent{Kind: Dialing, Attempt: 2}, `websocket: reconnect: dialing (attempt 2)`},
		{ReconnectEvent{Kind: Stopped, Final: true, Unsent: make([]QueuedMessage, 2)}, `websocket: reconnect: stopped; 2 queued messages unsent`},
		{ReconnectEvent{Kind: 99}, `websocket: reconnect: ReconnectEventKind(99)`},
	} {
		if got := tc.ev.String(); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}
