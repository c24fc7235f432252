package websocket

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hybi/websocket/internal/wstest"
)

// The end of a connection racing everything else: a hostile peer sends
// bursts of every kind of frame (data whole and fragmented, Pings, Pongs
// answering every PingContext, a Close somewhere) while the application
// writes, pings, waits for Pongs and ends the connection with Close or
// CloseNow at a random moment. Nothing may panic, deadlock or leak (the
// package's TestMain checks leftover goroutines); every call returns.
// Bounded: 60 connections per server, a few hundred KiB each.
func TestHostileChaosAtEnd(t *testing.T) {
	t.Run("goroutine", func(t *testing.T) { chaosAtEnd(t, nil) })
	t.Run("loop", func(t *testing.T) {
		l, err := NewLoop(&LoopOptions{OnMessage: func(c *Conn, typ MessageType, p []byte) { c.WriteMessage(typ, p) }})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		chaosAtEnd(t, l)
	})
}

func chaosBurst(rng *rand.Rand) []byte {
	var b []byte
	for range 200 {
		switch rng.IntN(8) {
		case 0:
			b = append(b, wstest.Client(wstest.OpPing, []byte("p"))...)
		case 1:
			b = append(b, wstest.Client(wstest.OpPong, binary.BigEndian.AppendUint64([]byte(pingPrefix), 1<<63))...)
		case 2:
			b = append(b, wstest.Client(wstest.OpPong, nil)...)
		case 3:
			b = wstest.AppendFrame(b, wstest.OpText, true, wstest.Key, []byte("frag"), 0)
			b = append(b, wstest.Client(wstest.OpPing, nil)...)
			b = wstest.AppendFrame(b, wstest.FIN|wstest.OpContinuation, true, wstest.Key, []byte("ment"), 0)
		case 4:
			if rng.IntN(20) == 0 {
				b = append(b, wstest.Client(wstest.OpClose, closePayload(1000, "bye"))...)
			}
		default:
			b = append(b, wstest.Client(wstest.OpBinary, make([]byte, rng.IntN(2000)))...)
		}
	}
	return b
}

func chaosAtEnd(t *testing.T, l *Loop) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for round := range 60 {
		rng := rand.New(rand.NewPCG(uint64(round), 7))
		srv := make(chan *Conn, 1)
		go func() {
			defer close(srv)
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			c, err := Upgrade(nc, nil, &AcceptOptions{Options: Options{CloseTimeout: 200 * time.Millisecond, PingInterval: 20 * time.Millisecond, PongTimeout: 100 * time.Millisecond}})
			if err != nil {
				nc.Close()
				return
			}
			srv <- c
		}()
		p := dialRaw(t, ln.Addr().String(), "")
		c := <-srv
		if c == nil {
			t.Fatal("upgrade failed")
		}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		if l != nil {
			if err := l.Add(c); err != nil {
				t.Fatal(err)
			}
		} else {
			wg.Go(func() {
				var buf []byte
				for {
					typ, m, err := c.ReadMessage(buf)
					if err != nil {
						return
					}
					buf = m
					c.WriteMessage(typ, m)
				}
			})
		}
		for k := range 4 {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					var err error
					switch (k + i) % 3 {
					case 0:
						ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
						_, err = c.PingContext(ctx)
						cancel()
						if err == context.DeadlineExceeded {
							err = nil
						}
					case 1:
						err = c.Ping([]byte("app"))
					case 2:
						c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
						err = c.WriteMessage(Binary, []byte("app message"))
						if isTimeout(err) {
							err = nil
						}
					}
					if err != nil {
						return
					}
				}
			})
		}
		burst := chaosBurst(rng)
		wg.Go(func() { // the attacker reads whatever comes, so writes flow
			p.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 32<<10)
			for {
				if _, err := p.nc.Read(buf); err != nil {
					return
				}
			}
		})
		wg.Go(func() {
			for range 5 {
				p.nc.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := p.nc.Write(burst); err != nil {
					return
				}
			}
		})
		time.Sleep(time.Duration(rng.IntN(15)) * time.Millisecond)
		switch rng.IntN(3) {
		case 0:
			c.CloseNow()
		case 1:
			c.Close(CloseGoingAway, "chaos")
		case 2:
			go c.Close(CloseNormal, "")
			c.CloseNow()
		}
		close(stop)
		p.nc.Close()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: calls still running 10 s after the end", round)
		}
	}
}
