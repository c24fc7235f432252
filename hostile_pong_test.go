package websocket

import (
	"bytes"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/hybi/websocket/internal/wstest"
)

// hostileReader upgrades the first connection on ln and reads it with
// ReadMessage, each read under the deadline next() gives it (zero: stop),
// and reports each read's outcome and duration on the returned channel.
type readOutcome struct {
	msg  string
	err  error
	took time.Duration
}

func hostileReader(t *testing.T, ln net.Listener, next func() time.Time) <-chan readOutcome {
	out := make(chan readOutcome, 16)
	go func() {
		defer close(out)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		c, err := Upgrade(nc, nil, &AcceptOptions{Options: Options{CloseTimeout: 500 * time.Millisecond}})
		if err != nil {
			nc.Close()
			return
		}
		defer c.CloseNow()
		for {
			d := next()
			if d.IsZero() {
				return
			}
			c.SetReadDeadline(d)
			start := time.Now()
			_, p, err := c.ReadMessage(nil)
			out <- readOutcome{string(p), err, time.Since(start)}
			if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				return
			}
		}
	}()
	return out
}

// A peer that floods Pings and never reads the Pongs fills the socket.
// The reader answering them must still honour its read deadline: the
// application's idle timeout cannot be held off by a peer that stops
// reading. The timeout leaves the connection open: once the peer reads
// again it gets the Pongs and its next message arrives.
func TestHostilePingFloodReadDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	reads := hostileReader(t, ln, func() time.Time { return time.Now().Add(time.Second) })
	p := dialRaw(t, ln.Addr().String(), "")
	ping := wstest.Client(wstest.OpPing, bytes.Repeat([]byte("p"), 125))
	var b []byte
	for range 100 {
		b = append(b, ping...)
	}
	// Ping until the server stops taking them (5 s at most), never reading.
	deadline := time.Now().Add(5 * time.Second)
	sent := 0
	var rest []byte // the end of a Ping the flood's last write cut
	for time.Now().Before(deadline) && sent < 200000 {
		p.nc.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		n, err := p.nc.Write(b)
		sent += n / len(ping)
		if err != nil {
			if k := n % len(ping); k > 0 {
				rest = ping[k:]
			}
			break
		}
	}
	t.Logf("%d Pings sent", sent)
	select {
	case r := <-reads:
		t.Logf("ReadMessage: %v after %v", r.err, r.took.Round(time.Millisecond))
		if !errors.Is(r.err, os.ErrDeadlineExceeded) || r.took > 3*time.Second {
			t.Fatalf("ReadMessage with a read deadline of 1 s: %v after %v", r.err, r.took)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadMessage with a read deadline of 1 s did not return: the reader is stuck writing Pongs to a peer that does not read")
	}
	// The peer reads again: the Pongs flow, the last Ping is answered and
	// a message arrives.
	pongs := make(chan string, 1)
	go func() {
		last := ""
		for {
			f, err := p.next(5 * time.Second)
			if err != nil {
				break
			}
			if f.b0&0x0f == wstest.OpPong && string(f.payload) == "last" {
				last = "last"
				break
			}
		}
		pongs <- last
	}()
	p.send(t, rest, wstest.Client(wstest.OpPing, []byte("last")), wstest.Client(wstest.OpText, []byte("hello")))
	for r := range reads {
		if r.msg == "hello" {
			break
		}
		if !errors.Is(r.err, os.ErrDeadlineExceeded) {
			t.Fatalf("after the flood: %q, %v", r.msg, r.err)
		}
	}
	if got := <-pongs; got != "last" {
		t.Error("the Ping sent after the flood got no Pong")
	}
}

// A Ping processed after the read deadline passed (it was already
// buffered) cannot be answered at once; its Pong goes out when the reader
// next waits for input, not only on the next write.
func TestHostilePongAfterReadDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	step := 0
	reads := hostileReader(t, ln, func() time.Time {
		step++
		switch step {
		case 1:
			return time.Now().Add(5 * time.Second) // reads "m1"
		case 2:
			return time.Now().Add(-time.Second) // already passed
		case 3:
			return time.Now().Add(5 * time.Second) // waits: the Pong must go out now
		}
		return time.Time{}
	})
	p := dialRaw(t, ln.Addr().String(), "")
	p.send(t, wstest.Client(wstest.OpText, []byte("m1")), wstest.Client(wstest.OpPing, []byte("x")))
	if r := <-reads; r.msg != "m1" {
		t.Fatalf("first read: %q, %v", r.msg, r.err)
	}
	r := <-reads
	t.Logf("read under a passed deadline: %v", r.err)
	f, err := p.next(2 * time.Second)
	if err != nil || f.b0&0x0f != wstest.OpPong || string(f.payload) != "x" {
		t.Fatalf("no Pong while the server waits for input: %x %q, %v", f.b0, f.payload, err)
	}
	p.send(t, wstest.Client(wstest.OpText, []byte("m2")))
	if r := <-reads; r.msg != "m2" {
		t.Fatalf("third read: %q, %v", r.msg, r.err)
	}
}
