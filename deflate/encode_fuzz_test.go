package deflate

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"testing"
)

// FuzzCompressor is the encoder's differential test: for random inputs
// split into messages and written in random pieces, with random window
// bits, level and context takeover, every message decodes with
// compress/flate's reader (independent of our Inflater) to exactly its
// input, one reader across all messages with takeover and a fresh one per
// message without; our Inflater decodes them too; and distanceWalk, a
// decoder of its own, finds no back-reference further than the window or
// before the context.
func FuzzCompressor(f *testing.F) {
	f.Add([]byte("hello hello hello hello"), uint8(7), uint8(1), uint16(5))
	f.Add(bytes.Repeat([]byte("abcdefgh"), 1500), uint8(0), uint8(9), uint16(1000))
	f.Add(textData(1, 20000), uint8(15), uint8(2), uint16(333))
	f.Add(mixedData(2, 20000), uint8(12), uint8(4), uint16(65535))
	f.Fuzz(func(t *testing.T, data []byte, params, level uint8, chunk uint16) {
		bits := MinWindowBits + int(params&7)
		takeover := params&8 != 0
		lvl := []int{HuffmanOnly, NoCompression, 1, 2, 4, 9}[int(level)%6]
		if chunk == 0 {
			chunk = 1
		}
		// Up to four messages: data cut at bytes taken from its own end.
		var msgs [][]byte
		rest := data
		for i := 0; i < 3 && len(rest) > 0; i++ {
			cut := int(rest[len(rest)-1]) * len(rest) / 256
			msgs = append(msgs, rest[:cut])
			rest = rest[cut:]
		}
		msgs = append(msgs, rest)

		c, err := NewCompressor(lvl, !takeover, bits)
		if err != nil {
			t.Fatal(err)
		}
		var stream []byte // with takeover: every message, each with Tail
		var inf Inflater
		var hist int // bytes before this message that may be referred to
		for i, m := range msgs {
			var out []byte
			for p := m; len(p) > 0; p = p[min(len(p), int(chunk)):] {
				c.Write(p[:min(len(p), int(chunk))])
				out = append(out, c.Next()...)
			}
			last, err := c.Finish()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, last...)

			if !takeover || lvl <= 0 {
				hist = 0
			}
			if err := distanceWalk(out, hist, 1<<bits); err != nil {
				t.Fatalf("message %d (window %d, level %d, takeover %v): %v", i, bits, lvl, takeover, err)
			}
			hist += len(m)
			msg := append(append([]byte(nil), out...), Tail[:]...)
			if !takeover {
				got, err := io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(msg), bytes.NewReader([]byte{1, 0, 0, 0xff, 0xff}))))
				if err != nil || !bytes.Equal(got, m) {
					t.Fatalf("message %d: compress/flate read %d bytes, %v; want %d", i, len(got), err, len(m))
				}
				inf.Reset()
			}
			stream = append(stream, msg...)
			got, err := inflateMessage(&inf, out, choppers[0], nil)
			if err != nil || !bytes.Equal(got, m) {
				t.Fatalf("message %d: our Inflater read %d bytes, %v; want %d", i, len(got), err, len(m))
			}
		}
		if takeover {
			r := flate.NewReader(bytes.NewReader(stream))
			for i, m := range msgs {
				got := make([]byte, len(m))
				if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got, m) {
					t.Fatalf("takeover message %d: compress/flate read %v, equal %v", i, err, bytes.Equal(got, m))
				}
			}
		}
	})
}

// distanceWalk decodes the DEFLATE blocks of one message (without its
// tail) far enough to check every back-reference: none may reach further
// than window, nor before the hist bytes of context the message may use.
// It checks the structure only; the content is compress/flate's job.
func distanceWalk(p []byte, hist, window int) error {
	var pos uint
	bit := func() (uint, error) {
		if pos/8 >= uint(len(p)) {
			return 0, io.ErrUnexpectedEOF
		}
		b := uint(p[pos/8]>>(pos%8)) & 1
		pos++
		return b, nil
	}
	bitsN := func(n uint32) (int, error) {
		v := 0
		for i := range n {
			b, err := bit()
			if err != nil {
				return 0, err
			}
			v |= int(b) << i
		}
		return v, nil
	}
	// table maps each code of the canonical code with lengths lens, keyed
	// by length and value, to its symbol.
	table := func(lens []uint8) map[int]int {
		codes := make([]hcode, len(lens))
		canonical(lens, codes)
		m := make(map[int]int, len(lens))
		for s, c := range codes {
			if c.len > 0 {
				m[int(c.len)<<16|int(reverse(c.code, c.len))] = s
			}
		}
		return m
	}
	decode := func(t map[int]int) (int, error) {
		code := 0
		for n := 1; n <= maxCodeBits; n++ {
			b, err := bit()
			if err != nil {
				return 0, err
			}
			code = code<<1 | int(b)
			if s, ok := t[n<<16|code]; ok {
				return s, nil
			}
		}
		return 0, errors.New("no such code")
	}
	out := hist
	for {
		hdr, err := bitsN(3)
		if err != nil {
			return err
		}
		if hdr&1 != 0 {
			return errors.New("a final block: the stream must go on")
		}
		switch hdr >> 1 {
		case 0:
			pos = (pos + 7) &^ 7
			if int(pos/8)+4 > len(p) {
				return nil // the sync flush: its LEN and NLEN were removed
			}
			n := int(p[pos/8]) | int(p[pos/8+1])<<8
			pos += 32 + uint(8*n)
			out += n
			continue
		case 3:
			return errors.New("block type 3")
		}
		var litLens, distLens []uint8
		if hdr>>1 == 1 {
			litLens = make([]uint8, 288)
			for i := range litLens {
				litLens[i] = fixedLitCodes[i].len
			}
			distLens = make([]uint8, 30)
			for i := range distLens {
				distLens[i] = 5
			}
		} else {
			nlit, _ := bitsN(5)
			ndist, _ := bitsN(5)
			ncl, err := bitsN(4)
			if err != nil {
				return err
			}
			var cl [19]uint8
			for _, s := range clOrder[:ncl+4] {
				v, err := bitsN(3)
				if err != nil {
					return err
				}
				cl[s] = uint8(v)
			}
			var lens []uint8
			clt := table(cl[:])
			for len(lens) < nlit+257+ndist+1 {
				s, err := decode(clt)
				if err != nil {
					return err
				}
				switch {
				case s < 16:
					lens = append(lens, uint8(s))
				case s == 16:
					r, _ := bitsN(2)
					for range r + 3 {
						lens = append(lens, lens[len(lens)-1])
					}
				case s == 17:
					r, _ := bitsN(3)
					lens = append(lens, make([]uint8, r+3)...)
				default:
					r, _ := bitsN(7)
					lens = append(lens, make([]uint8, r+11)...)
				}
			}
			litLens, distLens = lens[:nlit+257], lens[nlit+257:]
		}
		lt, dt := table(litLens), table(distLens)
		for {
			s, err := decode(lt)
			if err != nil {
				return err
			}
			if s < 256 {
				out++
				continue
			}
			if s == 256 {
				break
			}
			lc := s - 257
			e, err := bitsN(lengthExtra[lc])
			if err != nil {
				return err
			}
			length := int(lengthBase[lc]) + e
			dc, err := decode(dt)
			if err != nil {
				return err
			}
			e, err = bitsN(distExtra[dc])
			if err != nil {
				return err
			}
			dist := int(distBase[dc]) + e
			if dist > window {
				return fmt.Errorf("distance %d beyond the %d-byte window", dist, window)
			}
			if dist > out {
				return fmt.Errorf("distance %d before the context (%d bytes)", dist, out)
			}
			out += length
		}
	}
}

func reverse(c uint16, n uint8) uint16 {
	var r uint16
	for range n {
		r = r<<1 | c&1
		c >>= 1
	}
	return r
}
