package websocket

import (
	"bytes"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hybi/websocket/internal/wstest"
)

// A Loop serving 500 healthy echo peers and one hostile peer that sends
// 64 KiB messages as fast as it can and never reads: the hostile one is
// closed with the Loop's QueueFullCode once its write queue is full, and
// the healthy ones lose nothing and keep their latency (p99 of the round
// trips while the attack runs against the p99 before it). Skipped with
// -short (501 connections, about 5 s) and under the race detector (it
// would measure itself).
func TestHostileLoopSlowAmongHealthy(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("501 connections for about 5 s, latencies")
	}
	if !netpollSupported(t) {
		return
	}
	const healthy = 500
	s := newLoopServerWith(t, &AcceptOptions{Options: Options{CloseTimeout: 500 * time.Millisecond}}, LoopOptions{
		OnMessage:       func(c *Conn, typ MessageType, p []byte) { c.WriteMessage(typ, p) },
		WriteQueueLimit: 256 << 10,
		QueueFullCode:   ClosePolicyViolation,
	})
	var clients []*Conn
	for range healthy {
		clients = append(clients, dial(t, s.url, nil))
	}
	// round runs every healthy client's echoes of 1 KiB for d and returns
	// the round trips.
	round := func(d time.Duration) ([]time.Duration, int64) {
		var mu sync.Mutex
		var rtts []time.Duration
		var errs atomic.Int64
		var wg sync.WaitGroup
		end := time.Now().Add(d)
		for i, c := range clients {
			wg.Go(func() {
				msg := bytes.Repeat([]byte{byte(i)}, 1024)
				var buf []byte
				var mine []time.Duration
				for time.Now().Before(end) {
					c.SetDeadline(time.Now().Add(5 * time.Second))
					start := time.Now()
					if err := c.WriteMessage(Binary, msg); err != nil {
						errs.Add(1)
						return
					}
					_, b, err := c.ReadMessage(buf)
					if err != nil || !bytes.Equal(b, msg) {
						errs.Add(1)
						return
					}
					buf = b
					mine = append(mine, time.Since(start))
					time.Sleep(5 * time.Millisecond)
				}
				mu.Lock()
				rtts = append(rtts, mine...)
				mu.Unlock()
			})
		}
		wg.Wait()
		slices.Sort(rtts)
		return rtts, errs.Load()
	}
	p99 := func(r []time.Duration) time.Duration {
		if len(r) == 0 {
			return 0
		}
		return r[len(r)*99/100]
	}
	before, errs := round(2 * time.Second)
	if errs > 0 {
		t.Fatalf("%d healthy clients failed before the attack", errs)
	}

	// The hostile peer.
	u := s.url[len("ws://") : len(s.url)-1]
	p := dialRaw(t, u, "")
	p.nc.(*net.TCPConn).SetReadBuffer(4 << 10)
	attack := make(chan string, 1)
	go func() {
		msg := wstest.Client(wstest.OpBinary, make([]byte, 64<<10))
		end := time.Now().Add(4 * time.Second)
		for time.Now().Before(end) {
			p.nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			if _, err := p.nc.Write(msg); err != nil && !isTimeoutErr(err) {
				attack <- fmt.Sprintf("write ended: %v", err)
				return
			}
		}
		attack <- "still open after 4 s"
	}()
	during, errs := round(2 * time.Second)
	if errs > 0 {
		t.Errorf("%d healthy clients failed during the attack", errs)
	}
	t.Logf("healthy round trips: before %d, p50 %v p99 %v; during %d, p50 %v p99 %v; attacker: %s",
		len(before), before[len(before)/2], p99(before), len(during), during[len(during)/2], p99(during), <-attack)
	if limit := max(4*p99(before), p99(before)+100*time.Millisecond); p99(during) > limit {
		t.Errorf("healthy p99 %v during the attack, over %v (p99 before %v)", p99(during), limit, p99(before))
	}
	// The hostile peer was closed with the policy's code.
	var closed error
	deadline := time.After(5 * time.Second)
	for closed == nil {
		select {
		case lc := <-s.closes:
			if lc.c.RemoteAddr().String() == p.nc.LocalAddr().String() {
				closed = lc.err
			}
		case <-deadline:
			t.Fatal("the peer that never reads was not closed")
		}
	}
	if CloseStatus(closed) != ClosePolicyViolation {
		t.Errorf("the peer that never reads was closed with %v, want 1008", closed)
	}
	for _, c := range clients {
		c.CloseNow()
	}
}
