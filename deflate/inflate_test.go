package deflate

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// flateStream compresses msgs with compress/flate at level, ending each with
// a sync flush whose tail is stripped (RFC 7692 §7.2.1), and returns the
// per-message payloads.
func flateMessages(t testing.TB, level int, msgs [][]byte) [][]byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, m := range msgs {
		buf.Reset()
		if _, err := w.Write(m); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		if !bytes.HasSuffix(b, Tail[:]) {
			t.Fatalf("flush did not end with the tail: % x", b[max(0, len(b)-8):])
		}
		out = append(out, bytes.Clone(b[:len(b)-4]))
	}
	return out
}

// inflateChopped inflates one message payload feeding input in pieces of at
// most inChunk bytes and output of at most outChunk bytes.
func inflateChopped(f *Inflater, payload []byte, rng *rand.Rand, inChunk, outChunk int) ([]byte, error) {
	var got []byte
	out := make([]byte, outChunk)
	pick := func(n int) int {
		if rng == nil {
			return n
		}
		return 1 + rng.IntN(n)
	}
	for len(payload) > 0 {
		in := payload[:min(len(payload), pick(inChunk))]
		o := out[:pick(outChunk)]
		n, m, err := f.Inflate(o, in)
		got = append(got, o[:n]...)
		if err != nil {
			return got, err
		}
		if m < len(in) && n < len(o) {
			return got, fmt.Errorf("Inflate stopped with room and input left: n=%d m=%d", n, m)
		}
		payload = payload[m:]
	}
	for i := 0; ; i++ {
		if i > 1<<20 {
			return got, errors.New("FinishMessage never done")
		}
		o := out[:pick(outChunk)]
		n, done, err := f.FinishMessage(o)
		got = append(got, o[:n]...)
		if err != nil || done {
			return got, err
		}
	}
}

func TestInflateQuick(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	text := bytes.Repeat([]byte("hello, hybi websocket compression world. "), 2000)
	rnd := make([]byte, 100000)
	for i := range rnd {
		rnd[i] = byte(rng.IntN(256))
	}
	for _, level := range []int{flate.HuffmanOnly, 0, 1, 5, 9} {
		for _, data := range [][]byte{text, rnd, make([]byte, 70000), {}, []byte("a")} {
			p := flateMessages(t, level, [][]byte{data, data})
			var f Inflater
			for i := range p {
				got, err := inflateChopped(&f, p[i], nil, 1<<20, 1<<20)
				if err != nil {
					t.Fatalf("level %d: %v", level, err)
				}
				if !bytes.Equal(got, data) {
					t.Fatalf("level %d msg %d: got %d bytes want %d", level, i, len(got), len(data))
				}
			}
			var g Inflater
			for i := range p {
				got, err := inflateChopped(&g, p[i], rng, 7, 5)
				if err != nil {
					t.Fatalf("level %d: %v", level, err)
				}
				if !bytes.Equal(got, data) {
					t.Fatalf("level %d chopped msg %d: got %d bytes want %d", level, i, len(got), len(data))
				}
			}
		}
	}
}
