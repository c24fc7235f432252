package deflate

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Test data. Every generator is seeded, so failures replay.

func randomData(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

var words = []string{"websocket", "frame", "the", "compression", "deflate", "of", "and",
	"message", "payload", "window", "context", "takeover", "huffman", "a", "is", "to",
	"permessage", "server", "client", "extension", "negotiation", "offer", "response"}

func textData(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 2))
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[rng.IntN(len(words))])
		switch rng.IntN(10) {
		case 0:
			b.WriteString(".\n")
		case 1:
			b.WriteString(", ")
		default:
			b.WriteByte(' ')
		}
	}
	return b.Bytes()[:n]
}

// mixedData alternates text, random bytes, zeros, a short repeated pattern
// and JSON-like records, in pieces of random size.
func mixedData(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 3))
	var b []byte
	for len(b) < n {
		k := 1 + rng.IntN(8192)
		switch rng.IntN(5) {
		case 0:
			b = append(b, textData(rng.Uint64(), k)...)
		case 1:
			b = append(b, randomData(rng.Uint64(), k)...)
		case 2:
			b = append(b, make([]byte, k)...)
		case 3:
			pat := randomData(rng.Uint64(), 1+rng.IntN(7))
			for range k / len(pat) {
				b = append(b, pat...)
			}
		default:
			for range k / 40 {
				b = fmt.Appendf(b, `{"id":%d,"name":"%s","ok":%v},`, rng.IntN(100000), words[rng.IntN(len(words))], rng.IntN(2) == 0)
			}
		}
	}
	return b[:n]
}

var allLevels = []int{flate.HuffmanOnly, flate.DefaultCompression, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9}

// flateMessages compresses msgs with one compress/flate Writer (context
// takeover), each ending with a sync flush whose tail is stripped (RFC 7692
// §7.2.1), and returns the payloads.
func flateMessages(t testing.TB, level int, msgs ...[]byte) [][]byte {
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

// chopper returns the sizes of the pieces input and output are cut into.
type chopper struct {
	name    string
	in, out int  // largest piece
	random  bool // random sizes from 1 to the largest
	viaTail bool // feed Tail through Inflate and call EndMessage (the conn path)
}

var choppers = []chopper{
	{name: "whole", in: 1 << 30, out: 1 << 20},
	{name: "random", in: 300, out: 700, random: true},
	{name: "in1", in: 1, out: 1 << 16},
	{name: "out1", in: 1 << 30, out: 1},
	{name: "random-small-viaTail", in: 9, out: 13, random: true, viaTail: true},
	{name: "whole-viaTail", in: 1 << 30, out: 4096, viaTail: true},
}

// inflateMessage inflates one message payload cut as c says.
func inflateMessage(f *Inflater, payload []byte, c chopper, rng *rand.Rand) ([]byte, error) {
	pick := func(n int) int {
		if c.random {
			return 1 + rng.IntN(n)
		}
		return n
	}
	var got []byte
	out := make([]byte, c.out)
	feed := func(payload []byte) error {
		for calls := 0; ; calls++ {
			if calls > 1<<24 {
				return errors.New("Inflate made no progress")
			}
			in := payload[:min(len(payload), pick(c.in))]
			o := out[:pick(c.out)]
			n, m, err := f.Inflate(o, in)
			got = append(got, o[:n]...)
			if err != nil {
				return err
			}
			if n < len(o) && m < len(in) {
				return fmt.Errorf("Inflate returned with room and input left (n=%d m=%d)", n, m)
			}
			payload = payload[m:]
			if len(payload) == 0 && n < len(o) {
				return nil
			}
		}
	}
	if err := feed(payload); err != nil {
		return got, err
	}
	if c.viaTail {
		if err := feed(Tail[:]); err != nil {
			return got, err
		}
		return got, f.EndMessage()
	}
	for calls := 0; ; calls++ {
		if calls > 1<<24 {
			return got, errors.New("FinishMessage never done")
		}
		o := out[:pick(c.out)]
		n, done, err := f.FinishMessage(o)
		got = append(got, o[:n]...)
		if err != nil || done {
			return got, err
		}
	}
}

func testInputs() map[string][]byte {
	return map[string][]byte{
		"empty":  {},
		"byte":   {'x'},
		"text":   textData(1, 100_000),
		"random": randomData(2, 70_000),
		"zeros":  make([]byte, 100_000),
		"mixed":  mixedData(3, 200_000),
	}
}

// TestInflateFlate checks the Inflater against compress/flate output at
// every level, for several data sets, with context takeover over three
// messages, under every way of chopping input and output.
func TestInflateFlate(t *testing.T) {
	for name, data := range testInputs() {
		for _, level := range allLevels {
			// Three messages: the data, a different slice of it, the data
			// again (the third is mostly back-references under takeover).
			half := data[len(data)/2:]
			msgs := [][]byte{data, half, data}
			payloads := flateMessages(t, level, msgs...)
			for _, c := range choppers {
				t.Run(fmt.Sprintf("%s/level%d/%s", name, level, c.name), func(t *testing.T) {
					if testing.Short() && len(data) > 0 && (c.in == 1 || c.out == 1) && level > 1 {
						t.Skip("byte-at-a-time runs only for levels up to 1 in -short")
					}
					rng := rand.New(rand.NewPCG(uint64(level+10), uint64(len(data))))
					var f Inflater
					for i, p := range payloads {
						got, err := inflateMessage(&f, p, c, rng)
						if err != nil {
							t.Fatalf("message %d: %v", i, err)
						}
						if !bytes.Equal(got, msgs[i]) {
							t.Fatalf("message %d: got %d bytes, want %d (first difference at %d)", i, len(got), len(msgs[i]), firstDiff(got, msgs[i]))
						}
					}
				})
			}
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestInflateNoContextTakeover resets between messages, each compressed by
// a fresh writer.
func TestInflateNoContextTakeover(t *testing.T) {
	data := mixedData(7, 150_000)
	var f Inflater
	for i := range 4 {
		msg := data[i*10_000 : i*10_000+50_000]
		p := flateMessages(t, 6, msg)[0]
		f.Reset()
		got, err := inflateMessage(&f, p, choppers[1], rand.New(rand.NewPCG(uint64(i), 0)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("message %d differs", i)
		}
	}
}

// TestInflateMultipleFlushes: one message holding several sync flushes
// (empty stored blocks in the middle) and full flushes.
func TestInflateMultipleFlushes(t *testing.T) {
	data := textData(9, 50_000)
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, 5)
	for i := 0; i < len(data); i += 7000 {
		w.Write(data[i:min(len(data), i+7000)])
		w.Flush()
		w.Flush() // an empty stored block right after another
	}
	b := buf.Bytes()
	for _, c := range choppers {
		t.Run(c.name, func(t *testing.T) {
			var f Inflater
			got, err := inflateMessage(&f, b[:len(b)-4], c, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("got %d bytes, want %d", len(got), len(data))
			}
		})
	}
}

// TestInflateStored checks stored blocks of every awkward size, also split
// so the fast path leaves whole bytes in its bit buffer before one.
func TestInflateStored(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 65535, 65536, 200_000} {
		data := randomData(uint64(n), n)
		payload := flateMessages(t, flate.NoCompression, textData(4, 3000), data)
		for _, c := range choppers {
			t.Run(fmt.Sprintf("%d/%s", n, c.name), func(t *testing.T) {
				var f Inflater
				rng := rand.New(rand.NewPCG(2, 2))
				if _, err := inflateMessage(&f, payload[0], c, rng); err != nil {
					t.Fatal(err)
				}
				got, err := inflateMessage(&f, payload[1], c, rng)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, data) {
					t.Fatalf("got %d bytes, want %d", len(got), len(data))
				}
			})
		}
	}
	// Stored data after Huffman-coded data in the same message: the fast
	// path's 8-byte refill leaves whole bytes in hold before the stored
	// block.
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, 6)
	text := textData(5, 40_000)
	w.Write(text)
	w.Flush()
	raw := randomData(6, 1000)
	// An explicit stored block: BFINAL 0, BTYPE 00, aligned, LEN, NLEN.
	buf.Write([]byte{0x00, byte(len(raw)), byte(len(raw) >> 8), ^byte(len(raw)), ^byte(len(raw) >> 8)})
	buf.Write(raw)
	w.Flush()
	want := append(append([]byte(nil), text...), raw...)
	for _, c := range choppers {
		var f Inflater
		got, err := inflateMessage(&f, buf.Bytes()[:buf.Len()-4], c, rand.New(rand.NewPCG(3, 3)))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: got %d bytes, err %v; want %d", c.name, len(got), err, len(want))
		}
	}
}

// TestInflateFinalBlock: RFC 7692 §7.2.1 lets a sender use blocks with
// BFINAL set; "the next DEFLATE block follows the padded data". Messages
// from flate.Writer.Close (a final empty stored block), with and without the
// tail stripped, and a final block followed by more blocks in the same
// message, all keep the window (context takeover).
func TestInflateFinalBlock(t *testing.T) {
	first := textData(10, 30_000)
	second := append(first[1000:5000:5000], "tail words"...)
	closed := func(dict, data []byte) []byte {
		var b bytes.Buffer
		w, _ := flate.NewWriterDict(&b, 6, dict)
		w.Write(data)
		w.Close()
		return b.Bytes()
	}
	flushed := func(dict, data []byte) []byte {
		var b bytes.Buffer
		w, _ := flate.NewWriterDict(&b, 6, dict)
		w.Write(data)
		w.Flush()
		return bytes.TrimSuffix(b.Bytes(), Tail[:])
	}
	c1 := closed(nil, first)
	c2 := closed(first, second) // refers back into first
	both := append(append([]byte(nil), first...), second...)
	tests := []struct {
		name string
		msgs [][]byte // payloads
		want [][]byte
	}{
		{"closed streams, tail stripped", [][]byte{bytes.TrimSuffix(c1, Tail[:]), bytes.TrimSuffix(c2, Tail[:])}, [][]byte{first, second}},
		{"closed streams, tail kept", [][]byte{c1, c2}, [][]byte{first, second}},
		{"final block then more blocks", [][]byte{append(append([]byte(nil), c1...), flushed(first, second)...)}, [][]byte{both}},
		{"final block then an empty message", [][]byte{c1, {0x00}, bytes.TrimSuffix(c2, Tail[:])}, [][]byte{first, {}, second}},
	}
	for _, tt := range tests {
		for _, c := range choppers {
			t.Run(tt.name+"/"+c.name, func(t *testing.T) {
				var f Inflater
				rng := rand.New(rand.NewPCG(4, 4))
				for i, p := range tt.msgs {
					got, err := inflateMessage(&f, p, c, rng)
					if err != nil || !bytes.Equal(got, tt.want[i]) {
						t.Fatalf("message %d: %d bytes (want %d), %v", i, len(got), len(tt.want[i]), err)
					}
				}
			})
		}
	}
}

// TestInflateBlocksAfterFastPathEndOfBlock: the block after one whose
// end-of-block code the fast path decoded is read from the right bit,
// whatever the output room (which decides whether the fast path runs) and
// the chopping. It pins two bit-buffer bugs in Inflater.fast (fuzz finding
// 2): the padding after a BFINAL block (RFC 7692 §7.2.1: "The next DEFLATE
// block follows the padded data") was dropped from fields fast then
// overwrote, and fast left input bits above nb in hold, which corrupted the
// block after a stored block the buffered bits had covered. Each Huffman
// block ends at every bit offset (9-bit literals shift its end), is final
// or not, and is followed by a stored block and another Huffman block.
func TestInflateBlocksAfterFastPathEndOfBlock(t *testing.T) {
	type msg struct {
		name    string
		payload []byte
		want    string
	}
	stored := "stored bytes, copied straight from the input"
	storedBlock := func(header bool) []byte {
		var b []byte
		if header {
			b = append(b, 0x00) // BFINAL 0, BTYPE 00, padding
		}
		n := len(stored)
		b = append(b, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		return append(b, stored...)
	}
	var after []sym
	for _, c := range []byte("and Huffman data after it") {
		after = append(after, sym{lit: c})
	}
	// The RFC 7692 §7.2.3.3/§7.2.3.4 shapes as fuzzing found them: an
	// empty final fixed block, then a stored block at the next byte.
	msgs := []msg{{"empty final block, stored block", []byte{0x03, 0x00, 0x00, 0x05, 0x00, 0xfa, 0xff, 'H', 'e', 'l', 'l', 'o', 0x00}, "Hello"}}
	for _, final := range []bool{true, false} {
		for wide := range 8 {
			var syms []sym
			var want []byte
			for i := range 40 {
				c := byte('a' + i%26)
				if i < wide {
					c = 0xe0 + byte(i) // literals 144-255 have 9-bit codes
				}
				syms = append(syms, sym{lit: c})
				want = append(want, c)
			}
			want = append(want, stored...)
			want = append(want, "and Huffman data after it"...)
			// A non-final fixedBlock already ends with the stored block's
			// 3-bit header; a final one is padded, so the header is a byte.
			p := fixedBlock(t, final, syms)
			p = append(p, storedBlock(final)...)
			p = append(p, fixedBlock(t, false, after)...)
			msgs = append(msgs, msg{fmt.Sprintf("final=%v/ends at bit %d", final, (3+40*8+wide+7)%8), p, string(want)})
		}
	}
	cs := append([]chopper(nil), choppers...)
	for _, room := range []int{1, 2, 3, 5, 8, 257, 258, 259, 4096, 1 << 16} {
		cs = append(cs, chopper{name: fmt.Sprintf("room%d", room), in: 1 << 30, out: room})
	}
	for _, m := range msgs {
		for _, c := range cs {
			t.Run(m.name+"/"+c.name, func(t *testing.T) {
				var f Inflater
				got, err := inflateMessage(&f, m.payload, c, rand.New(rand.NewPCG(20, 20)))
				if err != nil {
					t.Fatalf("payload % x: %v", m.payload, err)
				}
				if diff := cmp.Diff(m.want, string(got)); diff != "" {
					t.Fatalf("payload % x (-want +got):\n%s", m.payload, diff)
				}
			})
		}
	}
}

// TestInflateEmptyMessage: the RFC 7692 §7.2.3.6 empty message (0x00), and
// the lenient empty payload, both paths, between other messages.
func TestInflateEmptyMessage(t *testing.T) {
	msgs := [][]byte{[]byte("hello"), {}, []byte("hello hello"), {}}
	payloads := flateMessages(t, 6, msgs...)
	if diff := cmp.Diff([]byte{0x00}, payloads[1]); diff != "" {
		t.Fatalf("compress/flate's empty message (-want +got):\n%s", diff)
	}
	for _, c := range choppers {
		t.Run(c.name, func(t *testing.T) {
			var f Inflater
			rng := rand.New(rand.NewPCG(5, 5))
			for i, p := range payloads {
				for _, payload := range [][]byte{p, nil} {
					if len(msgs[i]) > 0 && payload == nil {
						continue
					}
					got, err := inflateMessage(&f, payload, c, rng)
					if err != nil {
						t.Fatalf("message %d (% x): %v", i, payload, err)
					}
					if !bytes.Equal(got, msgs[i]) {
						t.Fatalf("message %d: got %q want %q", i, got, msgs[i])
					}
				}
			}
		})
	}
}

// TestInflateErrors: corrupt streams give an error matching ErrCorrupt,
// never a panic, under every chopping.
func TestInflateErrors(t *testing.T) {
	good := flateMessages(t, 6, textData(11, 5000))[0]
	tests := []struct {
		name    string
		payload []byte
		want    error
	}{
		{"reserved block type", []byte{0x07}, errBlockType},
		{"stored LEN NLEN mismatch", []byte{0x00, 0x05, 0x00, 0xfa, 0xfe}, errStoredLen},
		// Fixed block, literal 'a' then length 3 distance 5: too far back.
		{"distance too far back", fixedBlock(t, false, []sym{{lit: 'a'}, {length: 3, dist: 5}}), errDistance},
		{"distance at the start", fixedBlock(t, false, []sym{{length: 3, dist: 1}}), errDistance},
		// Fixed code symbols 286 and 287 are reserved.
		{"literal/length 286", fixedBlock(t, false, []sym{{raw: 286}}), errSymbol},
		{"distance code 30", fixedBlock(t, false, []sym{{lit: 'a'}, {raw: 257, rawDist: 30}}), errDistSym},
		{"garbage after final block", append(fixedBlock(t, true, []sym{{lit: 'a'}}), 0x07), errBlockType},
		{"HLIT too large", dynHeader(30, 0, 15), errCounts},
		{"HDIST too large", dynHeader(0, 30, 15), errCounts},
		// A stored block of 10 bytes with 2 present: Tail makes 6.
		{"truncated stored block", []byte{0x00, 0x0a, 0x00, 0xf5, 0xff, 'a', 'b'}, errTruncated},
		{"truncated Huffman data", good[:len(good)/2], ErrCorrupt},
	}
	for _, tt := range tests {
		for _, c := range choppers {
			t.Run(tt.name+"/"+c.name, func(t *testing.T) {
				var f Inflater
				_, err := inflateMessage(&f, tt.payload, c, rand.New(rand.NewPCG(6, 6)))
				if !errors.Is(err, tt.want) || !errors.Is(err, ErrCorrupt) {
					t.Fatalf("got error %v, want %v", err, tt.want)
				}
				// Sticky until Reset.
				if _, _, err2 := f.Inflate(make([]byte, 10), good); !errors.Is(err2, tt.want) {
					t.Fatalf("error not sticky: %v", err2)
				}
				f.Reset()
				if _, err := inflateMessage(&f, good, c, rand.New(rand.NewPCG(6, 6))); err != nil {
					t.Fatalf("after Reset: %v", err)
				}
			})
		}
	}
}

// sym is one symbol for fixedBlock: a literal, a length/distance pair, or a
// raw literal/length code (with a raw distance code) to make bad streams.
type sym struct {
	lit          byte
	length, dist int
	raw, rawDist int
}

// bitPacker packs bits LSB first, Huffman codes MSB first (RFC 1951 §3.1.1).
type bitPacker struct {
	b     []byte
	acc   uint64
	nbits uint
}

func (w *bitPacker) bits(v uint64, n uint) {
	w.acc |= v << w.nbits
	w.nbits += n
	for w.nbits >= 8 {
		w.b = append(w.b, byte(w.acc))
		w.acc >>= 8
		w.nbits -= 8
	}
}

func (w *bitPacker) code(c uint64, n uint) {
	var r uint64
	for i := range n {
		r |= (c >> i & 1) << (n - 1 - i)
	}
	w.bits(r, n)
}

func (w *bitPacker) flush() []byte {
	if w.nbits > 0 {
		w.b = append(w.b, byte(w.acc))
		w.acc, w.nbits = 0, 0
	}
	return w.b
}

// fixedLitCode returns the fixed Huffman code of literal/length symbol s
// (RFC 1951 §3.2.6).
func fixedLitCode(s int) (uint64, uint) {
	switch {
	case s < 144:
		return uint64(0x30 + s), 8
	case s < 256:
		return uint64(0x190 + s - 144), 9
	case s < 280:
		return uint64(s - 256), 7
	default:
		return uint64(0xc0 + s - 280), 8
	}
}

// fixedBlock encodes syms as one fixed-Huffman block, followed (unless
// final) by nothing: the caller's Tail supplies the empty stored block.
func fixedBlock(t *testing.T, final bool, syms []sym) []byte {
	t.Helper()
	var w bitPacker
	if final {
		w.bits(1, 1)
	} else {
		w.bits(0, 1)
	}
	w.bits(1, 2) // BTYPE 01
	for _, s := range syms {
		switch {
		case s.raw != 0:
			w.code(fixedLitCode(s.raw))
			if s.raw > 256 {
				w.code(uint64(s.rawDist), 5)
			}
		case s.length != 0:
			li := 0
			for li+1 < len(lengthBase) && int(lengthBase[li+1]) <= s.length {
				li++
			}
			w.code(fixedLitCode(257 + li))
			w.bits(uint64(s.length-int(lengthBase[li])), uint(lengthExtra[li]))
			di := 0
			for di+1 < len(distBase) && int(distBase[di+1]) <= s.dist {
				di++
			}
			w.code(uint64(di), 5)
			w.bits(uint64(s.dist-int(distBase[di])), uint(distExtra[di]))
		default:
			w.code(fixedLitCode(int(s.lit)))
		}
	}
	w.code(fixedLitCode(256)) // end of block
	if !final {
		w.bits(0, 3) // the empty stored block's header; Tail completes it
	}
	return w.flush()
}

// dynHeader starts a dynamic block with the given HLIT, HDIST, HCLEN.
func dynHeader(hlit, hdist, hclen uint64) []byte {
	var w bitPacker
	w.bits(0, 1)
	w.bits(2, 2)
	w.bits(hlit, 5)
	w.bits(hdist, 5)
	w.bits(hclen, 4)
	return w.flush()
}

// TestInflateHandmade checks hand-assembled streams, including overlapping
// copies and the fixed code.
func TestInflateHandmade(t *testing.T) {
	tests := []struct {
		name string
		syms []sym
		want string
	}{
		{"literals", []sym{{lit: 'h'}, {lit: 'i'}}, "hi"},
		{"run of one byte", []sym{{lit: 'z'}, {length: 10, dist: 1}}, "zzzzzzzzzzz"},
		{"overlap period 3", []sym{{lit: 'a'}, {lit: 'b'}, {lit: 'c'}, {length: 8, dist: 3}}, "abcabcabcab"},
		{"non-overlapping", []sym{{lit: 'x'}, {lit: 'y'}, {lit: 'z'}, {length: 3, dist: 3}}, "xyzxyz"},
		{"max length", []sym{{lit: '-'}, {length: 258, dist: 1}}, string(bytes.Repeat([]byte{'-'}, 259))},
	}
	for _, tt := range tests {
		for _, c := range choppers {
			t.Run(tt.name+"/"+c.name, func(t *testing.T) {
				var f Inflater
				got, err := inflateMessage(&f, fixedBlock(t, false, tt.syms), c, rand.New(rand.NewPCG(8, 8)))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, string(got)); diff != "" {
					t.Fatalf("(-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestInflateWindowWrap: distances reaching across the ring's wrap point
// and the full 32768 distance.
func TestInflateWindowWrap(t *testing.T) {
	block := randomData(12, windowSize)
	var msg []byte
	for range 5 {
		msg = append(msg, block...)
		msg = append(msg, randomData(uint64(len(msg)), 777)...)
	}
	for _, level := range []int{1, 6, 9} {
		payload := flateMessages(t, level, msg)[0]
		for _, c := range choppers {
			var f Inflater
			got, err := inflateMessage(&f, payload, c, rand.New(rand.NewPCG(9, 9)))
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("level %d %s: %d bytes, %v", level, c.name, len(got), err)
			}
		}
	}
	// Distance exactly 32768 with a hand-made stream: 32768 stored bytes
	// then a copy from the very start.
	var w bitPacker
	w.bits(0, 3)
	stored := w.flush()
	first := randomData(13, windowSize)
	stored = append(stored, 0x00, 0x80, 0xff, 0x7f) // LEN 32768
	stored = append(stored, first...)
	tail := fixedBlock(t, false, []sym{{length: 258, dist: windowSize}})
	payload := append(stored, tail...)
	var f Inflater
	got, err := inflateMessage(&f, payload, choppers[1], rand.New(rand.NewPCG(1, 9)))
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte(nil), first...), first[:258]...)
	if !bytes.Equal(got, want) {
		t.Fatalf("distance 32768: got %d bytes, first difference at %d", len(got), firstDiff(got, want))
	}
}

// TestInflateCorruptNeverPanics mutates valid streams at random and feeds
// them under random chopping: every run ends (bounded loop) with output or
// an error, never a panic.
func TestInflateCorruptNeverPanics(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 14))
	bases := [][]byte{
		flateMessages(t, 6, mixedData(15, 20_000))[0],
		flateMessages(t, flate.HuffmanOnly, textData(16, 5000))[0],
		flateMessages(t, 1, make([]byte, 10_000))[0],
		flateMessages(t, 9, textData(17, 300))[0],
	}
	runs := 3000
	if testing.Short() {
		runs = 300
	}
	corrupt := 0
	for i := range runs {
		p := bytes.Clone(bases[i%len(bases)])
		for range 1 + rng.IntN(4) {
			switch rng.IntN(3) {
			case 0:
				p[rng.IntN(len(p))] ^= byte(1 << rng.IntN(8))
			case 1:
				p[rng.IntN(len(p))] = byte(rng.Uint32())
			default:
				p = p[:rng.IntN(len(p))+1]
			}
		}
		var f Inflater
		c := choppers[rng.IntN(len(choppers))]
		got, err := inflateMessage(&f, p, c, rng)
		if err != nil {
			corrupt++
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("run %d: error %v does not match ErrCorrupt", i, err)
			}
		}
		if len(got) > 1<<20 {
			t.Fatalf("run %d: %d bytes from a %d-byte input", i, len(got), len(p))
		}
	}
	if corrupt == 0 {
		t.Fatal("no mutation was detected as corrupt")
	}
	t.Logf("%d of %d mutated streams reported corrupt", corrupt, runs)
}

// bombStream builds a DEFLATE stream of one dynamic block that inflates to
// one zero byte followed by n matches of length 258 at distance 1, each
// coded in 2 bits: the 1032:1 maximum ratio of DEFLATE.
func bombStream(n int) []byte {
	var w bitPacker
	w.bits(0, 1) // not final
	w.bits(2, 2) // dynamic
	// Literal/length code: 0 (literal zero), 256 (end), 285 (length 258)
	// with lengths 2, 2, 1; HLIT = 286-257. Distance code: symbol 0 with
	// length 1 (the degenerate one-code case), HDIST = 0.
	w.bits(286-257, 5)
	w.bits(0, 5)
	// Code length code: lengths for symbols 0 (used for runs of zeros via
	// 18 instead), 1, 2 and 18. Order 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1.
	// Give 18 -> 2 bits, 0 -> 2, 1 -> 2, 2 -> 2 (complete: four 2-bit codes).
	clLens := map[int]uint64{18: 2, 0: 2, 1: 2, 2: 2}
	order := []int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1}
	w.bits(uint64(len(order)-4), 4) // HCLEN
	for _, s := range order {
		w.bits(clLens[s], 3)
	}
	// Canonical codes of the code length code (all length 2, by symbol):
	// 0 -> 00, 1 -> 01, 2 -> 10, 18 -> 11.
	clCode := map[int]uint64{0: 0, 1: 1, 2: 2, 18: 3}
	put := func(s int) { w.code(clCode[s], 2) }
	zeros := func(k int) {
		for k > 0 {
			r := min(k, 138)
			if r < 11 {
				for range r {
					put(0)
				}
			} else {
				put(18)
				w.bits(uint64(r-11), 7)
			}
			k -= r
		}
	}
	// 286 literal/length lengths: sym 0 -> 1, 1..255 -> 0, 256 -> 2,
	// 257..284 -> 0, 285 -> 2; then 1 distance length: 1.
	put(2)
	zeros(255)
	put(2)
	zeros(28)
	put(1)
	put(1)
	// Literal/length canonical codes: 285 -> 0, 0 -> 10, 256 -> 11.
	// Distance: 0 -> 0.
	w.code(2, 2) // literal zero
	for range n {
		w.code(0, 1) // length 258
		w.code(0, 1) // distance code 0: distance 1
	}
	w.code(3, 2) // end of block
	w.bits(0, 3) // empty stored block header, Tail completes it
	return w.flush()
}

// TestInflateBomb: a 1 MiB message inflating to more than 1 GiB of zeros.
// The reader stops at its limit having used only its own output buffer:
// the decompressed size is bounded by the caller, and no memory grows with
// it (runtime.MemStats.TotalAlloc stays flat).
func TestInflateBomb(t *testing.T) {
	const matches = (1<<30)/258 + 1
	payload := bombStream(matches)
	if len(payload) > 1100<<10 {
		t.Fatalf("bomb is %d bytes", len(payload))
	}
	const limit = 64 << 20 // the reader's message size limit
	out := make([]byte, 16<<10)
	f := new(Inflater)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	total, in := 0, payload
	for total <= limit && len(in) > 0 {
		n, m, err := f.Inflate(out, in)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 && out[0] != 0 {
			t.Fatal("nonzero output")
		}
		total += n
		in = in[m:]
	}
	runtime.ReadMemStats(&after)
	if total <= limit {
		t.Fatalf("stopped at %d bytes before the limit", total)
	}
	if consumed := len(payload) - len(in); consumed > limit/1000 {
		t.Fatalf("consumed %d input bytes for %d output bytes", consumed, total)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<10 {
		t.Fatalf("allocated %d bytes while inflating %d bytes", grew, total)
	}
	t.Logf("%d-byte bomb: stopped after %d output bytes from %d input bytes", len(payload), total, len(payload)-len(in))

	if testing.Short() {
		return
	}
	// The whole bomb really is more than 1 GiB.
	f.Reset()
	got, err := inflateCount(f, payload, out)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + matches*258; got != want || got < 1<<30 {
		t.Fatalf("bomb inflates to %d bytes, want %d", got, want)
	}
}

func inflateCount(f *Inflater, payload, out []byte) (int, error) {
	total := 0
	for len(payload) > 0 {
		n, m, err := f.Inflate(out, payload)
		if err != nil {
			return total, err
		}
		total += n
		payload = payload[m:]
	}
	for {
		n, done, err := f.FinishMessage(out)
		total += n
		if err != nil || done {
			return total, err
		}
	}
}

// TestInflateAllocs pins zero allocations per message in steady state,
// with and without context takeover.
func TestInflateAllocs(t *testing.T) {
	msg := textData(18, 16<<10)
	payloads := flateMessages(t, 6, msg, msg)
	out := make([]byte, 4096)
	for _, reset := range []bool{false, true} {
		var f Inflater
		p := payloads[0]
		if !reset {
			inflateCount(&f, p, out) // warm the window
			p = payloads[1]
		}
		allocs := testing.AllocsPerRun(50, func() {
			if reset {
				f.Reset()
			}
			n, err := inflateCount(&f, p, out)
			if err != nil || n != len(msg) {
				t.Fatalf("%d bytes, %v", n, err)
			}
		})
		if allocs != 0 {
			t.Errorf("reset=%v: %v allocations per message, want 0", reset, allocs)
		}
	}
}

// TestRFC7692Examples decodes the payloads of RFC 7692 §7.2.3 in sequence
// on one Inflater (context takeover), under every chopping.
func TestRFC7692Examples(t *testing.T) {
	hello := "Hello"
	tests := []struct {
		name    string
		payload []byte
		want    string
	}{
		{"7.2.3.1 one compressed block", []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, hello},
		{"7.2.3.2 sharing the window", []byte{0xf2, 0x00, 0x11, 0x00, 0x00}, hello},
		{"7.2.3.3 block with no compression", []byte{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}, hello},
		{"7.2.3.4 block with BFINAL", []byte{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}, hello},
		{"7.2.3.5 two blocks in one message", []byte{0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00}, hello},
		{"7.2.3.6 empty fragment", []byte{0x00}, ""},
		{"7.2.3.1 again after the BFINAL stream", []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, hello},
	}
	for _, c := range choppers {
		t.Run(c.name, func(t *testing.T) {
			var f Inflater
			rng := rand.New(rand.NewPCG(10, 10))
			for _, tt := range tests {
				got, err := inflateMessage(&f, tt.payload, c, rng)
				if err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
				if diff := cmp.Diff(tt.want, string(got)); diff != "" {
					t.Fatalf("%s (-want +got):\n%s", tt.name, diff)
				}
			}
		})
	}
	// Our Compressor produces §7.2.3.1's bytes for "Hello".
	c, _ := NewCompressor(flate.BestCompression, true, 15)
	p, err := c.AppendMessage(nil, []byte(hello))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tests[0].payload, p); diff != "" {
		t.Errorf("Compressor(\"Hello\") (-RFC 7692 §7.2.3.1 +got):\n%s", diff)
	}
}
