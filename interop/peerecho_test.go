package interop

import (
	"context"
	"testing"
	"time"

	websocket "github.com/hybi/websocket"
	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/interop/peers"
)

// TestPeerEcho checks the echo servers cmd/peerecho runs for the Autobahn
// cross-check: hybi dials each one, echoes text (in fragments cutting code
// points) and binary, gets its Ping answered with the same payload, and
// completes the closing handshake.
func TestPeerEcho(t *testing.T) {
	for _, l := range peers.Libs() {
		t.Run(l.Name, func(t *testing.T) {
			addr := serve(t, l.Echo)
			ctx, cancel := context.WithTimeout(context.Background(), peers.ScenarioTimeout)
			defer cancel()
			pongs := make(chan string, 1)
			o := &websocket.DialOptions{Proxy: websocket.NoProxy}
			o.FragmentSize = peers.FragmentSize
			o.CloseTimeout = 5 * time.Second
			o.OnPong = func(p []byte) {
				select {
				case pongs <- string(p):
				default:
				}
			}
			c, _, err := websocket.Dial(ctx, "ws://"+addr+"/", o)
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer c.CloseNow()
			if err := c.Ping([]byte(peers.HybiPing)); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			echo(t, c, websocket.Binary, peers.Payload(true, 1<<20))
			w, err := c.NextWriter(websocket.Text)
			if err != nil {
				t.Fatalf("NextWriter: %v", err)
			}
			if _, err := w.Write(peers.UTF8Payload()); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if err := w.Close(); err != nil {
				t.Fatalf("writer Close: %v", err)
			}
			expectMessage(t, c, websocket.Text, peers.UTF8Payload())
			select {
			case p := <-pongs:
				if p != peers.HybiPing {
					t.Errorf("pong %q, want %q", p, peers.HybiPing)
				}
			default:
				t.Errorf("no pong to the ping sent before two echoed messages")
			}
			if err := c.Close(frame.CloseNormal, ""); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}
