package websocket

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/mask"
)

// The read side switches between the inline buffer (quiet connection), a
// pooled read buffer (busy connection) and direct reads into the message;
// messages of every size around those boundaries, sent in bursts and
// after pauses and cut at random points on the wire, arrive intact through
// ReadMessage and NextReader alike.
func TestReadBufferTransitions(t *testing.T) {
	sizes := []int{0, 1, 100, inlineRead - 7, inlineRead - 6, inlineRead, inlineRead + 1, 1000,
		minDirect - 1, minDirect, DefaultReadBufferSize - 14, DefaultReadBufferSize, DefaultReadBufferSize + 1, 20000, 70000}
	for _, readBufferSize := range []int{0, 512} {
		t.Run("ReadBufferSize="+strconv.Itoa(readBufferSize), func(t *testing.T) {
			cn, sn := tcpPair(t)
			server, err := newConn(sn, false, nil, &Options{ReadBufferSize: readBufferSize}, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { server.CloseNow() })
			rng := rand.New(rand.NewPCG(7, uint64(readBufferSize)))
			var msgs [][]byte
			var wire []byte
			for range 200 {
				p := make([]byte, sizes[rng.IntN(len(sizes))])
				for i := range p {
					p[i] = byte(rng.Uint32())
				}
				msgs = append(msgs, p)
				key := mask.Key{byte(rng.Uint32()), 1, 2, 3}
				wire = frame.AppendFrame(wire, frame.NewHeader(frame.OpBinary, frame.Mask, key, 0), p)
			}
			// Write in random pieces: bursts of several pieces, then a
			// pause so that the reader finds the socket empty.
			go func() {
				wrng := rand.New(rand.NewPCG(8, 9))
				for len(wire) > 0 {
					k := min(len(wire), 1+wrng.IntN(700))
					if _, err := cn.Write(wire[:k]); err != nil {
						return
					}
					wire = wire[k:]
					if wrng.IntN(2) == 0 {
						time.Sleep(time.Millisecond)
					}
				}
			}()
			var buf []byte
			scratch := make([]byte, 700)
			for i, want := range msgs {
				var got []byte
				if i%2 == 0 {
					_, b, err := server.ReadMessage(buf)
					if err != nil {
						t.Fatalf("message %d: %v", i, err)
					}
					got, buf = b, b
				} else {
					_, r, err := server.NextReader()
					if err != nil {
						t.Fatalf("message %d: %v", i, err)
					}
					var out bytes.Buffer
					if _, err := io.CopyBuffer(&out, struct{ io.Reader }{r}, scratch); err != nil {
						t.Fatalf("message %d: %v", i, err)
					}
					got = out.Bytes()
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("message %d: got %d bytes, want %d (contents differ: %v)", i, len(got), len(want), len(got) == len(want))
				}
			}
		})
	}
}

// A quiet connection's first read fills the inline buffer and ends inside
// the next frame's header: the header's start moves to a read buffer with
// the rest of the frame.
func TestReadInlinePartialHeader(t *testing.T) {
	cn, sn := tcpPair(t)
	server, err := newConn(sn, false, nil, &Options{}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.CloseNow() })
	key := mask.Key{9, 8, 7, 6}
	first := bytes.Repeat([]byte{'a'}, inlineRead-6-6) // 6-byte header: one frame of 250 bytes
	second := bytes.Repeat([]byte{'b'}, 5000)
	wire := frame.AppendFrame(nil, frame.NewHeader(frame.OpBinary, frame.Mask, key, 0), first)
	wire = frame.AppendFrame(wire, frame.NewHeader(frame.OpBinary, frame.Mask, key, 0), second)
	cut := inlineRead // 250-byte frame + 6 of the second frame's 8-byte header
	if _, err := cn.Write(wire[:cut]); err != nil {
		t.Fatal(err)
	}
	_, got, err := server.ReadMessage(nil)
	if err != nil || !bytes.Equal(got, first) {
		t.Fatalf("first message: %d bytes, %v", len(got), err)
	}
	if held := server.w - server.r; server.rsrc != rbufInline || held < 1 || held > 6 || server.w != inlineRead {
		t.Fatalf("read buffer %d holds %d bytes up to %d, want the full inline buffer ending in part of a header", server.rsrc, held, server.w)
	}
	go func() {
		time.Sleep(10 * time.Millisecond)
		cn.Write(wire[cut:])
	}()
	_, got, err = server.ReadMessage(nil)
	if err != nil || !bytes.Equal(got, second) {
		t.Fatalf("second message: %d bytes, %v", len(got), err)
	}
}
