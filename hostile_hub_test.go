package websocket

import (
	"bytes"
	"errors"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"
)

// 400 connections that upgrade and never read while a Hub broadcasts 300
// messages of 16 KiB (4.7 MiB to each) over 1.5 s, with a StallTimeout of
// 200 ms: every one is dropped with
// ErrBroadcastBacklog and closed, the process's heap stays near one copy
// of the messages (they are shared PreparedMessages, not copied per
// connection), and no goroutine is left once the drops are done. Socket
// buffers are kept small so that the kernel holds little of it. Skipped
// with -short.
func TestHostileHubNeverReaders(t *testing.T) {
	if testing.Short() {
		t.Skip("400 connections")
	}
	const n, msgs, size = 400, 300, 16 << 10
	baseG := runtime.NumGoroutine()
	hub := &Hub{Backlog: 16, StallTimeout: 200 * time.Millisecond}
	var mu sync.Mutex
	var drops []error
	dropped := make(chan struct{}, n)
	hub.OnDrop = func(c *Conn, err error) {
		mu.Lock()
		drops = append(drops, err)
		mu.Unlock()
		dropped <- struct{}{}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var served sync.WaitGroup
	joined := make(chan struct{}, n)
	served.Go(func() {
		for range n {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			nc.(*net.TCPConn).SetWriteBuffer(8 << 10)
			served.Go(func() {
				c, err := Upgrade(nc, nil, &AcceptOptions{Options: Options{CloseTimeout: 300 * time.Millisecond}})
				if err != nil {
					nc.Close()
					return
				}
				defer c.CloseNow()
				hub.Add(c)
				joined <- struct{}{}
				for {
					if _, _, err := c.ReadMessage(nil); err != nil {
						return
					}
				}
			})
		}
	})
	var peers []net.Conn
	for range n {
		p := dialRaw(t, ln.Addr().String(), "")
		p.nc.(*net.TCPConn).SetReadBuffer(4 << 10)
		peers = append(peers, p.nc)
		<-joined
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	baseHeap := ms.HeapInuse
	peakHeap := baseHeap
	payload := bytes.Repeat([]byte("b"), size)
	for i := range msgs {
		payload[0] = byte(i)
		pm, err := NewPreparedMessage(Binary, payload)
		if err != nil {
			t.Fatal(err)
		}
		hub.Broadcast(pm)
		time.Sleep(5 * time.Millisecond) // 1.5 s in all, past StallTimeout
		if i%30 == 0 {
			runtime.ReadMemStats(&ms)
			peakHeap = max(peakHeap, ms.HeapInuse)
		}
	}
	deadline := time.After(20 * time.Second)
	for range n {
		select {
		case <-dropped:
		case <-deadline:
			mu.Lock()
			t.Fatalf("%d of %d never-readers dropped after 20 s", len(drops), n)
		}
		runtime.ReadMemStats(&ms)
		peakHeap = max(peakHeap, ms.HeapInuse)
	}
	for _, err := range drops {
		if !errors.Is(err, ErrBroadcastBacklog) {
			t.Errorf("dropped with %v, want ErrBroadcastBacklog", err)
			break
		}
	}
	growth := int64(peakHeap) - int64(baseHeap)
	t.Logf("%d dropped; heap in use %.1f MiB -> peak %.1f MiB (%d messages of %d KiB broadcast)",
		len(drops), float64(baseHeap)/(1<<20), float64(peakHeap)/(1<<20), msgs, size>>10)
	if limit := int64(2*msgs*size + 32<<20); growth > limit {
		t.Errorf("heap grew by %.1f MiB, want at most %.1f MiB", float64(growth)/(1<<20), float64(limit)/(1<<20))
	}
	for _, p := range peers {
		p.Close()
	}
	ln.Close()
	served.Wait()
	hub.Close()
	// Nothing left: writers and closers ended.
	for end := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > baseG+5 && time.Now().Before(end); {
		time.Sleep(50 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > baseG+5 {
		t.Errorf("%d goroutines left, %d before", g, baseG)
	}
}
