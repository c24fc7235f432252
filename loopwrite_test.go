package websocket

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A peer that never reads cannot stall a Loop: its echoes queue up to
// WriteQueueLimit and the policy acts beyond it, while the other
// connections of the same (single) poller keep echoing. Before writes were
// queued, the poller blocked in the slow connection's WriteMessage and
// every other connection of it waited forever.
func TestLoopSlowConsumer(t *testing.T) {
	if !netpollSupported(t) {
		return
	}
	for _, policy := range []struct {
		name string
		code CloseCode
	}{{"refuse", 0}, {"close1008", ClosePolicyViolation}, {"close1013", CloseTryAgainLater}} {
		t.Run(policy.name, func(t *testing.T) {
			const limit = 256 << 10
			var refused atomic.Int64
			var peak atomic.Int64
			var slowConn atomic.Pointer[Conn]
			// A short CloseTimeout: the slow peer never answers the Close.
			s := newLoopServerWith(t, &AcceptOptions{Options: Options{CloseTimeout: 500 * time.Millisecond}}, LoopOptions{
				OnMessage: func(c *Conn, typ MessageType, p []byte) {
					err := c.WriteMessage(typ, p)
					if errors.Is(err, ErrWriteQueueFull) {
						refused.Add(1)
						slowConn.Store(c)
					}
					if q := c.ls.q.n.Load(); q > peak.Load() {
						peak.Store(q)
					}
				},
				Pollers:         1, // every connection shares the slow one's poller
				WriteQueueLimit: limit,
				QueueFullCode:   policy.code,
			})
			slow := dial(t, s.url, nil)
			slow.NetConn().(*net.TCPConn).SetReadBuffer(4 << 10)
			msg := bytes.Repeat([]byte("s"), 16<<10)
			for i := 0; refused.Load() == 0 && i < 2000; i++ {
				if err := slow.WriteMessage(Binary, msg); err != nil {
					break // the server closed it (a close policy)
				}
				if i%32 == 31 {
					time.Sleep(time.Millisecond) // let the poller catch up
				}
			}
			if refused.Load() == 0 {
				t.Fatal("the echoes of 2000 messages to a peer that never reads never met the limit")
			}
			// The slow peer keeps sending (under the refuse policy the
			// server keeps refusing) while 20 others echo through the
			// same poller.
			stop := make(chan struct{})
			var slowWriter, others sync.WaitGroup
			slowWriter.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if slow.WriteMessage(Binary, msg) != nil {
						return
					}
					time.Sleep(time.Millisecond)
				}
			})
			errs := make(chan error, 20)
			for i := range 20 {
				others.Go(func() {
					c := dial(t, s.url, nil)
					c.SetDeadline(time.Now().Add(20 * time.Second))
					var buf []byte
					for j := range 100 {
						want := fmt.Appendf(nil, "client %d message %d %s", i, j, bytes.Repeat([]byte("x"), 1000))
						if err := c.WriteMessage(Text, want); err != nil {
							errs <- err
							return
						}
						_, b, err := c.ReadMessage(buf)
						if err != nil || !bytes.Equal(b, want) {
							errs <- fmt.Errorf("client %d echo %d: %.20q, %v", i, j, b, err)
							return
						}
						buf = b
					}
				})
			}
			others.Wait() // each client's deadline bounds it
			close(stop)
			slowWriter.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if p := peak.Load(); p > limit {
				t.Errorf("the slow connection queued %d bytes, more than the %d limit", p, limit)
			}
			t.Logf("%d echoes refused; peak queue %d bytes (limit %d)", refused.Load(), peak.Load(), limit)
			if policy.code == 0 {
				if c := slowConn.Load(); c == nil || c.closed() != nil {
					t.Errorf("the refuse policy ended the slow connection: %v", c.closed())
				}
				return
			}
			lc := s.waitClose(t)
			var ce *CloseError
			if !errors.As(lc.err, &ce) || ce.Code != policy.code || ce.Initiator != Local {
				t.Errorf("slow connection ended with %v, want a local close with %v", lc.err, policy.code)
			}
		})
	}
}

// netpollSupported skips a test of the poller's write queue where a Loop
// has no poller.
func netpollSupported(t *testing.T) bool {
	t.Helper()
	l, err := NewLoop(&LoopOptions{OnMessage: func(*Conn, MessageType, []byte) {}, Pollers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if len(l.pollers) == 0 {
		t.Skip("no epoll here: a Loop serves each connection from its own goroutine")
		return false
	}
	return true
}

// loopConnPair returns a client Conn and the server Conn a Loop serves for
// it (with onMessage and the given options).
func loopConnPair(t *testing.T, lo LoopOptions) (client, server *Conn, s *loopServer) {
	t.Helper()
	if lo.OnMessage == nil {
		lo.OnMessage = func(*Conn, MessageType, []byte) {}
	}
	lo.Pollers = 1
	s = newLoopServerWith(t, nil, lo)
	client = dial(t, s.url, nil)
	select {
	case server = <-s.conns:
	case <-time.After(10 * time.Second):
		t.Fatal("no server connection")
	}
	return client, server, s
}

// numbered is message i of a burst: its number, then filler.
func numbered(i, size int) []byte {
	b := bytes.Repeat([]byte{byte(i)}, size)
	binary.BigEndian.PutUint32(b, uint32(i))
	return b
}

// A peer that pauses and then reads again gets every byte, in order: the
// writes (from another goroutine than the poller) never block, the queue
// holds what the socket did not take, and epoll's writability events
// drain it.
func TestLoopQueueResume(t *testing.T) {
	if !netpollSupported(t) {
		return
	}
	client, server, _ := loopConnPair(t, LoopOptions{WriteQueueLimit: 4 << 20})
	// A small send buffer, so that the socket is soon full. (Not a
	// tiny receive buffer: below one segment, TCP's silly-window
	// avoidance makes a reading peer crawl.)
	server.NetConn().(*net.TCPConn).SetWriteBuffer(16 << 10)
	const n, size = 200, 8 << 10 // 1.6 MB: more than the socket buffers, less than the limit
	start := time.Now()
	var queued int64
	for i := range n {
		if err := server.WriteMessage(Binary, numbered(i, size)); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		queued = max(queued, server.ls.q.n.Load())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("%d writes to a paused peer took %v: they waited for it", n, d)
	}
	if queued == 0 {
		t.Fatal("nothing was ever queued: the test did not exercise the queue")
	}
	client.SetReadDeadline(time.Now().Add(20 * time.Second))
	var buf []byte
	for i := range n {
		_, b, err := client.ReadMessage(buf)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(b, numbered(i, size)) {
			t.Fatalf("message %d differs (%d bytes)", i, len(b))
		}
		buf = b
	}
	t.Logf("%d messages of %d bytes; up to %d bytes queued", n, size, queued)
	// The poller drops written bytes from the queue just after writev
	// returns, which can be after the peer read them: wait for that, not
	// for the peer.
	deadline := time.Now().Add(5 * time.Second)
	for server.ls.q.n.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if q := server.ls.q.n.Load(); q != 0 {
		t.Errorf("%d bytes still queued 5s after the peer read everything", q)
	}
}

// A burst larger than the queue: the writes that fit are queued, the rest
// refused whole (ErrWriteQueueFull) without tearing a frame, the peer gets
// exactly the accepted messages in order, and once it caught up writes are
// accepted again.
func TestLoopQueueBurst(t *testing.T) {
	if !netpollSupported(t) {
		return
	}
	const limit = 256 << 10
	client, server, _ := loopConnPair(t, LoopOptions{WriteQueueLimit: limit})
	// A small send buffer, so that the socket is soon full. (Not a
	// tiny receive buffer: below one segment, TCP's silly-window
	// avoidance makes a reading peer crawl.)
	server.NetConn().(*net.TCPConn).SetWriteBuffer(16 << 10)
	const n, size = 400, 8 << 10 // 3.2 MB against a 256 KiB queue
	var accepted []int
	for i := range n {
		err := server.WriteMessage(Binary, numbered(i, size))
		switch {
		case err == nil:
			accepted = append(accepted, i)
		case errors.Is(err, ErrWriteQueueFull):
		default:
			t.Fatalf("write %d: %v", i, err)
		}
		if q := server.ls.q.n.Load(); q > limit {
			t.Fatalf("queue holds %d bytes, over the %d limit", q, limit)
		}
		server.ls.q.mu.Lock()
		c := 0
		if server.ls.q.buf != nil {
			c = cap(*server.ls.q.buf)
		}
		server.ls.q.mu.Unlock()
		if c > limit {
			t.Fatalf("queue buffer of %d bytes, over the %d limit", c, limit)
		}
	}
	if len(accepted) == n || len(accepted) == 0 {
		t.Fatalf("%d of %d writes accepted: the burst did not meet the limit", len(accepted), n)
	}
	after := []byte("after the burst")
	got := make(chan error, 1)
	go func() {
		client.SetReadDeadline(time.Now().Add(20 * time.Second))
		var buf []byte
		for _, i := range accepted {
			_, b, err := client.ReadMessage(buf)
			if err != nil {
				got <- fmt.Errorf("message %d: %w", i, err)
				return
			}
			if !bytes.Equal(b, numbered(i, size)) {
				got <- fmt.Errorf("want message %d, got %d bytes starting %x", i, len(b), b[:min(len(b), 4)])
				return
			}
			buf = b
		}
		_, b, err := client.ReadMessage(buf)
		if err == nil && !bytes.Equal(b, after) {
			err = fmt.Errorf("got %q, want %q", b, after)
		}
		got <- err
	}()
	if err := writeWhenRoom(server, Text, after); err != nil {
		t.Fatalf("write after the peer caught up: %v", err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	t.Logf("%d of %d messages accepted, the rest refused", len(accepted), n)
}

// Writing to a connection a poller serves allocates nothing in steady
// state, whether the socket takes the frame at once or it joins the queue.
func TestLoopWriteAllocs(t *testing.T) {
	if !netpollSupported(t) {
		return
	}
	client, server, _ := loopConnPair(t, LoopOptions{})
	go func() {
		var buf []byte
		for {
			_, b, err := client.ReadMessage(buf)
			if err != nil {
				return
			}
			buf = b
		}
	}()
	msg := bytes.Repeat([]byte("a"), 64)
	if got := testing.AllocsPerRun(1000, func() {
		if err := server.WriteMessage(Binary, msg); err != nil {
			t.Fatal(err)
		}
	}); got != 0 {
		t.Errorf("WriteMessage on a Loop's connection: %v allocations, want 0", got)
	}
}

// The queued path allocates nothing in steady state either: bursts of
// messages that the socket cannot take at once (its buffers are shrunk)
// go to the write queue, whose buffer comes from a pool while the burst
// fits in one piece, and the poller drains it as the peer reads. Every
// burst must have met the queue, else the test proves nothing. (A burst
// past one 64 KiB piece grows the buffer, two allocations per burst, and
// the grown buffer is dropped when the queue empties, so that a
// connection that caught up holds no queue memory.)
func TestLoopQueuedWriteAllocs(t *testing.T) {
	if !netpollSupported(t) {
		return
	}
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops items at random")
	}
	client, server, _ := loopConnPair(t, LoopOptions{})
	server.NetConn().(*net.TCPConn).SetWriteBuffer(8 << 10)
	const burst, size = 24, 2 << 10 // 48 KiB: within one pooled queue piece
	msgs := make([][]byte, burst)
	for i := range msgs {
		msgs[i] = numbered(i, size)
	}
	read, done := make(chan struct{}), make(chan error)
	go func() {
		var buf []byte
		for range read {
			var err error
			for i := range burst {
				var b []byte
				if _, b, err = client.ReadMessage(buf); err != nil {
					break
				}
				if len(b) != size || binary.BigEndian.Uint32(b) != uint32(i) {
					err = fmt.Errorf("message %d: got %d bytes numbered %d", i, len(b), binary.BigEndian.Uint32(b))
					break
				}
				buf = b
			}
			done <- err
		}
	}()
	defer close(read)
	queued, bursts := 0, 0
	round := func() {
		bursts++
		// Whether the burst met the queue is looked at after every
		// message: looked at only after the last one, a burst the
		// poller had already drained into the socket (the client's
		// receive buffer had room on a loaded machine: 3 bursts in 102
		// once) did not count, although it had gone through the queue.
		met := false
		for _, m := range msgs {
			if err := server.WriteMessage(Binary, m); err != nil {
				t.Fatalf("burst %d: %v", bursts, err)
			}
			met = met || server.ls.q.n.Load() > 0
		}
		if met {
			queued++
		}
		read <- struct{}{}
		if err := <-done; err != nil {
			t.Fatalf("burst %d: %v", bursts, err)
		}
	}
	round() // the reader's buffer grows once
	// AllocsPerRun divides the allocations by the runs in integers, so a
	// measurement counts only when every burst met the queue: then an
	// allocation on the queued path shows in every run. The client's
	// receive buffer sometimes has room for a whole burst (1 burst in
	// about 100, on a loaded machine); such a measurement is taken again,
	// up to three times.
	for attempt := 1; ; attempt++ {
		queued, bursts = 0, 0
		got := testing.AllocsPerRun(100, round)
		if queued == bursts {
			if got != 0 {
				t.Errorf("bursts through the write queue: %v allocations per burst of %d messages, want 0", got, burst)
			}
			return
		}
		if attempt == 3 {
			t.Fatalf("only %d of %d bursts met the write queue in the third measurement: the socket took them whole, so the queued path was not measured", queued, bursts)
		}
		t.Logf("measurement %d: %d of %d bursts met the write queue; measuring again", attempt, queued, bursts)
	}
}
