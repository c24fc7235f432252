package websocket

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/mask"
)

// A client's frames are masked with keys from its own KeySource and, when
// small, built in its own buffer (clientWrite): every frame on the wire is
// masked, no two frames share a key, and every payload unmasks to what was
// written, across sizes on both sides of the small-frame limit and with
// control frames between the messages. (Random 32-bit keys collide among
// these 321 frames with a probability of about 1e-5.)
func TestClientWriteKeys(t *testing.T) {
	sizes := []int{0, 1, 16, 125, clientSmall - frame.MaxHeaderSize, clientSmall - frame.MaxHeaderSize + 1, 1000}
	const rounds = 40
	type got struct {
		op      frame.Opcode
		key     mask.Key
		masked  bool
		payload []byte
	}
	frames := make(chan []got, 1)
	url := rawServe(t, func(nc net.Conn, br *bufio.Reader) {
		fr := frame.NewReader(br)
		var all []got
		for {
			h, err := fr.ReadHeader()
			if err != nil {
				break
			}
			p := make([]byte, h.Length)
			if _, err := io.ReadFull(br, p); err != nil {
				break
			}
			if h.Masked {
				mask.Apply(h.Key, 0, p)
			}
			all = append(all, got{h.Opcode, h.Key, h.Masked, p})
			if h.Opcode == frame.OpClose {
				nc.Write([]byte{0x88, 0x02, 0x03, 0xe8})
				break
			}
		}
		frames <- all
	})
	c := dial(t, url, nil)
	var want [][]byte
	for r := range rounds {
		for _, n := range sizes {
			p := bytes.Repeat([]byte{byte(r + n)}, n)
			if err := c.WriteMessage(Binary, p); err != nil {
				t.Fatalf("WriteMessage(%d bytes): %v", n, err)
			}
			want = append(want, p)
		}
		if err := c.Ping([]byte(fmt.Sprint(r))); err != nil {
			t.Fatal(err)
		}
	}
	c.Close(frame.CloseNormal, "")
	all := <-frames
	keys := map[mask.Key]int{}
	var data [][]byte
	for i, f := range all {
		if !f.masked {
			t.Fatalf("frame %d (%v) is not masked", i, f.op)
		}
		if j, ok := keys[f.key]; ok {
			t.Errorf("frames %d and %d share the masking key %x", j, i, f.key)
		}
		keys[f.key] = i
		if f.op == frame.OpBinary {
			data = append(data, f.payload)
		}
	}
	if len(data) != len(want) {
		t.Fatalf("%d data frames arrived, want %d", len(data), len(want))
	}
	for i := range want {
		if !bytes.Equal(data[i], want[i]) {
			t.Fatalf("message %d: %d bytes unmasked to %x..., want %x...", i, len(data[i]), data[i][:min(8, len(data[i]))], want[i][:min(8, len(want[i]))])
		}
	}
	if n := rounds*(len(sizes)+1) + 1; len(all) != n {
		t.Errorf("%d frames arrived, want %d (messages, pings and the Close)", len(all), n)
	}
}
