package deflate

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
)

// testMessages is a message sequence with the awkward cases: empty
// messages, one byte, a repeat of an earlier message (a back-reference
// across messages under context takeover), and large mixed data.
func testMessages() [][]byte {
	text := textData(20, 16<<10)
	return [][]byte{
		text,
		{},
		{'x'},
		text, // identical to the first
		mixedData(21, 300_000),
		{},
		textData(22, 1000),
		make([]byte, 70_000),
		text[100:9000],
	}
}

// sendSide compresses msgs. When uncompressed[i] is set the message is sent
// as is (RSV1 clear): it goes through neither compressor nor inflater, and
// under context takeover must not desynchronise them (RFC 7692 §6).
func compressAll(t *testing.T, c *Compressor, msgs [][]byte, uncompressed func(int) bool, chunk int) [][]byte {
	t.Helper()
	var out [][]byte
	for i, m := range msgs {
		if uncompressed(i) {
			out = append(out, nil)
			continue
		}
		var p []byte
		for len(m) > 0 { // streaming, as NextWriter would
			k := min(chunk, len(m))
			if _, err := c.Write(m[:k]); err != nil {
				t.Fatal(err)
			}
			p = append(p, c.Next()...)
			m = m[k:]
		}
		last, err := c.Finish()
		if err != nil {
			t.Fatal(err)
		}
		p = append(p, last...)
		out = append(out, p)
	}
	return out
}

// TestRoundTrip: Compressor -> Decompressor (the conn path) and
// Compressor -> compress/flate reader, with and without context takeover,
// at several levels and window limits, with uncompressed messages in
// between.
func TestRoundTrip(t *testing.T) {
	msgs := testMessages()
	for _, takeover := range []bool{true, false} {
		for _, level := range []int{flate.HuffmanOnly, flate.NoCompression, flate.BestSpeed, flate.DefaultCompression, flate.BestCompression} {
			for _, bits := range []int{15, 9} {
				for _, skip := range []string{"none", "odd"} {
					name := fmt.Sprintf("takeover=%v/level%d/window%d/uncompressed=%s", takeover, level, bits, skip)
					t.Run(name, func(t *testing.T) {
						c, err := NewCompressor(level, !takeover, bits)
						if err != nil {
							t.Fatal(err)
						}
						uncompressed := func(i int) bool { return skip == "odd" && i%2 == 1 }
						payloads := compressAll(t, c, msgs, uncompressed, 5000)
						if !takeover && c.e != nil {
							t.Fatal("no takeover: the compressor kept its encoder between messages")
						}
						if takeover && level > 0 && c.e == nil {
							t.Fatal("takeover: the compressor dropped its encoder")
						}

						d := NewDecompressor(!takeover)
						rng := rand.New(rand.NewPCG(uint64(level+3), uint64(bits)))
						for i, p := range payloads {
							if uncompressed(i) {
								continue
							}
							got, err := decompressMessage(d, p, rng)
							if err != nil {
								t.Fatalf("message %d: %v", i, err)
							}
							if !bytes.Equal(got, msgs[i]) {
								t.Fatalf("message %d: got %d bytes, want %d", i, len(got), len(msgs[i]))
							}
							if !takeover && d.f != nil {
								t.Fatal("no takeover: the decompressor kept its Inflater between messages")
							}
						}

						// compress/flate reads the same stream: under takeover
						// all messages are one DEFLATE stream; without, each
						// message is one.
						var stream []byte
						for i, p := range payloads {
							if uncompressed(i) {
								continue
							}
							if !takeover {
								stream = stream[:0]
							}
							stream = append(append(stream, p...), Tail[:]...)
							if !takeover {
								checkFlateReads(t, stream, msgs[i:i+1])
							}
						}
						if takeover {
							var want [][]byte
							for i := range msgs {
								if !uncompressed(i) {
									want = append(want, msgs[i])
								}
							}
							checkFlateReads(t, stream, want)
						}
					})
				}
			}
		}
	}
}

func checkFlateReads(t *testing.T, stream []byte, msgs [][]byte) {
	t.Helper()
	r := flate.NewReader(bytes.NewReader(stream))
	for i, m := range msgs {
		got := make([]byte, len(m))
		if _, err := io.ReadFull(r, got); err != nil {
			t.Fatalf("compress/flate, message %d: %v", i, err)
		}
		if !bytes.Equal(got, m) {
			t.Fatalf("compress/flate, message %d differs", i)
		}
	}
}

// decompressMessage feeds payload then Tail through d in random pieces and
// ends the message, as conn does.
func decompressMessage(d *Decompressor, payload []byte, rng *rand.Rand) ([]byte, error) {
	var got []byte
	out := make([]byte, 4096)
	for _, in := range [][]byte{payload, Tail[:]} {
		for {
			o := out[:1+rng.IntN(len(out))]
			k := min(len(in), 1+rng.IntN(3000))
			n, m, err := d.Inflate(o, in[:k])
			got = append(got, o[:n]...)
			if err != nil {
				return got, err
			}
			in = in[m:]
			if len(in) == 0 && n < len(o) {
				break
			}
		}
	}
	d.EndMessage()
	return got, d.Err()
}

// TestWindowRatio: the compressor uses back-references at every window
// size, so text compresses much better than with Huffman coding alone even
// at 8 bits. It logs the sizes docs/performance.md quotes (go test -run
// TestWindowRatio -v ./deflate).
func TestWindowRatio(t *testing.T) {
	text := textData(100, 16<<10)
	size := func(level, bits int) int {
		c, err := NewCompressor(level, false, bits)
		if err != nil {
			t.Fatal(err)
		}
		p, err := c.AppendMessage(nil, text)
		if err != nil {
			t.Fatal(err)
		}
		return len(p)
	}
	huffman := size(HuffmanOnly, 15)
	t.Logf("%d bytes of text: %d Huffman-only", len(text), huffman)
	if huffman > len(text)*6/10 {
		t.Errorf("Huffman-only: %d bytes of %d, want at most 60%%", huffman, len(text))
	}
	for _, bits := range []int{8, 9, 12, 15} {
		for _, level := range []int{BestSpeed, BestCompression} {
			n := size(level, bits)
			t.Logf("window %2d bits, level %d: %d bytes", bits, level, n)
			if n > huffman*9/10 {
				t.Errorf("window %d bits, level %d: %d bytes, Huffman-only %d: want at least 10%% smaller", bits, level, n, huffman)
			}
		}
	}
}

// TestCompressorWindowLimit: no back-reference reaches further than the
// negotiated window (RFC 7692 §7.1.2.1). 200 random bytes repeated after
// zeros, at a distance of exactly the window, are matched; one byte
// further they cannot be, and the message is about 200 bytes longer.
func TestCompressorWindowLimit(t *testing.T) {
	const r = 200
	for bits := MinWindowBits; bits <= MaxWindowBits; bits++ {
		w := 1 << bits
		for _, level := range []int{BestSpeed, BestCompression} {
			size := func(dist int) int {
				x := make([]byte, r)
				rand.NewChaCha8([32]byte{byte(bits)}).Read(x)
				msg := append(append(x, make([]byte, dist-r)...), x...)
				c, err := NewCompressor(level, false, bits)
				if err != nil {
					t.Fatal(err)
				}
				p, err := c.AppendMessage(nil, msg)
				if err != nil {
					t.Fatal(err)
				}
				var f Inflater
				got, err := inflateMessage(&f, p, choppers[0], nil)
				if err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("round trip: %d bytes, %v", len(got), err)
				}
				return len(p)
			}
			in, out := size(w), size(w+1)
			if out-in < r*3/4 {
				t.Errorf("window %d, level %d: %d bytes with the repeat at distance %d, %d at %d: want the first matched and the second not", bits, level, in, w, out, w+1)
			}
		}
	}
	// Level 0 stays stored at every window.
	zeros := make([]byte, 100_000)
	c, _ := NewCompressor(NoCompression, false, 8)
	p, _ := c.AppendMessage(nil, zeros)
	if len(p) < len(zeros) || len(p) > len(zeros)+100 {
		t.Fatalf("level 0: %d compressed bytes for %d", len(p), len(zeros))
	}
}

// TestCompressorEmpty: RFC 7692 §7.2.3.6, an empty message is the single
// octet 0x00, fresh and after other messages under context takeover.
func TestCompressorEmpty(t *testing.T) {
	for _, takeover := range []bool{true, false} {
		c, _ := NewCompressor(6, !takeover, 15)
		for i := range 3 {
			p, err := c.AppendMessage(nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(p, []byte{0x00}) {
				t.Fatalf("takeover=%v, empty message %d: % x, want 00", takeover, i, p)
			}
			if _, err := c.AppendMessage(nil, []byte("some data")); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestNewCompressorErrors(t *testing.T) {
	for _, tt := range []struct {
		name        string
		level, bits int
	}{
		{"level 10", 10, 15},
		{"level -3", -3, 15},
		{"window 7", 6, 7},
		{"window 16", 6, 16},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewCompressor(tt.level, false, tt.bits); err == nil {
				t.Fatal("no error")
			}
		})
	}
	c, _ := NewCompressor(1, false, 15)
	c.Write([]byte("open"))
	if _, err := c.AppendMessage(nil, []byte("x")); err == nil {
		t.Fatal("AppendMessage with a message open: no error")
	}
}

// TestDecompressorTruncated: a message that does not end at a block
// boundary fails, reported by Err and by the next Inflate.
func TestDecompressorTruncated(t *testing.T) {
	d := NewDecompressor(true)
	_, err := decompressMessage(d, []byte{0x00, 0x0a, 0x00, 0xf5, 0xff, 'a'}, rand.New(rand.NewPCG(1, 1)))
	if !errors.Is(err, errTruncated) {
		t.Fatalf("Err() = %v", err)
	}
	if _, _, err := d.Inflate(make([]byte, 8), []byte{0}); !errors.Is(err, errTruncated) {
		t.Fatalf("next Inflate: %v", err)
	}
}

// TestCompressAllocs pins zero allocations per message in steady state.
func TestCompressAllocs(t *testing.T) {
	msg := textData(23, 16<<10)
	for _, takeover := range []bool{true, false} {
		c, _ := NewCompressor(6, !takeover, 15)
		d := NewDecompressor(!takeover)
		dst := make([]byte, 0, 32<<10)
		out := make([]byte, 4096)
		run := func() {
			p, err := c.AppendMessage(dst[:0], msg)
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, in := range [][]byte{p, Tail[:]} {
				for {
					n, m, err := d.Inflate(out, in)
					if err != nil {
						t.Fatal(err)
					}
					total += n
					in = in[m:]
					if len(in) == 0 && n < len(out) {
						break
					}
				}
			}
			d.EndMessage()
			if total != len(msg) {
				t.Fatalf("%d bytes", total)
			}
		}
		run()
		if raceEnabled {
			continue // the race detector's sync.Pool drops items (the encoder's scratch, the pooled state)
		}
		if allocs := testing.AllocsPerRun(20, run); allocs != 0 {
			t.Errorf("takeover=%v: %v allocations per message, want 0", takeover, allocs)
		}
	}
}
