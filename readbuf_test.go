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
			writePieces(cn, wire, rand.New(rand.NewPCG(8, 9)), func(r *rand.Rand) int { return 1 + r.IntN(700) }, 2)
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

// A hot connection at a message boundary reads the next frame, header
// included, straight into the spare capacity of ReadMessage's buffer, and
// moves the payload to its place. Frames the same read brought past the
// message (pipelined traffic), fragments with control frames between
// them, and messages larger than the buffer all arrive intact, and the
// bytes left over move to a buffer of the Conn before ReadMessage returns.
func TestReadIntoCallerBuffer(t *testing.T) {
	cn, sn := tcpPair(t)
	server, err := newConn(sn, false, nil, &Options{}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.CloseNow() })
	go io.Copy(io.Discard, cn) // the Pongs
	rng := rand.New(rand.NewPCG(11, 12))
	sizes := []int{0, 5, 125, 1000, DefaultReadBufferSize + 1, 20000, 65536, 70000, 200000}
	var msgs [][]byte
	var wire []byte
	for range 1000 {
		p := make([]byte, sizes[rng.IntN(len(sizes))])
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		msgs = append(msgs, p)
		key := mask.Key{byte(rng.Uint32()), 4, 5, 6}
		if len(p) < 2 || rng.IntN(3) > 0 {
			wire = frame.AppendFrame(wire, frame.NewHeader(frame.OpBinary, frame.Mask, key, 0), p)
			continue
		}
		// Two fragments with a Ping between them.
		k := rng.IntN(len(p))
		wire = frame.AppendFrame(wire, frame.NewHeader(frame.OpBinary, frame.Mask|frame.More, key, 0), p[:k])
		wire = frame.AppendFrame(wire, frame.NewHeader(frame.OpPing, frame.Mask, key, 0), []byte("ping"))
		wire = frame.AppendFrame(wire, frame.NewHeader(frame.OpContinuation, frame.Mask, key, 0), p[k:])
	}
	// Bursts of large writes, so that one read often brings several
	// frames, small ones, so that reads end inside headers, and pauses, so
	// that the reader also finds the socket empty.
	writePieces(cn, wire, rand.New(rand.NewPCG(13, 14)), func(r *rand.Rand) int {
		k := 1 + r.IntN(300000)
		if r.IntN(3) == 0 {
			k = 1 + r.IntN(20) // ends in a header, often
		}
		return k
	}, 3)
	var buf []byte
	spilled := false
	for i, want := range msgs {
		_, got, err := server.ReadMessage(buf)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("message %d: got %d bytes, want %d (contents differ: %v)", i, len(got), len(want), len(got) == len(want))
		}
		if server.rsrc == rbufCaller {
			t.Fatalf("message %d: the read buffer still points into the caller's memory", i)
		}
		spilled = spilled || server.rsrc == rbufSpill
		buf = got
	}
	if !spilled {
		t.Error("no read into the caller's buffer brought more than a read buffer past its message: the test did not reach the spill path")
	}
}

// A read into the caller's buffer that ends inside the header of the
// message's next fragment: the bytes of that header move out of the
// caller's memory before more is read, so they cannot overwrite the
// fragment already in place.
func TestReadIntoCallerBufferPartialHeader(t *testing.T) {
	cn, sn := tcpPair(t)
	server, err := newConn(sn, false, nil, &Options{}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.CloseNow() })
	go io.Copy(io.Discard, cn) // the Pong
	key := mask.Key{1, 2, 3, 4}
	big := bytes.Repeat([]byte{'x'}, 70000)
	if _, err := cn.Write(frame.AppendFrame(nil, frame.NewHeader(frame.OpBinary, frame.Mask, key, 0), big)); err != nil {
		t.Fatal(err)
	}
	_, buf, err := server.ReadMessage(nil)
	if err != nil || !bytes.Equal(buf, big) {
		t.Fatalf("first message: %d bytes, %v", len(buf), err)
	}
	first := bytes.Repeat([]byte{'a'}, 10000)
	second := bytes.Repeat([]byte{'b'}, 20000)
	wire := frame.AppendFrame(nil, frame.NewHeader(frame.OpBinary, frame.Mask|frame.More, key, 0), first)
	wire = frame.AppendFrame(wire, frame.NewHeader(frame.OpPing, frame.Mask, key, 0), []byte("ping"))
	cut := len(wire) + 3 // 3 of the next fragment's 8 header bytes
	wire = frame.AppendFrame(wire, frame.NewHeader(frame.OpContinuation, frame.Mask, key, 0), second)
	if _, err := cn.Write(wire[:cut]); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		cn.Write(wire[cut:])
	}()
	_, got, err := server.ReadMessage(buf)
	if want := append(first, second...); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("fragmented message: %d bytes (want %d), equal %v, %v", len(got), len(want), bytes.Equal(got, want), err)
	}
}

// writePieces writes wire to w from a goroutine of its own, in pieces whose
// lengths piece draws from rng, and pauses a millisecond after a piece with
// a chance of one in pauseOdds, so that the reader meets bursts, frames cut
// anywhere and an empty socket. It stops at the first write error.
func writePieces(w io.Writer, wire []byte, rng *rand.Rand, piece func(*rand.Rand) int, pauseOdds int) {
	go func() {
		for len(wire) > 0 {
			k := min(len(wire), piece(rng))
			if _, err := w.Write(wire[:k]); err != nil {
				return
			}
			wire = wire[k:]
			if rng.IntN(pauseOdds) == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
}
