package websocket

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/hybi/websocket/internal/wstest"
)

// TestPingFloodReadContext: TestHostilePingFloodReadDeadline for the
// context-taking reads. A peer floods Pings and never reads the Pongs; a
// ReadMessageContext bounded by a 1 s context, with a deadline or only
// cancelled, must return when the context ends, although the reader is
// writing Pongs into a full socket: the context bounds those writes as
// the read deadline does. Before, neither returned in 5 s.
func TestPingFloodReadContext(t *testing.T) {
	for _, mode := range []string{"deadline", "cancel"} {
		t.Run(mode, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			type outcome struct {
				err  error
				took time.Duration
			}
			out := make(chan outcome, 1)
			go func() {
				nc, err := ln.Accept()
				if err != nil {
					return
				}
				c, err := Upgrade(nc, nil, &AcceptOptions{Options: Options{CloseTimeout: 500 * time.Millisecond}})
				if err != nil {
					nc.Close()
					return
				}
				defer c.CloseNow()
				ctx, cancel := context.WithCancel(context.Background())
				if mode == "deadline" {
					ctx, cancel = context.WithTimeout(context.Background(), time.Second)
				} else {
					time.AfterFunc(time.Second, cancel)
				}
				defer cancel()
				start := time.Now()
				_, _, err = c.ReadMessageContext(ctx, nil)
				out <- outcome{err, time.Since(start)}
			}()
			p := dialRaw(t, ln.Addr().String(), "")
			ping := wstest.Client(wstest.OpPing, bytes.Repeat([]byte("p"), 125))
			b := bytes.Repeat(ping, 100)
			deadline := time.Now().Add(5 * time.Second)
			for sent := 0; time.Now().Before(deadline) && sent < 200000; {
				p.nc.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
				n, err := p.nc.Write(b)
				sent += n / len(ping)
				if err != nil {
					t.Logf("%d Pings sent before the server stopped taking them", sent)
					break
				}
			}
			select {
			case r := <-out:
				if !errors.Is(r.err, context.DeadlineExceeded) && !errors.Is(r.err, context.Canceled) || r.took > 3*time.Second {
					t.Fatalf("ReadMessageContext with a 1 s context: %v after %v", r.err, r.took)
				}
				t.Logf("ReadMessageContext: %v after %v", r.err, r.took.Round(time.Millisecond))
			case <-time.After(6 * time.Second):
				t.Fatal("ReadMessageContext with a 1 s context did not return: the reader is stuck writing Pongs to a peer that does not read")
			}
		})
	}
}
