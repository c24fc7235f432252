package websocket

import (
	"bytes"
	"errors"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hybi/websocket/internal/wstest"
)

// A peer that floods a Loop with Pings and never reads the Pongs must not
// make the Loop hold more than a constant number of goroutines per
// connection (DESIGN.md, decision 9). Pongs coalesce in the state machine;
// what the socket does not take is written by at most one goroutine per
// connection.
func TestLoopPingFlood(t *testing.T) {
	const conns, pings = 20, 100000
	s := newLoopServer(t, nil, echoMessage)
	base := runtime.NumGoroutine()
	ping := wstest.Client(wstest.OpPing, bytes.Repeat([]byte("p"), 125)) // the largest pong: buffers fill sooner
	var ncs []net.Conn
	for range conns {
		nc := s.upgradeRaw(t)
		nc.(*net.TCPConn).SetReadBuffer(4 << 10) // never read: the server's pongs pile up
		ncs = append(ncs, nc)
	}
	// One Ping per write, from a goroutine per connection, as a flooding
	// client would: each arrives on its own and is answered on its own.
	var peak, throttled atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(30 * time.Second)
	for _, nc := range ncs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < pings && time.Now().Before(stop); i++ {
				nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
				if _, err := nc.Write(ping); err != nil {
					// TCP stops this peer once the server's unread
					// pongs fill the windows: the flood is throttled
					// (a timeout), never a reason to grow the server.
					if !errors.Is(err, os.ErrDeadlineExceeded) {
						t.Errorf("flood write: %v", err)
					}
					throttled.Add(1)
					return
				}
				if i%1000 == 0 {
					if g := int64(runtime.NumGoroutine() - base - conns); g > peak.Load() {
						peak.Store(g)
					}
				}
			}
		}()
	}
	wg.Wait()
	time.Sleep(200 * time.Millisecond)
	if g := int64(runtime.NumGoroutine() - base); g > peak.Load() {
		peak.Store(g)
	}
	t.Logf("%d connections × up to %d pings (%d throttled by TCP): peak %d server goroutines", conns, pings, throttled.Load(), peak.Load())
	if peak.Load() > 2*conns {
		t.Errorf("%d server goroutines for %d flooding connections, want at most %d (a constant per connection)", peak.Load(), conns, 2*conns)
	}
	// The Loop still serves everyone else: a new client's echo comes back.
	c := dial(t, s.url, nil)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := c.WriteMessage(Text, []byte("still served")); err != nil {
		t.Fatal(err)
	}
	if _, b, err := c.ReadMessage(nil); err != nil || string(b) != "still served" {
		t.Fatalf("echo during the flood: %q, %v", b, err)
	}
	for _, nc := range ncs {
		nc.Close()
	}
}
