package websocket

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/internal/netpoll"
)

// hbLoopClients dials n clients to s, each counting the Pings it receives
// (its reader answers them), and returns the server's side of each.
func hbLoopClients(t *testing.T, s *loopServer, n int, pings []atomic.Int64) []*Conn {
	t.Helper()
	servers := make([]*Conn, n)
	for i := range n {
		c := dial(t, s.url, &DialOptions{Proxy: NoProxy, Options: Options{OnPing: func([]byte) { pings[i].Add(1) }}})
		go readUntilError(c)
		select {
		case servers[i] = <-s.conns:
		case <-time.After(5 * time.Second):
			t.Fatal("the server did not get the connection")
		}
	}
	return servers
}

// inWheel reports whether c is listed in one of w's buckets.
func (w *hbWheel) inWheel(c *Conn) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range w.buckets {
		for x := b.head; x != nil; x = x.hb.next {
			if x == c {
				return true
			}
		}
	}
	return false
}

// A connection a poller serves has no heartbeat timer of its own: its
// poller's wheel pings it every PingInterval, and once it ended it is out
// of the wheel and never pinged again; the wheel's timer stops when no
// connection is left.
func TestLoopHeartbeatWheel(t *testing.T) {
	if !netpoll.Supported {
		t.Skip("needs epoll: without it a Loop connection keeps its own timer")
	}
	const n = 8
	s := newLoopServerWith(t, &AcceptOptions{Options: Options{PingInterval: 20 * time.Millisecond, PongTimeout: time.Second}},
		LoopOptions{OnMessage: echoMessage, Pollers: 1})
	pings := make([]atomic.Int64, n)
	servers := hbLoopClients(t, s, n, pings)
	w := &s.loop.pollers[0].hb
	for i, c := range servers {
		c.mu.Lock()
		timer := c.hb.timer
		c.mu.Unlock()
		if timer != nil {
			t.Errorf("connection %d still has its own heartbeat timer", i)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for i := range servers {
		for pings[i].Load() < 3 {
			if time.Now().After(deadline) {
				t.Fatalf("connection %d got %d pings, want 3", i, pings[i].Load())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// End half of them: out of the wheel at once, no ping after.
	for _, c := range servers[:n/2] {
		c.CloseNow()
		if w.inWheel(c) {
			t.Errorf("a closed connection is still in the wheel")
		}
	}
	time.Sleep(10 * time.Millisecond) // pings written before CloseNow arrive
	var before [n / 2]int64
	for i := range before {
		before[i] = pings[i].Load()
	}
	time.Sleep(100 * time.Millisecond) // five intervals
	for i := range before {
		if got := pings[i].Load(); got != before[i] {
			t.Errorf("closed connection %d: %d pings after its end", i, got-before[i])
		}
	}
	for i := n / 2; i < n; i++ {
		if pings[i].Load() < 5 {
			t.Errorf("live connection %d: %d pings, want them to go on", i, pings[i].Load())
		}
	}
	for _, c := range servers[n/2:] {
		c.CloseNow()
	}
	w.mu.Lock()
	left, armed := len(w.buckets), w.armed
	w.mu.Unlock()
	if left != 0 || armed != 0 {
		t.Errorf("with no connection left: %d buckets, timer armed at %d; want none", left, armed)
	}
}

// A heartbeat tick of the wheel allocates nothing in steady state: every
// connection due is pinged and scheduled again from the wheel's reused
// buckets and batch.
func TestLoopHeartbeatAllocs(t *testing.T) {
	if raceEnabled || !netpoll.Supported {
		t.Skip("needs epoll; sync.Pool and allocation counts differ under the race detector")
	}
	const n = 32
	interval := time.Hour // the wheel's own timer stays out of the way
	s := newLoopServerWith(t, &AcceptOptions{Options: Options{PingInterval: interval}},
		LoopOptions{OnMessage: echoMessage, Pollers: 1})
	pings := make([]atomic.Int64, n)
	servers := hbLoopClients(t, s, n, pings)
	w := &s.loop.pollers[0].hb
	now := hbNow()
	tick := func() {
		now += 2 * int64(interval) // every connection is due
		w.mu.Lock()
		w.ticking = true
		if !w.runDue(now) {
			t.Error("no connection was due")
		}
		w.ticking = false
		w.mu.Unlock()
	}
	tick() // warm up: buckets and batch grow
	const runs = 50
	if got := testing.AllocsPerRun(runs, tick); got != 0 {
		t.Errorf("a heartbeat tick of %d connections makes %v allocations, want 0", n, got)
	}
	// Every tick pinged every connection.
	deadline := time.Now().Add(5 * time.Second)
	for i := range servers {
		for pings[i].Load() < runs+2 {
			if time.Now().After(deadline) {
				t.Fatalf("connection %d got %d pings, want %d", i, pings[i].Load(), runs+2)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// TestHeartbeatSize pins the heartbeat state's size (every byte of an idle
// connection counts; docs/performance.md quotes it).
func TestHeartbeatSize(t *testing.T) {
	if got, want := unsafe.Sizeof(heartbeat{}), uintptr(7*8); got != want {
		t.Errorf("heartbeat is %d bytes, want %d", got, want)
	}
}

// Connections of one poller with different PingIntervals share its wheel
// and each is pinged at its own rate: never more often than its interval.
func TestLoopHeartbeatMixedIntervals(t *testing.T) {
	if !netpoll.Supported {
		t.Skip("needs epoll: without it a Loop connection keeps its own timer")
	}
	l, err := NewLoop(&LoopOptions{OnMessage: echoMessage, Pollers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	intervals := []time.Duration{10 * time.Millisecond, 40 * time.Millisecond}
	pings := make([]atomic.Int64, len(intervals))
	start := time.Now()
	for i, d := range intervals {
		cn, sn := tcpPair(t)
		server, err := newConn(sn, false, nil, &Options{PingInterval: d}, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		client, err := newConn(cn, true, nil, &Options{OnPing: func([]byte) { pings[i].Add(1) }}, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		go readUntilError(client)
		if err := l.Add(server); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(400 * time.Millisecond)
	got := []int64{pings[0].Load(), pings[1].Load()}
	elapsed := time.Since(start) // after the counts: a ping counted came before it
	fast, slow := got[0], got[1]
	for i, d := range intervals {
		if most := int64(elapsed / d); got[i] > most {
			t.Errorf("PingInterval %v: %d pings in %v, at most %d expected", d, got[i], elapsed, most)
		}
	}
	if slow < 2 || fast <= slow {
		t.Errorf("pings: %d at 10ms, %d at 40ms; want both going, the first more often", fast, slow)
	}
}

// A Loop connection whose peer stops answering ends as one outside a
// Loop does: Code 1006, no reason, Initiator None, no Close frames, Err
// ErrHeartbeatTimeout, PongTimeout after the unanswered Ping (give or take
// a grid step).
func TestLoopHeartbeatTimeoutClose(t *testing.T) {
	const interval, timeout = 40 * time.Millisecond, 120 * time.Millisecond
	s := newLoopServer(t, &AcceptOptions{Options: Options{PingInterval: interval, PongTimeout: timeout}}, echoMessage)
	start := time.Now()
	s.upgradeRaw(t) // never reads, never answers
	lc := s.waitClose(t)
	elapsed := time.Since(start)
	var ce *CloseError
	if !errors.As(lc.err, &ce) {
		t.Fatalf("OnClose err = %v, want a *CloseError", lc.err)
	}
	got := closeView{ce.Code, ce.Reason, ce.Initiator, ce.Frames}
	if want := (closeView{frame.CloseAbnormal, "", None, NoCloseFrames}); got != want || !errors.Is(ce.Err, ErrHeartbeatTimeout) {
		t.Errorf("CloseError = %+v (Err %v), want %+v with ErrHeartbeatTimeout", got, ce.Err, want)
	}
	if elapsed < interval+timeout {
		t.Errorf("ended after %v, before the first Ping (%v) plus PongTimeout (%v)", elapsed, interval, timeout)
	}
}
