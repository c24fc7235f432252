package netpoll

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testTimeout bounds every wait for something that should happen; quiet
// bounds the wait for something that should not.
const (
	testTimeout = 5 * time.Second
	quiet       = 100 * time.Millisecond
)

// newPoller returns a Poller closed at the end of the test, skipping the
// test where pollers are not supported. A watchdog closes it after a minute,
// so that even a blocking Wait cannot hang the test.
func newPoller(t *testing.T) *Poller {
	t.Helper()
	if !Supported {
		t.Skip("netpoll: not supported on this platform")
	}
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	dog := time.AfterFunc(time.Minute, func() { p.Close() })
	t.Cleanup(func() {
		dog.Stop()
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// pair is a loopback TCP connection: srv is the side the poller watches
// (by its descriptor fd), cli the side the test writes on.
type pair struct {
	srv, cli *net.TCPConn
	fd       int
}

func dialPair(t *testing.T, ln net.Listener) pair {
	t.Helper()
	cli, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ln.Accept()
	if err != nil {
		cli.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Close()
		cli.Close()
	})
	return pair{srv: srv.(*net.TCPConn), cli: cli.(*net.TCPConn), fd: fdOf(t, srv.(*net.TCPConn))}
}

// fdOf returns c's descriptor the way the event loop gets it.
func fdOf(t *testing.T, c syscall.Conn) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fd := -1
	if err := rc.Control(func(s uintptr) { fd = int(s) }); err != nil {
		t.Fatal(err)
	}
	return fd
}

func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatal(err)
	}
}

// drain reads fd with syscall.Read until EAGAIN, end of stream or an error.
// end is nil for EAGAIN, io.EOF when Read returned 0, or the error.
func drain(t *testing.T, fd int) (data string, end error) {
	t.Helper()
	var b [512]byte
	for {
		n, err := sysRead(fd, b[:])
		switch {
		case errors.Is(err, syscall.EAGAIN):
			return data, nil
		case err != nil:
			return data, err
		case n == 0:
			return data, io.EOF
		}
		data += string(b[:n])
	}
}

// collect waits until events for want descriptors have arrived (or
// testTimeout has passed) and returns them. Where one descriptor was
// reported twice, both events are kept.
func collect(t *testing.T, p *Poller, want int) []Event {
	t.Helper()
	var got []Event
	buf := make([]Event, 64)
	deadline := time.Now().Add(testTimeout)
	for len(got) < want {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("got %d events %v within %v, want %d", len(got), got, testTimeout, want)
		}
		n, err := p.sys.wait(buf, int(left.Milliseconds())+1)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	return got
}

// expectNone checks that Wait reports nothing for a while.
func expectNone(t *testing.T, p *Poller, why string) {
	t.Helper()
	buf := make([]Event, 64)
	n, err := p.sys.wait(buf, int(quiet.Milliseconds()))
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%s: got events %v, want none", why, buf[:n])
	}
}

func tokens(evs []Event) []uint64 {
	var ts []uint64
	for _, ev := range evs {
		ts = append(ts, ev.Token)
	}
	slices.Sort(ts)
	return ts
}

// TestWaitTokens registers the server side of several connections with
// tokens that use both 32-bit halves and checks that Wait names exactly
// the connections that received bytes, one at a time and all at once.
func TestWaitTokens(t *testing.T) {
	p := newPoller(t)
	ln := listen(t)
	toks := []uint64{0, 1, 1 << 32, 1 << 63, ^uint64(0), 0xdeadbeefcafebabe}
	pairs := make([]pair, len(toks))
	for i, tok := range toks {
		pairs[i] = dialPair(t, ln)
		if err := p.Add(pairs[i].fd, tok); err != nil {
			t.Fatal(err)
		}
	}
	expectNone(t, p, "no bytes sent")

	for _, i := range []int{3, 0, 5, 1, 4, 2} {
		write(t, pairs[i].cli, "x")
		got := collect(t, p, 1)
		if diff := cmp.Diff([]Event{{Token: toks[i], Readable: true}}, got); diff != "" {
			t.Fatalf("after writing to pair %d (-want +got):\n%s", i, diff)
		}
		if data, end := drain(t, pairs[i].fd); data != "x" || end != nil {
			t.Fatalf("pair %d: read %q, %v; want \"x\", EAGAIN", i, data, end)
		}
	}

	for _, pr := range pairs {
		write(t, pr.cli, "y")
	}
	want := slices.Sorted(slices.Values(toks))
	if diff := cmp.Diff(want, tokens(collect(t, p, len(toks)))); diff != "" {
		t.Fatalf("after writing to all (-want +got):\n%s", diff)
	}
	expectNone(t, p, "every write already reported")
}

// TestEdgeTriggered checks that events mark the arrival of bytes, not their
// presence: bytes left unread produce no further event, new bytes produce
// one even while old ones are unread, and after a read to EAGAIN all is
// quiet until the next bytes arrive.
func TestEdgeTriggered(t *testing.T) {
	p := newPoller(t)
	pr := dialPair(t, listen(t))
	if err := p.Add(pr.fd, 7); err != nil {
		t.Fatal(err)
	}

	write(t, pr.cli, "hello")
	collect(t, p, 1)
	var b [1]byte
	if n, err := sysRead(pr.fd, b[:]); n != 1 || err != nil {
		t.Fatalf("read = %d, %v; want 1, nil", n, err)
	}
	// A level-triggered poller would report the 4 unread bytes again.
	expectNone(t, p, "4 bytes left unread")

	write(t, pr.cli, "world")
	if diff := cmp.Diff([]Event{{Token: 7, Readable: true}}, collect(t, p, 1)); diff != "" {
		t.Fatalf("new bytes behind unread ones (-want +got):\n%s", diff)
	}
	if data, end := drain(t, pr.fd); data != "elloworld" || end != nil {
		t.Fatalf("drain = %q, %v; want \"elloworld\", EAGAIN", data, end)
	}
	expectNone(t, p, "drained to EAGAIN")

	write(t, pr.cli, "!")
	if diff := cmp.Diff([]Event{{Token: 7, Readable: true}}, collect(t, p, 1)); diff != "" {
		t.Fatalf("bytes after drain (-want +got):\n%s", diff)
	}
}

// TestWritable checks AddReadWrite: writability is reported once at
// registration, not again while the socket keeps taking bytes, and again
// after a write found it full and the peer made room by reading.
func TestWritable(t *testing.T) {
	p := newPoller(t)
	pr := dialPair(t, listen(t))
	pr.srv.SetWriteBuffer(16 << 10)
	if err := p.AddReadWrite(pr.fd, 2); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Event{{Token: 2, Writable: true}}, collect(t, p, 1)); diff != "" {
		t.Fatalf("at registration (-want +got):\n%s", diff)
	}
	expectNone(t, p, "nothing written yet")
	// Fill the socket until it refuses (EAGAIN).
	chunk := make([]byte, 64<<10)
	filled := 0
	fill := func() {
		for {
			n, err := sysWrite(pr.fd, chunk)
			if n > 0 {
				filled += n
			}
			if err == syscall.EAGAIN {
				return
			}
			if err != nil || filled > 64<<20 {
				t.Fatalf("filling the socket: %d bytes, %v", filled, err)
			}
		}
	}
	fill()
	var evs [8]Event
	p.sys.wait(evs[:], 0) // room the kernel made meanwhile (see below)
	if _, err := sysWrite(pr.fd, chunk[:1]); err != syscall.EAGAIN {
		// The kernel moved bytes to the peer's receive buffer,
		// making room: fill again.
		fill()
		p.sys.wait(evs[:], 0)
	}
	// The peer reads everything: room appears and is reported, and the
	// socket takes bytes again.
	go io.CopyN(io.Discard, pr.cli, int64(filled)+1)
	got := collect(t, p, 1)
	if len(got) != 1 || got[0].Token != 2 || !got[0].Writable || got[0].Readable {
		t.Fatalf("after the peer read: %+v, want one Writable event for token 2", got)
	}
	if n, err := sysWrite(pr.fd, chunk[:1]); n != 1 {
		t.Fatalf("write after the Writable event: %d, %v", n, err)
	}
}

// TestAddPending checks that bytes already buffered when Add is called are
// reported once, not again and again.
func TestAddPending(t *testing.T) {
	p := newPoller(t)
	pr := dialPair(t, listen(t))
	write(t, pr.cli, "early")
	// Wait until the bytes are in the server's receive buffer.
	deadline := time.Now().Add(testTimeout)
	for {
		var b [8]byte
		pr.srv.SetReadDeadline(time.Now().Add(time.Millisecond))
		if n, _ := pr.srv.Read(b[:1]); n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("bytes never arrived")
		}
	}
	pr.srv.SetReadDeadline(time.Time{})

	if err := p.Add(pr.fd, 1); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Event{{Token: 1, Readable: true}}, collect(t, p, 1)); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	expectNone(t, p, "buffered bytes already reported")
	if data, end := drain(t, pr.fd); data != "arly" || end != nil {
		t.Fatalf("drain = %q, %v; want \"arly\", EAGAIN", data, end)
	}
}

// TestHangup checks what the peer's ways of ending a connection look like:
// an event with Hangup set, after which reading gives the bytes sent before
// the end and then end of stream (FIN) or ECONNRESET (RST).
func TestHangup(t *testing.T) {
	type outcome struct {
		Hangup bool
		Data   string
		End    string
	}
	tests := []struct {
		name string
		end  func(*net.TCPConn) error
		want outcome
	}{
		{
			name: "close",
			end:  (*net.TCPConn).Close,
			want: outcome{Hangup: true, End: "EOF"},
		},
		{
			name: "close after data",
			end: func(c *net.TCPConn) error {
				if _, err := c.Write([]byte("bye")); err != nil {
					return err
				}
				return c.Close()
			},
			want: outcome{Hangup: true, Data: "bye", End: "EOF"},
		},
		{
			// Half-close: only EPOLLRDHUP tells this apart from data.
			name: "shutdown write",
			end:  (*net.TCPConn).CloseWrite,
			want: outcome{Hangup: true, End: "EOF"},
		},
		{
			name: "reset",
			end: func(c *net.TCPConn) error {
				if err := c.SetLinger(0); err != nil {
					return err
				}
				return c.Close()
			},
			want: outcome{Hangup: true, End: syscall.ECONNRESET.Error()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPoller(t)
			pr := dialPair(t, listen(t))
			if err := p.Add(pr.fd, 42); err != nil {
				t.Fatal(err)
			}
			if err := tt.end(pr.cli); err != nil {
				t.Fatal(err)
			}
			// Data and end may be reported together or one by one.
			var got outcome
			deadline := time.Now().Add(testTimeout)
			for !got.Hangup {
				if time.Now().After(deadline) {
					t.Fatal("no hangup event")
				}
				for _, ev := range collect(t, p, 1) {
					if ev.Token != 42 {
						t.Fatalf("token %d, want 42", ev.Token)
					}
					got.Hangup = got.Hangup || ev.Hangup
				}
			}
			var data string
			var end error
			for end == nil {
				var d string
				d, end = drain(t, pr.fd)
				data += d
				if end == nil && time.Now().After(deadline) {
					t.Fatal("no end of stream after hangup")
				}
			}
			got.Data, got.End = data, end.Error()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestRemove checks that a removed descriptor is no longer reported, that
// removing what is not registered (or no longer open) is not an error, that
// adding twice is, and that adding again reports bytes that came meanwhile.
func TestRemove(t *testing.T) {
	p := newPoller(t)
	ln := listen(t)
	pr := dialPair(t, ln)
	if err := p.Add(pr.fd, 1); err != nil {
		t.Fatal(err)
	}
	if err := p.Add(pr.fd, 2); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("second Add = %v, want EEXIST", err)
	}
	write(t, pr.cli, "a")
	collect(t, p, 1)
	drain(t, pr.fd)

	if err := p.Remove(pr.fd); err != nil {
		t.Fatal(err)
	}
	write(t, pr.cli, "b")
	expectNone(t, p, "removed")
	if err := p.Remove(pr.fd); err != nil {
		t.Errorf("Remove of a removed fd = %v, want nil (ENOENT)", err)
	}
	if err := p.Remove(-1); err != nil {
		t.Errorf("Remove(-1) = %v, want nil (EBADF)", err)
	}

	if err := p.Add(pr.fd, 3); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Event{{Token: 3, Readable: true}}, collect(t, p, 1)); diff != "" {
		t.Fatalf("re-added with a byte pending (-want +got):\n%s", diff)
	}

	// Closing the connection takes it out of the epoll set; Remove after
	// that finds nothing (ENOENT, or EBADF if the number is still free).
	other := dialPair(t, ln)
	if err := p.Add(other.fd, 4); err != nil {
		t.Fatal(err)
	}
	other.srv.Close()
	if err := p.Remove(other.fd); err != nil {
		t.Errorf("Remove after closing the conn = %v, want nil", err)
	}
}

// TestCloseWakesWait checks that Close makes a Wait blocked in another
// goroutine return ErrClosed promptly, that a second Close is harmless and
// that everything after Close returns ErrClosed.
func TestCloseWakesWait(t *testing.T) {
	p := newPoller(t)
	pr := dialPair(t, listen(t))
	if err := p.Add(pr.fd, 1); err != nil {
		t.Fatal(err)
	}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := p.Wait(make([]Event, 8))
		done <- result{n, err}
	}()
	time.Sleep(quiet) // let it block (not needed for correctness)

	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()
	select {
	case r := <-done:
		if r.n != 0 || r.err != ErrClosed {
			t.Errorf("Wait = %d, %v; want 0, ErrClosed", r.n, r.err)
		}
	case <-time.After(time.Second):
		t.Fatal("Wait still blocked a second after Close")
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close = %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Close did not return within a second")
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if n, err := p.Wait(make([]Event, 8)); n != 0 || err != ErrClosed {
		t.Errorf("Wait after Close = %d, %v; want 0, ErrClosed", n, err)
	}
	if err := p.Add(pr.fd, 2); err != ErrClosed {
		t.Errorf("Add after Close = %v, want ErrClosed", err)
	}
	if err := p.Remove(pr.fd); err != ErrClosed {
		t.Errorf("Remove after Close = %v, want ErrClosed", err)
	}
}

// TestAddWhileWaiting checks that a descriptor added while Wait is blocked
// in another goroutine (as when an accept loop feeds the event loop) wakes
// that Wait when its bytes arrive.
func TestAddWhileWaiting(t *testing.T) {
	p := newPoller(t)
	pr := dialPair(t, listen(t))
	type result struct {
		n   int
		err error
		ev  Event
	}
	done := make(chan result, 1)
	go func() {
		events := make([]Event, 8)
		n, err := p.Wait(events)
		done <- result{n, err, events[0]}
	}()
	time.Sleep(quiet) // let it block (not needed for correctness)
	if err := p.Add(pr.fd, 5); err != nil {
		t.Fatal(err)
	}
	write(t, pr.cli, "late")
	select {
	case r := <-done:
		if r.n != 1 || r.err != nil || r.ev != (Event{Token: 5, Readable: true}) {
			t.Errorf("Wait = %d, %v, %+v; want 1, nil, token 5", r.n, r.err, r.ev)
		}
	case <-time.After(testTimeout):
		t.Fatal("blocked Wait did not see the added descriptor")
	}
}

// TestCloseRace runs Close twice concurrently with a Wait many times, for
// the race detector and to show that none of them can hang.
func TestCloseRace(t *testing.T) {
	newPoller(t) // skips where unsupported
	for range 200 {
		p, err := New()
		if err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, 3)
		go func() {
			_, err := p.Wait(make([]Event, 1))
			if err != ErrClosed {
				err = fmt.Errorf("Wait = %v, want ErrClosed", err)
			} else {
				err = nil
			}
			errs <- err
		}()
		for range 2 {
			go func() { errs <- p.Close() }()
		}
		timeout := time.After(testTimeout)
		for range 3 {
			select {
			case err := <-errs:
				if err != nil {
					t.Fatal(err)
				}
			case <-timeout:
				t.Fatal("Wait or Close hung")
			}
		}
	}
}

// TestWaitMisuse checks the errors for an empty events slice and for a
// second Wait while one is running.
func TestWaitMisuse(t *testing.T) {
	p := newPoller(t)
	if _, err := p.Wait(nil); err != errNoRoom {
		t.Errorf("Wait(nil) = %v, want %v", err, errNoRoom)
	}

	done := make(chan error, 1)
	go func() {
		for {
			// Retry while the test's own probe holds the poller.
			if _, err := p.Wait(make([]Event, 1)); err != errConcurrentWait {
				done <- err
				return
			}
		}
	}()
	ev := make([]Event, 1)
	deadline := time.Now().Add(testTimeout)
	for {
		_, err := p.sys.wait(ev, 0) // does not block
		if err == errConcurrentWait {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("never saw the other Wait running")
		}
		time.Sleep(time.Millisecond)
	}
	p.Close()
	select {
	case err := <-done:
		if err != ErrClosed {
			t.Errorf("blocked Wait = %v, want ErrClosed", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Wait still blocked a second after Close")
	}
}

// TestWaitNoAllocs checks that a Wait that returns an event allocates
// nothing. Each run writes one byte with a raw write(2) and never reads, so
// bytes are always pending.
func TestWaitNoAllocs(t *testing.T) {
	p := newPoller(t)
	pr := dialPair(t, listen(t))
	cfd := fdOf(t, pr.cli)
	if err := p.Add(pr.fd, 99); err != nil {
		t.Fatal(err)
	}
	events := make([]Event, 16)
	one := []byte{'x'}
	var bad error
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := sysWrite(cfd, one); err != nil && bad == nil {
			bad = err
		}
		n, err := p.Wait(events)
		if (n != 1 || err != nil || events[0].Token != 99) && bad == nil {
			bad = fmt.Errorf("Wait = %d, %v, %v; want 1 event for 99", n, err, events[:n])
		}
	})
	if bad != nil {
		t.Fatal(bad)
	}
	if allocs != 0 {
		t.Errorf("Wait allocates %v times per call, want 0", allocs)
	}
}

// TestManyConnections registers 1000 idle connections, sends bytes to 10
// chosen at random (from a fixed seed) and checks that exactly their tokens
// come back.
func TestManyConnections(t *testing.T) {
	const conns, active = 1000, 10
	if testing.Short() {
		t.Skip("opens 2000 sockets")
	}
	p := newPoller(t)
	ln := listen(t)
	pairs := make([]pair, conns)
	tok := func(i int) uint64 { return 0xabcd<<48 | uint64(i) }
	for i := range pairs {
		pairs[i] = dialPair(t, ln)
		if err := p.Add(pairs[i].fd, tok(i)); err != nil {
			t.Fatal(err)
		}
	}
	expectNone(t, p, "all idle")

	rng := rand.New(rand.NewPCG(6455, 1))
	var want []uint64
	for _, i := range rng.Perm(conns)[:active] {
		write(t, pairs[i].cli, "ping")
		want = append(want, tok(i))
	}
	slices.Sort(want)
	got := collect(t, p, active)
	if diff := cmp.Diff(want, tokens(got)); diff != "" {
		t.Fatalf("tokens (-want +got):\n%s", diff)
	}
	expectNone(t, p, "the rest are idle")
}
