package websocket

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// PingContext returns the round trip once the reader sees the Pong; ends
// with the context without a reader; returns the close error when the
// connection ends first; and many calls at once all return.
func TestPingContext(t *testing.T) {
	t.Run("answered", func(t *testing.T) {
		client, server := connPair(t, nil, nil)
		go readUntilError(server) // answers pings
		go readUntilError(client) // sees the pongs
		var wg sync.WaitGroup
		errs := make(chan error, 10)
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				rtt, err := client.PingContext(ctx)
				if err == nil && rtt <= 0 {
					err = errors.New("no round trip time")
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := len(client.pw.waiting); n != 0 {
			t.Errorf("%d waiters left", n)
		}
	})
	t.Run("no reader", func(t *testing.T) {
		client, server := connPair(t, nil, nil)
		go readUntilError(server)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if _, err := client.PingContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("PingContext without a reader = %v, want the context's error", err)
		}
	})
	t.Run("closed meanwhile", func(t *testing.T) {
		client, _ := connPair(t, nil, nil) // the server never answers
		go func() { time.Sleep(50 * time.Millisecond); client.CloseNow() }()
		_, err := client.PingContext(context.Background())
		var ce *CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("PingContext on a closed connection = %v, want a *CloseError", err)
		}
	})
	t.Run("loop", func(t *testing.T) {
		s := newLoopServer(t, nil, echoMessage)
		c := dial(t, s.url, nil)
		go readUntilError(c)
		server := <-s.conns
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := server.PingContext(ctx); err != nil {
			t.Fatalf("PingContext on a Loop-served Conn: %v", err)
		}
	})
}

// TestHeartbeatAlign checks the rounding of heartbeat ticks: never
// earlier than asked, later by less than a grid step (PingInterval/16),
// on a multiple of the step, and not rounded at all below a millisecond
// step.
func TestHeartbeatAlign(t *testing.T) {
	const interval = int64(1600 * time.Millisecond)
	g := interval / heartbeatGrid
	now := hbNow()
	for _, at := range []int64{now, now + 1, now + int64(37*time.Millisecond), now + interval, 5 * g, 5*g + 1, 6*g - 1} {
		got := hbAlign(at, interval)
		if got < at || got >= at+g || got%g != 0 {
			t.Errorf("hbAlign(%d) = %d, want the multiple of %d in [%d, %d)", at, got, g, at, at+g)
		}
	}
	if got := hbAlign(now+5, int64(10*time.Millisecond)); got != now+5 {
		t.Errorf("hbAlign below a 1ms step = %d, want %d unchanged", got, now+5)
	}
}
