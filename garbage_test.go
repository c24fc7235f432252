package websocket

import (
	"errors"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/hybi/websocket/internal/wstest"
)

// Whatever a peer sends, reading never panics and ends, at the latest
// when the peer's bytes run out, with a *CloseError. The inputs are
// random frames (valid headers with random flags, opcodes and payloads)
// and raw noise, from a fixed seed so failures replay.
func TestGarbageFromPeer(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		var in []byte
		if i%3 == 0 {
			in = make([]byte, rng.IntN(300))
			for j := range in {
				in[j] = byte(rng.Uint32())
			}
		} else {
			for range 1 + rng.IntN(6) {
				b0 := byte(rng.IntN(16)) // the opcode
				bits := rng.IntN(32)     // RSV1-3, masked, not final
				b0 |= byte(bits&7) << 4
				if bits&16 == 0 {
					b0 |= wstest.FIN
				}
				payload := make([]byte, rng.IntN(200))
				for j := range payload {
					payload[j] = byte(rng.Uint32())
				}
				if rng.IntN(2) == 0 {
					payload = []byte("valid text")
				}
				in = wstest.AppendFrame(in, b0, bits&8 != 0, wstest.Key, payload, 0)
			}
		}
		client := i%2 == 0
		a, b := net.Pipe()
		c, err := newConn(a, client, nil, &Options{CloseTimeout: 1}, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			b.Write(in)
			b.Close()
		}()
		var last error
		for range 1000 {
			_, _, err := c.ReadMessage(nil)
			if err != nil {
				last = err
				break
			}
		}
		var ce *CloseError
		if !errors.As(last, &ce) {
			t.Fatalf("input %d (%x): read ended with %v, want a *CloseError", i, in, last)
		}
		c.CloseNow()
	}
}
