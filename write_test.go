package websocket

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hybi/websocket/conn"
	"github.com/hybi/websocket/deflate"
	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/mask"
)

// A frame with More (FIN clear) leaves a message open: a new data message
// is refused before any byte is written, and the wire stays a valid
// stream that the peer reads as the intended messages.
func TestWriteFrameFragmentState(t *testing.T) {
	client, server := connPair(t, nil, nil)
	got := make(chan []string, 1)
	go func() {
		var msgs []string
		for {
			_, b, err := server.ReadMessage(nil)
			if err != nil {
				got <- msgs
				return
			}
			msgs = append(msgs, string(b))
		}
	}()
	steps := []struct {
		name    string
		do      func() error
		wantErr error
	}{
		{"first fragment", func() error { return client.WriteFrame(frame.OpText, frame.More, []byte("hel")) }, nil},
		{"new text message while open", func() error { return client.WriteMessage(Text, []byte("intruder")) }, conn.ErrWriteMessageOpen},
		{"new text frame while open", func() error { return client.WriteFrame(frame.OpText, 0, []byte("x")) }, conn.ErrWriteMessageOpen},
		{"fragmented ping", func() error { return client.WriteFrame(frame.OpPing, frame.More, nil) }, conn.ErrWriteFragmentedControl},
		{"long ping", func() error { return client.Ping(make([]byte, 126)) }, conn.ErrWriteControlTooLong},
		{"RSV1 without extension", func() error { return client.WriteFrame(frame.OpContinuation, frame.Compressed, nil) }, conn.ErrWriteRSV},
		{"mask flag", func() error { return client.WriteFrame(frame.OpContinuation, frame.Mask, nil) }, conn.ErrWriteMaskFlag},
		{"reserved opcode", func() error { return client.WriteFrame(frame.Opcode(3), 0, nil) }, conn.ErrWriteReservedOpcode},
		{"close via WriteFrame", func() error { return client.WriteFrame(frame.OpClose, 0, nil) }, conn.ErrWriteBadClose},
		{"ping between fragments", func() error { return client.Ping([]byte("p")) }, nil},
		{"last fragment", func() error { return client.WriteFrame(frame.OpContinuation, 0, []byte("lo")) }, nil},
		{"continuation with none open", func() error { return client.WriteFrame(frame.OpContinuation, 0, []byte("?")) }, conn.ErrWriteNoMessage},
		{"next message", func() error { return client.WriteMessage(Text, []byte("world")) }, nil},
	}
	for _, s := range steps {
		err := s.do()
		if s.wantErr == nil && err != nil || s.wantErr != nil && !errors.Is(err, s.wantErr) {
			t.Errorf("%s: error %v, want %v", s.name, err, s.wantErr)
		}
	}
	if err := client.Close(frame.CloseNormal, ""); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if diff := cmp.Diff([]string{"hello", "world"}, <-got); diff != "" {
		t.Errorf("server received (-want +got):\n%s", diff)
	}
}

// Concurrent writers, pings and an open NextWriter: every message arrives
// whole, and fragments of the open writer interleave only with control
// frames. Run with -race.
func TestConcurrentWriters(t *testing.T) {
	client, server := connPair(t, &Options{FragmentSize: 64}, nil)
	const writers, perWriter = 4, 50
	received := make(chan map[string]int, 1)
	go func() {
		seen := map[string]int{}
		for {
			_, b, err := server.ReadMessage(nil)
			if err != nil {
				received <- seen
				return
			}
			seen[string(b)]++
		}
	}()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				msg := fmt.Sprintf("w%d-%d-%s", w, i, strings.Repeat("z", i*7))
				if err := client.WriteMessage(Text, []byte(msg)); err != nil {
					t.Errorf("WriteMessage: %v", err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range perWriter {
			wc, err := client.NextWriter(Binary)
			if err != nil {
				t.Errorf("NextWriter: %v", err)
				return
			}
			fmt.Fprintf(wc, "stream-%d-", i)
			for range 5 {
				wc.Write(bytes.Repeat([]byte{'s'}, 50))
				time.Sleep(time.Microsecond) // let pings in between fragments
			}
			if err := wc.Close(); err != nil {
				t.Errorf("writer Close: %v", err)
			}
		}
	})
	wg.Go(func() {
		for range 100 {
			if err := client.Ping([]byte("beat")); err != nil {
				t.Errorf("Ping: %v", err)
				return
			}
		}
	})
	wg.Wait()
	if err := client.Close(frame.CloseNormal, ""); err != nil {
		t.Fatalf("Close: %v", err)
	}
	seen := <-received
	want := map[string]int{}
	for w := range writers {
		for i := range perWriter {
			want[fmt.Sprintf("w%d-%d-%s", w, i, strings.Repeat("z", i*7))] = 1
		}
	}
	for i := range perWriter {
		want[fmt.Sprintf("stream-%d-", i)+strings.Repeat("s", 250)] = 1
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}

// A write that times out mid-frame never leaves a torn frame on the wire:
// the rest is queued and written first by the next write.
func TestWriteTimeoutMidFrame(t *testing.T) {
	for _, tc := range deadlineMatrix() {
		t.Run(tc.name, func(t *testing.T) {
			client, server := tc.pair(t)
			w, r := client, server
			if tc.role == "server" {
				w, r = server, client
			}
			// Nobody reads yet: a big message fills the socket buffers
			// and the deadline expires mid-frame. Random bytes, so that
			// compression does not shrink it below the buffers.
			big := make([]byte, 10<<20)
			rand.NewChaCha8([32]byte{1}).Read(big)
			w.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
			err := w.WriteMessage(Binary, big)
			if queuesWrites(w) {
				// A poller's connection never waits: the frame is queued
				// whole, and the next write finds the queue full.
				if err != nil {
					t.Fatalf("WriteMessage = %v, want it queued", err)
				}
				w.SetWriteDeadline(time.Time{}) // the queue refuses, not a deadline
				if err := w.WriteMessage(Text, []byte("refused")); !errors.Is(err, ErrWriteQueueFull) {
					t.Fatalf("write behind a full queue = %v, want ErrWriteQueueFull", err)
				}
			} else {
				if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.Is(err, ErrWriteQueued) {
					t.Fatalf("WriteMessage = %v, want a queued timeout", err)
				}
				// The deadline has passed: nothing more is committed.
				if err := w.WriteMessage(Text, []byte("refused")); !errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, ErrWriteQueued) {
					t.Fatalf("write after the deadline = %v, want a plain timeout", err)
				}
			}
			w.SetWriteDeadline(time.Time{})
			after := strings.Repeat("after ", 100) // compressed too, when enabled
			got := make(chan error, 1)
			go func() {
				_, b, err := r.ReadMessage(nil)
				if err == nil && !bytes.Equal(b, big) {
					err = fmt.Errorf("big message corrupted (%d bytes)", len(b))
				}
				if err == nil {
					_, b, err = r.ReadMessage(nil)
					if err == nil && string(b) != after {
						err = fmt.Errorf("got %q, want %q", b, after)
					}
				}
				got <- err
			}()
			if err := writeWhenRoom(w, Text, []byte(after)); err != nil {
				t.Fatalf("next write: %v", err)
			}
			if err := <-got; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// NextWriter sends fragments of FragmentSize, and a stale writer cannot
// write after Close.
func TestNextWriterFragments(t *testing.T) {
	var frames []frame.Header
	var mu sync.Mutex
	trace := func(ev TraceEvent) {
		if ev.Direction == Received {
			mu.Lock()
			frames = append(frames, ev.Header)
			mu.Unlock()
		}
	}
	client, server := connPair(t, &Options{FragmentSize: 10}, &Options{Trace: trace})
	wc, err := client.NextWriter(Text)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(wc, "0123456789abcdefghij")
	io.WriteString(wc, "XYZ")
	if err := wc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := wc.Close(); err == nil {
		t.Error("second Close of the writer succeeded")
	}
	if _, err := wc.Write([]byte("x")); err == nil {
		t.Error("Write after Close succeeded")
	}
	_, b, err := server.ReadMessage(nil)
	if err != nil || string(b) != "0123456789abcdefghijXYZ" {
		t.Fatalf("ReadMessage = %q, %v", b, err)
	}
	type fr struct {
		Op  frame.Opcode
		Fin bool
		Len int64
	}
	var got []fr
	mu.Lock()
	for _, h := range frames {
		got = append(got, fr{h.Opcode, h.Fin, h.Length})
	}
	mu.Unlock()
	want := []fr{{frame.OpText, false, 10}, {frame.OpContinuation, false, 10}, {frame.OpContinuation, true, 3}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("frames (-want +got):\n%s", diff)
	}
}

// deadlineCase is one row of the deadline matrix: a transport, the role
// that writes, whether permessage-deflate is on, and whether the writing
// server is served by a Loop (epoll over TCP; its per-connection fallback
// over TLS).
// queuesWrites reports whether c's writes go through a Loop's write queue
// (a poller serves it): they never time out, and a full queue refuses them.
func queuesWrites(c *Conn) bool {
	lc := c.lc.Load()
	return lc != nil && lc.p != nil
}

// writeWhenRoom writes a message, waiting (up to 20 s) while a Loop's
// queue refuses it for a peer that is catching up.
func writeWhenRoom(c *Conn, typ MessageType, p []byte) error {
	for end := time.Now().Add(20 * time.Second); ; {
		err := c.WriteMessage(typ, p)
		if !errors.Is(err, ErrWriteQueueFull) || time.Now().After(end) {
			return err
		}
		time.Sleep(time.Millisecond)
	}
}

type deadlineCase struct {
	name     string
	tr       testTransport
	role     string
	compress bool
	loop     bool
}

// deadlineMatrix is every transport × role × compression, and the server
// role again on a Loop.
func deadlineMatrix() []deadlineCase {
	var m []deadlineCase
	for _, tr := range testTransports {
		for _, compress := range []bool{false, true} {
			for _, role := range []string{"client", "server", "server/loop"} {
				name := tr.name + "/" + role
				if compress {
					name += "/compressed"
				}
				m = append(m, deadlineCase{name, tr, strings.TrimSuffix(role, "/loop"), compress, strings.HasSuffix(role, "/loop")})
			}
		}
	}
	return m
}

// pair returns the case's client and server Conns over a new loopback
// connection.
func (tc deadlineCase) pair(t *testing.T) (client, server *Conn) {
	cn, sn := tcpPair(t)
	return tc.conns(t, cn, sn)
}

// conns returns the case's client and server Conns over the two ends of a
// TCP connection (context takeover both ways when compressed).
func (tc deadlineCase) conns(t *testing.T, cn, sn net.Conn) (client, server *Conn) {
	t.Helper()
	cc, sc := tc.tr.wrap(t, cn, sn)
	var p *deflate.Params
	o := &Options{}
	if tc.compress {
		p = &deflate.Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}
		o.Compression = true
	}
	client, err := newConn(cc, true, nil, o, "", p)
	if err != nil {
		t.Fatal(err)
	}
	server, err = newConn(sc, false, nil, o, "", p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.CloseNow(); server.CloseNow() })
	if tc.loop {
		l, err := NewLoop(&LoopOptions{OnMessage: func(*Conn, MessageType, []byte) {}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		if err := l.Add(server); err != nil {
			t.Fatal(err)
		}
	}
	return client, server
}

// pieceConn is a net.Conn that records every write and accepts budget
// bytes in all before failing writes with a timeout, as a socket with a
// write deadline does when the peer stops reading.
type pieceConn struct {
	net.Conn // nil: only Write and Close are used
	out      bytes.Buffer
	sizes    []int
	budget   int
}

type pieceTimeout struct{}

func (pieceTimeout) Error() string   { return "i/o timeout" }
func (pieceTimeout) Timeout() bool   { return true }
func (pieceTimeout) Temporary() bool { return true }

func (pc *pieceConn) Write(p []byte) (int, error) {
	pc.sizes = append(pc.sizes, len(p))
	n := min(len(p), pc.budget)
	pc.budget -= n
	pc.out.Write(p[:n])
	if n < len(p) {
		return n, pieceTimeout{}
	}
	return n, nil
}

func (pc *pieceConn) Close() error { return nil }

// decodeFrame parses one frame from b and returns its unmasked payload.
func decodeFrame(t *testing.T, b []byte) (frame.Header, []byte) {
	t.Helper()
	h, n, err := frame.ParseHeader(b)
	if err != nil {
		t.Fatalf("parse header: %v", err)
	}
	if int64(len(b)-n) != h.Length {
		t.Fatalf("frame announces %d payload bytes, stream has %d", h.Length, len(b)-n)
	}
	p := b[n:]
	if h.Masked {
		mask.Apply(h.Key, 0, p)
	}
	return h, p
}

// Large frames reach the kernel in writes of at most maxWrite bytes, in
// both roles, and a write that times out after any number of bytes leaves
// the rest queued so that the stream still carries the exact frame.
func TestLargeFramePieces(t *testing.T) {
	msg := make([]byte, 3*maxWrite+12345)
	rand.NewChaCha8([32]byte{2}).Read(msg)
	total := func(client bool) int {
		hl := 10
		if client {
			hl = 14
		}
		return hl + len(msg)
	}
	for _, client := range []bool{true, false} {
		n := total(client)
		// n: no timeout.
		cuts := []int{n, 0, 1, 9, 10, 14, 15, maxWrite - 1, maxWrite, maxWrite + 1, 2 * maxWrite, 3*maxWrite + 7, n - 1}
		for _, cut := range cuts {
			t.Run(fmt.Sprintf("client=%v/cut=%d", client, cut), func(t *testing.T) {
				pc := &pieceConn{budget: cut}
				c, err := newConn(pc, client, nil, &Options{}, "", nil)
				if err != nil {
					t.Fatal(err)
				}
				err = c.WriteMessage(Binary, msg)
				if cut < n {
					if !errors.Is(err, ErrWriteQueued) {
						t.Fatalf("WriteMessage = %v, want ErrWriteQueued", err)
					}
					pc.budget = 1 << 30
					if err := c.Flush(); err != nil {
						t.Fatalf("Flush: %v", err)
					}
				} else if err != nil {
					t.Fatalf("WriteMessage: %v", err)
				}
				for i, s := range pc.sizes {
					if s > maxWrite && i < len(pc.sizes)-1 || s > maxWrite && cut == n {
						t.Errorf("write %d has %d bytes, more than maxWrite (%d)", i, s, maxWrite)
					}
				}
				h, p := decodeFrame(t, pc.out.Bytes())
				if h.Masked != client || !h.Fin || h.Opcode != frame.OpBinary {
					t.Errorf("header %+v", h)
				}
				if !bytes.Equal(p, msg) {
					t.Errorf("payload differs from the message")
				}
			})
		}
	}
}

// A write deadline that expires while the peer is not reading never costs
// the connection, over any transport: 50 times in a row, a peer stops
// reading until the socket buffers are full, a write times out (its frame
// queued, or refused before anything was committed), the peer resumes, and
// every committed message arrives intact and in order while the writer
// carries on. Over TLS this is the case crypto/tls cannot survive on its
// own: a tls.Conn whose write deadline fires is broken for good.
func TestWriteDeadlineRepeated(t *testing.T) {
	for _, tc := range deadlineMatrix() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cn, sn := tcpPair(t)
			for _, c := range []*net.TCPConn{cn, sn} {
				// Small buffers: a few messages fill them.
				c.SetReadBuffer(32 << 10)
				c.SetWriteBuffer(32 << 10)
			}
			client, server := tc.conns(t, cn, sn)
			w, r := client, server
			if tc.role == "server" {
				w, r = server, client
			}
			rng := rand.NewChaCha8([32]byte{byte(len(tc.name))})
			gen := func() []byte {
				b := make([]byte, 1<<10+int(rng.Uint64()%(63<<10)))
				rng.Read(b) // incompressible: compression cannot keep the buffers empty
				return b
			}
			queuedRounds := 0
			for round := range 50 {
				var sent [][]byte
				timedOut := false
				for range 400 {
					msg := gen()
					w.SetWriteDeadline(time.Now().Add(5 * time.Millisecond))
					err := w.WriteMessage(Binary, msg)
					if err == nil {
						sent = append(sent, msg)
						continue
					}
					if queuesWrites(w) && errors.Is(err, ErrWriteQueueFull) {
						// Refused before anything of it was
						// committed, behind queued frames.
						queuedRounds++
						timedOut = true
						break
					}
					if !errors.Is(err, os.ErrDeadlineExceeded) {
						t.Fatalf("round %d: write: %v (a timeout must not end the connection)", round, err)
					}
					if errors.Is(err, ErrWriteQueued) {
						sent = append(sent, msg) // committed: it must arrive
						queuedRounds++
					}
					timedOut = true
					break
				}
				if !timedOut {
					t.Fatalf("round %d: 400 writes to a peer that does not read never timed out", round)
				}
				w.SetWriteDeadline(time.Time{})
				tail := []byte(fmt.Sprintf("round %d continues", round))
				sent = append(sent, tail)
				got := make(chan error, 1)
				go func() {
					var buf []byte
					for i, want := range sent {
						_, b, err := r.ReadMessage(buf)
						if err != nil {
							got <- fmt.Errorf("message %d of %d: %w", i, len(sent), err)
							return
						}
						if !bytes.Equal(b, want) {
							got <- fmt.Errorf("message %d of %d: %d bytes differ from the %d sent", i, len(sent), len(b), len(want))
							return
						}
						buf = b
					}
					got <- nil
				}()
				if err := writeWhenRoom(w, Binary, tail); err != nil {
					t.Fatalf("round %d: the write after the timeout: %v", round, err)
				}
				if err := <-got; err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
			if queuedRounds == 0 {
				t.Error("no timeout left a frame queued: the test did not exercise a committed frame")
			}
			t.Logf("50 rounds, %d with a queued frame", queuedRounds)
		})
	}
}

// A write to a peer that stopped reading for good, with no deadline, still
// ends in bounded time over every transport: Close's timeout or the
// heartbeat closes the connection, the blocked write returns, and the
// *CloseError says why.
func TestStuckWriteEnds(t *testing.T) {
	for _, tr := range testTransports {
		for _, how := range []string{"close-timeout", "heartbeat"} {
			t.Run(tr.name+"/"+how, func(t *testing.T) {
				t.Parallel()
				o := &Options{CloseTimeout: 200 * time.Millisecond}
				if how == "heartbeat" {
					o.PingInterval, o.PongTimeout = 100*time.Millisecond, 200*time.Millisecond
				}
				// The client never reads; small socket buffers make a
				// 4 MiB write stick at once, without a large allocation
				// (which the race detector makes slow).
				cn, sn := tcpPair(t)
				for _, c := range []*net.TCPConn{cn, sn} {
					c.SetReadBuffer(32 << 10)
					c.SetWriteBuffer(32 << 10)
				}
				cc, sc := tr.wrap(t, cn, sn)
				client, err := newConn(cc, true, nil, &Options{}, "", nil)
				if err != nil {
					t.Fatal(err)
				}
				server, err := newConn(sc, false, nil, o, "", nil)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { client.CloseNow(); server.CloseNow() })
				big := make([]byte, 4<<20)
				wrote := make(chan error, 1)
				go func() { wrote <- server.WriteMessage(Binary, big) }()
				time.Sleep(100 * time.Millisecond) // the write is stuck
				start := time.Now()
				want := ErrHeartbeatTimeout
				if how == "close-timeout" {
					want = ErrCloseTimeout
					err := server.Close(frame.CloseNormal, "bye")
					var ce *CloseError
					if !errors.As(err, &ce) || !errors.Is(ce.Err, ErrCloseTimeout) {
						t.Fatalf("Close = %v, want a *CloseError with ErrCloseTimeout", err)
					}
				}
				select {
				case err := <-wrote:
					var ce *CloseError
					if !errors.As(err, &ce) || !errors.Is(ce.Err, want) {
						t.Fatalf("stuck write = %v, want a *CloseError with %v", err, want)
					}
					t.Logf("stuck write ended after %v: %v", time.Since(start).Round(time.Millisecond), err)
				case <-time.After(60 * time.Second):
					// Generous: the bound is Close's timeout or the
					// heartbeat; the margin is for a loaded machine.
					t.Fatal("the stuck write did not end")
				}
			})
		}
	}
}
