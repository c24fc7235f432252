package websocket

import (
	"bytes"
	"encoding/binary"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestHubBurstKeepsReaders: a burst broadcast in a tight loop, far larger
// than Backlog (3,000 messages of 10 KiB, 30 MB, against 256), while the
// clients have not started reading yet, reaches every client once they
// read, whole and in order: a connection is behind only when it stalls
// for StallTimeout, not because a burst outran it (a new user's chat
// program lost all five of its readers to a burst before).
func TestHubBurstKeepsReaders(t *testing.T) {
	const (
		n    = 5
		msgs = 3000
		size = 10 << 10
	)
	hub := &Hub{}
	hub.OnDrop = func(c *Conn, err error) { t.Errorf("a client was dropped: %v", err) }
	clients := hubMembers(t, hub, n, nil)
	pms := make([]*PreparedMessage, msgs)
	data := make([]byte, size)
	for i := range pms {
		binary.BigEndian.PutUint64(data, uint64(i))
		var err error
		if pms[i], err = NewPreparedMessage(Binary, data); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	for i, pm := range pms {
		if got := hub.Broadcast(pm); got != n {
			t.Fatalf("broadcast %d reached %d connections, want %d", i, got, n)
		}
	}
	t.Logf("%d broadcasts in %v", msgs, time.Since(start))
	deadline := time.Now().Add(60 * time.Second)
	var wg sync.WaitGroup
	for i, c := range clients {
		c.SetReadDeadline(deadline)
		wg.Go(func() {
			buf := make([]byte, 0, size)
			for want := range uint64(msgs) {
				_, b, err := c.ReadMessage(buf)
				if err != nil {
					t.Errorf("client %d: message %d: %v", i, want, err)
					return
				}
				buf = b
				if got := binary.BigEndian.Uint64(b); got != want || len(b) != size {
					t.Errorf("client %d: got message %d (%d bytes), want %d", i, got, len(b), want)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := hub.Len(); got != n {
		t.Errorf("hub holds %d connections, want %d", got, n)
	}
	for _, c := range clients {
		c.CloseNow()
	}
	hub.Close()
}

// TestHubStalledDropped: a client that never reads, among two that do,
// is dropped once its backlog is full and it has finished no write for
// StallTimeout; the readers get every message.
func TestHubStalledDropped(t *testing.T) {
	const (
		size  = 16 << 10
		stall = 200 * time.Millisecond
	)
	hub := &Hub{Backlog: 16, StallTimeout: stall}
	dropped := make(chan error, 3)
	hub.OnDrop = func(c *Conn, err error) { dropped <- err }
	clients := hubMembers(t, hub, 3, &AcceptOptions{Options: Options{CloseTimeout: 500 * time.Millisecond}})
	slow := clients[0]
	var sent sync.WaitGroup
	sent.Add(1)
	total := make(chan uint64, 1)
	var wg sync.WaitGroup
	for i, c := range clients[1:] {
		wg.Go(func() {
			var got uint64
			for {
				_, b, err := c.ReadMessage(nil)
				if err != nil {
					t.Errorf("reader %d: %v after %d messages", i, err, got)
					return
				}
				if len(b) == 1 { // the end mark
					break
				}
				if v := binary.BigEndian.Uint64(b); v != got {
					t.Errorf("reader %d: message %d, want %d", i, v, got)
					return
				}
				got++
			}
			sent.Wait()
			if want := <-total; got != want {
				t.Errorf("reader %d got %d messages, want %d", i, got, want)
			}
			total <- got
		})
	}
	deadline := time.Now().Add(30 * time.Second)
	start := time.Now()
	data := make([]byte, size)
	var i uint64
	var err error
loop:
	for ; time.Now().Before(deadline); i++ {
		binary.BigEndian.PutUint64(data, i)
		pm, perr := NewPreparedMessage(Binary, data)
		if perr != nil {
			t.Fatal(perr)
		}
		hub.Broadcast(pm)
		select {
		case err = <-dropped:
			i++
			break loop
		case <-time.After(time.Millisecond):
		}
	}
	if err == nil {
		t.Fatalf("the stalled client was not dropped after %d broadcasts", i)
	}
	if !errors.Is(err, ErrBroadcastBacklog) {
		t.Errorf("dropped with %v, want ErrBroadcastBacklog", err)
	}
	if d := time.Since(start); d < stall {
		t.Errorf("dropped after %v, before StallTimeout (%v) could pass", d, stall)
	}
	end, _ := NewPreparedMessage(Binary, []byte{0})
	if got := hub.Broadcast(end); got != 2 {
		t.Errorf("the end mark reached %d connections, want the 2 readers", got)
	}
	total <- i
	sent.Done()
	wg.Wait()
	// The stalled client, reading at last, finds a prefix in order and
	// then the end of the connection.
	var got uint64
	for {
		_, b, err := slow.ReadMessage(nil)
		if err != nil {
			// 1008 if the hub's Close frame got through the full
			// socket within CloseTimeout, else the end of TCP.
			t.Logf("stalled client: %v", err)
			break
		}
		if v := binary.BigEndian.Uint64(b); v != got {
			t.Fatalf("stalled client: message %d, want %d", v, got)
		}
		got++
	}
	if got >= i {
		t.Errorf("stalled client received all %d messages", got)
	}
	t.Logf("%d broadcasts; the stalled client got %d before it was dropped after %v", i, got, time.Since(start).Round(time.Millisecond))
	for _, c := range clients {
		c.CloseNow()
	}
	hub.Close()
}

// TestHubBacklogBytes: MaxBacklogBytes bounds a member's backlog whatever
// its progress: a client that never reads is dropped when the next
// message would pass it, long before StallTimeout, and its backlog never
// held more.
func TestHubBacklogBytes(t *testing.T) {
	const limit = 1 << 20
	hub := &Hub{StallTimeout: time.Hour, MaxBacklogBytes: limit}
	dropped := make(chan error, 1)
	hub.OnDrop = func(c *Conn, err error) { dropped <- err }
	clients := hubMembers(t, hub, 1, &AcceptOptions{Options: Options{CloseTimeout: 500 * time.Millisecond}})
	pm, err := NewPreparedMessage(Binary, bytes.Repeat([]byte{7}, 64<<10))
	if err != nil {
		t.Fatal(err)
	}
	most := 0
	for i := 0; i < 4000 && hub.Len() == 1; i++ {
		hub.Broadcast(pm)
		hub.mu.Lock()
		for _, m := range hub.members {
			m.mu.Lock()
			most = max(most, int(m.bytes))
			m.mu.Unlock()
		}
		hub.mu.Unlock()
	}
	select {
	case err := <-dropped:
		if !errors.Is(err, ErrBroadcastBacklog) {
			t.Errorf("dropped with %v, want ErrBroadcastBacklog", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the client that never reads was not dropped")
	}
	if most > limit || most == 0 {
		t.Errorf("the backlog held at most %d bytes, want some and at most %d", most, limit)
	}
	clients[0].CloseNow()
	hub.Close()
}
