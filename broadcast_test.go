package websocket

import (
	"encoding/binary"
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestHubSlowConsumer: one client that never reads among N; many
// broadcasts of 16 KiB. Every other client receives every message in
// order, the slow one is dropped with ErrBroadcastBacklog and closed,
// its backlog never exceeded, and the run ends in bounded time.
func TestHubSlowConsumer(t *testing.T) {
	const (
		n       = 8
		msgs    = 1500
		size    = 16 << 10
		backlog = 128
		batch   = 32 // fast readers are at most one batch behind
	)
	hub := &Hub{Backlog: backlog, StallTimeout: -1}
	dropped := make(chan error, n)
	hub.OnDrop = func(c *Conn, err error) { dropped <- err }
	clients := hubMembers(t, hub, n, &AcceptOptions{Options: Options{CloseTimeout: 500 * time.Millisecond}})
	slow := clients[0]
	received := make([]atomic.Int64, n) // messages received by each fast client
	var wg sync.WaitGroup
	for i, c := range clients[1:] {
		wg.Go(func() {
			buf := make([]byte, 0, size)
			for want := range uint64(msgs) {
				_, b, err := c.ReadMessage(buf)
				if err != nil {
					t.Errorf("client %d: message %d: %v", i+1, want, err)
					return
				}
				buf = b
				if got := binary.BigEndian.Uint64(b); got != want || len(b) != size {
					t.Errorf("client %d: got message %d (%d bytes), want %d", i+1, got, len(b), want)
					return
				}
				received[i+1].Add(1)
			}
		})
	}
	deadline := time.Now().Add(20 * time.Second)
	data := make([]byte, size)
	for i := range msgs {
		binary.BigEndian.PutUint64(data, uint64(i))
		pm, err := NewPreparedMessage(Binary, data)
		if err != nil {
			t.Fatal(err)
		}
		hub.Broadcast(pm)
		if (i+1)%batch == 0 {
			// Pace like an application would: wait until the fast
			// clients got the previous batch.
			for k := 1; k < n; k++ {
				for received[k].Load() < int64(i+1-batch) {
					if time.Now().After(deadline) {
						t.Fatalf("fast client %d stalled at %d of %d messages", k, received[k].Load(), i+1-batch)
					}
					time.Sleep(time.Millisecond)
				}
			}
		}
	}
	wg.Wait()
	select {
	case err := <-dropped:
		if !errors.Is(err, ErrBroadcastBacklog) {
			t.Errorf("slow client dropped with %v, want ErrBroadcastBacklog", err)
		}
	case <-time.After(time.Until(deadline)):
		t.Fatal("the slow client was never dropped")
	}
	if got := hub.Len(); got != n-1 {
		t.Errorf("hub holds %d connections, want %d", got, n-1)
	}
	// The slow client, reading at last, finds a prefix of the messages in
	// order, then the end of the connection.
	var got uint64
	for {
		_, b, err := slow.ReadMessage(nil)
		if err != nil {
			break
		}
		if v := binary.BigEndian.Uint64(b); v != got {
			t.Fatalf("slow client: message %d, want %d", v, got)
		}
		got++
	}
	if got >= msgs {
		t.Errorf("slow client received all %d messages: never fell behind", got)
	}
	t.Logf("slow client got %d of %d messages before it was dropped", got, msgs)
	for _, c := range clients[1:] {
		c.CloseNow()
	}
	hub.Close()
	select {
	case err := <-dropped:
		t.Errorf("a fast client was dropped: %v", err)
	default:
	}
}

// hubMembers opens n connections to a server whose goroutine-per-connection
// handlers (Upgrade with opts) join hub and read until the end, and
// returns the clients, each joined when it is returned.
func hubMembers(t *testing.T, hub *Hub, n int, opts *AcceptOptions) []*Conn {
	t.Helper()
	joined := make(chan struct{}, n)
	ln := listen(t)
	var served sync.WaitGroup
	t.Cleanup(served.Wait)
	served.Go(func() {
		for range n {
			nc, err := ln.Accept()
			if err != nil {
				t.Error(err)
				return
			}
			served.Go(func() {
				c, err := Upgrade(nc, nil, opts)
				if err != nil {
					t.Errorf("upgrade: %v", err)
					nc.Close()
					return
				}
				defer c.CloseNow()
				if err := hub.Add(c); err != nil {
					t.Error(err)
					return
				}
				joined <- struct{}{}
				for {
					if _, _, err := c.ReadMessage(nil); err != nil {
						break
					}
				}
				hub.Remove(c)
			})
		}
	})
	url := "ws://" + ln.Addr().String() + "/"
	var clients []*Conn
	for range n {
		clients = append(clients, dial(t, url, &DialOptions{Proxy: NoProxy}))
		<-joined
	}
	return clients
}

// TestHubLoop: Loop-served connections are written by Broadcast directly,
// which never blocks on them; the one that never reads fills its write
// queue and is dropped (ErrBroadcastBacklog wrapping ErrWriteQueueFull),
// the others receive every message in order.
func TestHubLoop(t *testing.T) {
	if !netpollSupported(t) {
		return
	}
	const (
		n     = 5
		msgs  = 600
		size  = 16 << 10
		batch = 8
	)
	s := newLoopServerWith(t, &AcceptOptions{Options: Options{CloseTimeout: 500 * time.Millisecond}}, LoopOptions{
		OnMessage:       func(c *Conn, typ MessageType, p []byte) {},
		Pollers:         1,
		WriteQueueLimit: 256 << 10,
	})
	hub := &Hub{}
	dropped := make(chan error, n)
	hub.OnDrop = func(c *Conn, err error) { dropped <- err }
	var clients []*Conn
	for range n {
		c := dial(t, s.url, nil)
		clients = append(clients, c)
		if err := hub.Add(<-s.conns); err != nil {
			t.Fatal(err)
		}
	}
	clients[0].nc.(*net.TCPConn).SetReadBuffer(4 << 10) // never read
	received := make([]atomic.Int64, n)
	var wg sync.WaitGroup
	for i, c := range clients[1:] {
		wg.Go(func() {
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			for want := range uint64(msgs) {
				_, b, err := c.ReadMessage(nil)
				if err != nil {
					t.Errorf("client %d: message %d: %v", i+1, want, err)
					return
				}
				if got := binary.BigEndian.Uint64(b); got != want {
					t.Errorf("client %d: got message %d, want %d", i+1, got, want)
					return
				}
				received[i+1].Add(1)
			}
		})
	}
	deadline := time.Now().Add(20 * time.Second)
	var slowest time.Duration
	data := make([]byte, size)
	for i := range msgs {
		binary.BigEndian.PutUint64(data, uint64(i))
		pm, err := NewPreparedMessage(Binary, data)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		hub.Broadcast(pm)
		slowest = max(slowest, time.Since(start))
		if (i+1)%batch == 0 {
			for k := 1; k < n; k++ {
				for received[k].Load() < int64(i+1-batch) {
					if time.Now().After(deadline) {
						t.Fatalf("fast client %d stalled at %d of %d messages", k, received[k].Load(), i+1-batch)
					}
					time.Sleep(time.Millisecond)
				}
			}
		}
	}
	wg.Wait()
	select {
	case err := <-dropped:
		if !errors.Is(err, ErrBroadcastBacklog) || !errors.Is(err, ErrWriteQueueFull) {
			t.Errorf("slow client dropped with %v, want ErrBroadcastBacklog and ErrWriteQueueFull", err)
		}
	case <-time.After(time.Until(deadline)):
		t.Fatal("the slow client was never dropped")
	}
	if got := hub.Len(); got != n-1 {
		t.Errorf("hub holds %d connections, want %d", got, n-1)
	}
	if slowest > time.Second {
		t.Errorf("a Broadcast took %v: it waited for a connection", slowest)
	}
	t.Logf("slowest Broadcast %v", slowest)
	hub.Close()
}

// With more Loop-served members than hubParallelMin per core, Broadcast
// writes from several goroutines: every member still gets every message,
// in order, and a member that was closed is dropped with its error.
func TestHubLoopParallel(t *testing.T) {
	if !netpollSupported(t) {
		return
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	const n, msgs = 2*hubParallelMin + 100, 5
	s := newLoopServer(t, nil, func(c *Conn, typ MessageType, p []byte) {})
	hub := &Hub{}
	dropped := make(chan error, n)
	hub.OnDrop = func(c *Conn, err error) { dropped <- err }
	var clients []*Conn
	var gone *Conn
	for i := range n {
		c := dial(t, s.url, &DialOptions{Proxy: NoProxy})
		clients = append(clients, c)
		sc := <-s.conns
		if err := hub.Add(sc); err != nil {
			t.Fatal(err)
		}
		if i == n/2 {
			gone = sc
		}
	}
	gone.CloseNow()
	for i := range msgs {
		pm, err := NewPreparedMessage(Binary, []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		if got := hub.Broadcast(pm); got != n-1 {
			t.Errorf("broadcast %d reached %d members, want %d", i, got, n-1)
		}
	}
	select {
	case err := <-dropped:
		if err == nil {
			t.Error("the closed member was dropped without an error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the closed member was not dropped")
	}
	for i, c := range clients {
		if i == n/2 {
			continue
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		for want := range msgs {
			_, b, err := c.ReadMessage(nil)
			if err != nil || len(b) != 1 || int(b[0]) != want {
				t.Fatalf("client %d: message %d: % x, %v", i, want, b, err)
			}
		}
	}
}

// TestHubIdleMembers: a member not served by a Loop holds no goroutine
// while it has nothing to write: a writer runs only while its backlog is
// not empty (a plain socket that takes the message at once needs none),
// and every broadcast still reaches every member in order.
func TestHubIdleMembers(t *testing.T) {
	const n, msgs = 20, 3
	hub := &Hub{}
	defer hub.Close()
	before := runtime.NumGoroutine()
	clients := hubMembers(t, hub, n, nil)
	// Every goroutine now exists: a reader per server connection, and no
	// writer of the hub's (the accepting goroutine has ended).
	if g := runtime.NumGoroutine() - before; g > n {
		t.Fatalf("%d goroutines for %d idle members, each with its reader: the hub holds goroutines for idle members", g, n)
	}
	settle := func(want int) int {
		deadline := time.Now().Add(5 * time.Second)
		for {
			g := runtime.NumGoroutine()
			if g <= want || time.Now().After(deadline) {
				return g
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// Their sockets are written directly while they take the messages.
	hub.mu.Lock()
	for c, m := range hub.members {
		if rawIO && m.rc == nil {
			t.Errorf("member %p: no raw socket, so every broadcast to it starts a writer goroutine", c)
		}
	}
	hub.mu.Unlock()
	idle := runtime.NumGoroutine()
	for i := range msgs {
		pm, err := NewPreparedMessage(Binary, []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		if got := hub.Broadcast(pm); got != n {
			t.Fatalf("broadcast %d reached %d of %d members", i, got, n)
		}
		for k, c := range clients {
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, b, err := c.ReadMessage(nil)
			if err != nil || len(b) != 1 || b[0] != byte(i) {
				t.Fatalf("client %d, broadcast %d: got %x, %v", k, i, b, err)
			}
		}
		if g := settle(idle); g > idle {
			t.Fatalf("after broadcast %d: %d goroutines, %d before it: the hub's writers did not end", i, g, idle)
		}
	}
	if got := hub.Len(); got != n {
		t.Errorf("hub holds %d members, want %d", got, n)
	}
}

// TestHubBusyMember: a broadcast to a member whose application is in the
// middle of a message of its own cannot be written directly: it waits in
// the member's backlog and follows that message, whole and in order.
func TestHubBusyMember(t *testing.T) {
	ln := listen(t)
	accepted := make(chan *Conn, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			t.Error(err)
			return
		}
		c, err := Upgrade(nc, nil, nil)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			nc.Close()
			return
		}
		accepted <- c
	}()
	client := dial(t, "ws://"+ln.Addr().String()+"/", &DialOptions{Proxy: NoProxy})
	server := <-accepted
	defer server.CloseNow()
	hub := &Hub{}
	defer hub.Close()
	if err := hub.Add(server); err != nil {
		t.Fatal(err)
	}
	w, err := server.NextWriter(Text)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("first ")); err != nil {
		t.Fatal(err)
	}
	pm, err := NewPreparedMessage(Binary, []byte("broadcast"))
	if err != nil {
		t.Fatal(err)
	}
	if got := hub.Broadcast(pm); got != 1 {
		t.Fatalf("broadcast reached %d members, want 1", got)
	}
	if _, err := w.Write([]byte("message")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	for _, want := range []struct {
		typ MessageType
		msg string
	}{{Text, "first message"}, {Binary, "broadcast"}} {
		typ, b, err := client.ReadMessage(nil)
		if err != nil || typ != want.typ || string(b) != want.msg {
			t.Fatalf("got %v %q, %v; want %v %q", typ, b, err, want.typ, want.msg)
		}
	}
}
