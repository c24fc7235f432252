package deflate

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"testing"
)

// Benchmark payloads: 16 KiB of text and 1 MiB of mixed data (text,
// random bytes, zeros, short patterns and JSON records), compressed at the
// default level.
var benchPayloads = []struct {
	name string
	data []byte
}{
	{"text16K", textData(100, 16<<10)},
	{"mixed1M", mixedData(101, 1<<20)},
}

func compressed(b *testing.B, data []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	w.Write(data)
	w.Flush()
	return bytes.TrimSuffix(buf.Bytes(), Tail[:])
}

// BenchmarkInflate compares the Inflater with compress/flate's reader on
// the same payloads, each message decoded from a fresh state into a 16 KiB
// buffer.
func BenchmarkInflate(b *testing.B) {
	for _, p := range benchPayloads {
		payload := compressed(b, p.data)
		out := make([]byte, 16<<10)
		b.Run(p.name+"/hybi", func(b *testing.B) {
			var f Inflater
			b.SetBytes(int64(len(p.data)))
			b.ReportAllocs()
			for b.Loop() {
				f.Reset()
				n, err := inflateCount(&f, payload, out)
				if err != nil || n != len(p.data) {
					b.Fatal(n, err)
				}
			}
		})
		b.Run(p.name+"/compress-flate", func(b *testing.B) {
			stream := append(bytes.Clone(payload), Tail[:]...)
			src := bytes.NewReader(stream)
			r := flate.NewReader(src)
			b.SetBytes(int64(len(p.data)))
			b.ReportAllocs()
			for b.Loop() {
				src.Reset(stream)
				r.(flate.Resetter).Reset(src, nil)
				n := 0
				for n < len(p.data) {
					k, err := r.Read(out)
					n += k
					if err != nil && err != io.EOF {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkInflateTakeover decodes a stream of 16 KiB text messages with
// the window kept (context takeover), through the Decompressor as conn
// drives it.
func BenchmarkInflateTakeover(b *testing.B) {
	msgs := make([][]byte, 64)
	for i := range msgs {
		msgs[i] = textData(uint64(200+i), 16<<10)
	}
	c, _ := NewCompressor(flate.DefaultCompression, false, 15)
	payloads := make([][]byte, len(msgs))
	for i, m := range msgs {
		payloads[i], _ = c.AppendMessage(nil, m)
	}
	out := make([]byte, 4096)
	for _, mode := range []string{"takeover", "no-takeover"} {
		b.Run(mode, func(b *testing.B) {
			if mode == "no-takeover" {
				c, _ := NewCompressor(flate.DefaultCompression, true, 15)
				for i, m := range msgs {
					payloads[i], _ = c.AppendMessage(nil, m)
				}
			}
			d := NewDecompressor(mode == "no-takeover")
			b.SetBytes(16 << 10)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				for _, in := range [][]byte{payloads[i], Tail[:]} {
					for {
						n, m, err := d.Inflate(out, in)
						if err != nil {
							b.Fatal(err)
						}
						in = in[m:]
						if len(in) == 0 && n < len(out) {
							break
						}
					}
				}
				d.EndMessage()
				if i++; i == len(payloads) {
					i = 0
					if mode == "takeover" {
						d.f.Reset() // the stream starts over
					}
				}
			}
		})
	}
}

// BenchmarkCompress measures the Compressor (compress/flate's Writer with
// the tail handling and pooling) per message, with and without context
// takeover, at BestSpeed and the default level, against a bare flate.Writer
// Reset+Write+Flush. The 16 KiB case rotates through 16 different texts so
// takeover does not see the same message again.
func BenchmarkCompress(b *testing.B) {
	for _, p := range benchPayloads {
		msgs := [][]byte{p.data}
		if len(p.data) < 1<<20 {
			for i := range 15 {
				msgs = append(msgs, textData(uint64(300+i), len(p.data)))
			}
		}
		dst := make([]byte, 0, len(p.data)+1024)
		for _, level := range []int{flate.BestSpeed, flate.DefaultCompression} {
			for _, mode := range []string{"takeover", "no-takeover"} {
				b.Run(fmt.Sprintf("%s/level%d/%s", p.name, level, mode), func(b *testing.B) {
					c, _ := NewCompressor(level, mode == "no-takeover", 15)
					b.SetBytes(int64(len(p.data)))
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						if _, err := c.AppendMessage(dst[:0], msgs[i%len(msgs)]); err != nil {
							b.Fatal(err)
						}
						i++
					}
				})
			}
			b.Run(fmt.Sprintf("%s/level%d/compress-flate-reset", p.name, level), func(b *testing.B) {
				var s sink
				s.b = dst
				w, _ := flate.NewWriter(&s, level)
				b.SetBytes(int64(len(p.data)))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					s.b = s.b[:0]
					w.Reset(&s)
					w.Write(msgs[i%len(msgs)])
					w.Flush()
					i++
				}
			})
		}
	}
}

// sink collects compress/flate's output for the comparison rows.
type sink struct{ b []byte }

func (s *sink) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}
