package websocket

import (
	"errors"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/hybi/websocket/frame"
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
				op := frame.Opcode(rng.IntN(16))
				flags := frame.Flags(rng.IntN(32))
				payload := make([]byte, rng.IntN(200))
				for j := range payload {
					payload[j] = byte(rng.Uint32())
				}
				if rng.IntN(2) == 0 {
					payload = []byte("valid text")
				}
				in = rawFrameKey(in, op, flags, payload)
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

func rawFrameKey(dst []byte, op frame.Opcode, flags frame.Flags, payload []byte) []byte {
	h := frame.NewHeader(op, flags, [4]byte{1, 2, 3, 4}, int64(len(payload)))
	return frame.AppendFrame(dst, h, payload)
}
