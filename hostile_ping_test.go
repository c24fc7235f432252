package websocket

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hybi/websocket/internal/wstest"
)

// A Pong processed after the connection ended (the reader still had it
// buffered) must not touch the PingContext waiters the end already woke:
// it closed their channels a second time, a panic that took down the
// whole process.
func TestHostilePongAfterEnd(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	c, err := newConn(a, false, nil, &Options{CloseTimeout: 1}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	// A PingContext call waiting for the Pong of Ping 1.
	ch := make(chan struct{})
	c.pw = &pingWaiters{next: 1, waiting: map[uint64]chan struct{}{1: ch}}
	c.CloseNow() // endPings wakes it and leaves it listed
	select {
	case <-ch:
	default:
		t.Fatal("the end did not wake the waiter")
	}
	c.pong(binary.BigEndian.AppendUint64([]byte(pingPrefix), 1<<63))
	if !c.pongFor(1) {
		t.Error("a Pong after the end unlisted the waiter: its PingContext would report success on an ended connection")
	}
}

// The same as a hostile peer makes it happen: bursts of Pongs answering
// every possible Ping arrive while PingContext calls are waiting and the
// application ends the connection. Bounded: 40 connections, 2,000 Pongs
// of 20 bytes per burst, 10 bursts each.
func TestHostilePongFloodAtEnd(t *testing.T) {
	t.Run("goroutine", func(t *testing.T) { pongFloodAtEnd(t, nil) })
	t.Run("loop", func(t *testing.T) {
		l, err := NewLoop(&LoopOptions{OnMessage: func(*Conn, MessageType, []byte) {}})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		pongFloodAtEnd(t, l)
	})
}

func pongFloodAtEnd(t *testing.T, l *Loop) {
	pong := wstest.Client(wstest.OpPong, binary.BigEndian.AppendUint64([]byte(pingPrefix), 1<<63))
	burst := bytes.Repeat(pong, 2000)
	for round := range 40 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := make(chan *Conn, 1)
		go func() {
			defer close(srv)
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			if c, err := Upgrade(nc, nil, nil); err == nil {
				srv <- c
			} else {
				nc.Close()
			}
		}()
		p := dialRaw(t, ln.Addr().String(), "")
		c := <-srv
		ln.Close()
		if c == nil {
			t.Fatal("upgrade failed")
		}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range 8 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
					_, err := c.PingContext(ctx)
					cancel()
					if err != nil && !errors.Is(err, context.DeadlineExceeded) {
						return
					}
				}
			})
		}
		if l != nil {
			if err := l.Add(c); err != nil {
				t.Fatal(err)
			}
		} else {
			wg.Go(func() {
				for {
					if _, _, err := c.ReadMessage(nil); err != nil {
						return
					}
				}
			})
		}
		wg.Go(func() {
			for range 10 {
				p.nc.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := p.nc.Write(burst); err != nil {
					return
				}
			}
		})
		time.Sleep(time.Duration(round%10) * time.Millisecond)
		c.CloseNow()
		close(stop)
		p.nc.Close()
		wg.Wait()
	}
}
