package micro

import (
	"compress/flate"
	"io"
	"strconv"
	"strings"
	"testing"

	kflate "github.com/klauspost/compress/flate"

	"github.com/hybi/websocket/deflate"
	"github.com/hybi/websocket/internal/corpus"
)

// sink collects a compressor's output.
type sink struct{ b []byte }

func (s *sink) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

// BenchmarkDeflateEncode compresses one whole message per operation from
// a fresh context (no takeover), as a server without context takeover
// does: hybi's encoder at level 1, compress/flate at BestSpeed, and
// klauspost/compress's flate at level 1 as an external reference (the
// fastest DEFLATE encoder in Go; gws uses it). ratio is compressed/original
// bytes. On the JSON corpora a fourth row, lib=hybi-takeover, keeps one
// compressor with context takeover across a stream of 1024 distinct
// messages of the same generator (so no message repeats within the 32 KiB
// window), as a server with the browsers' default offer does: the ratio
// the default negotiation buys on small messages.
func BenchmarkDeflateEncode(b *testing.B) {
	all, err := corpus.All()
	if err != nil {
		b.Fatal(err)
	}
	for _, cp := range all {
		dst := make([]byte, 0, 2*cp.Size()+1024)
		b.Run(cp.Name+"/lib=hybi", func(b *testing.B) {
			c, _ := deflate.NewCompressor(deflate.BestSpeed, true, 15)
			run(b, cp, func(m []byte) int {
				p, _ := c.AppendMessage(dst[:0], m)
				return len(p)
			})
		})
		if size, ok := strings.CutPrefix(cp.Name, "json"); ok {
			n, _ := strconv.Atoi(size)
			stream := corpus.Corpus{Name: cp.Name, Msgs: corpus.JSON(uint64(n), 1024, n)}
			b.Run(cp.Name+"/lib=hybi-takeover", func(b *testing.B) {
				c, _ := deflate.NewCompressor(deflate.BestSpeed, false, 15)
				run(b, stream, func(m []byte) int {
					p, _ := c.AppendMessage(dst[:0], m)
					return len(p)
				})
			})
		}
		b.Run(cp.Name+"/lib=compress-flate", func(b *testing.B) {
			s := &sink{b: dst}
			w, _ := flate.NewWriter(s, flate.BestSpeed)
			run(b, cp, flusher(s, w, func() { w.Reset(s) }))
		})
		b.Run(cp.Name+"/lib=klauspost", func(b *testing.B) {
			s := &sink{b: dst}
			w, _ := kflate.NewWriter(s, 1)
			run(b, cp, flusher(s, w, func() { w.Reset(s) }))
		})
	}
}

// flusher compresses a message with a flate-like writer: reset, write,
// sync flush; the 4-byte sync marker is not counted (RFC 7692 removes it).
func flusher(s *sink, w interface {
	io.Writer
	Flush() error
}, reset func()) func([]byte) int {
	return func(m []byte) int {
		s.b = s.b[:0]
		reset()
		w.Write(m)
		w.Flush()
		return len(s.b) - 4
	}
}

func run(b *testing.B, cp corpus.Corpus, compress func([]byte) int) {
	b.SetBytes(int64(cp.Size()))
	b.ReportAllocs()
	in, out, i := 0, 0, 0
	for b.Loop() {
		m := cp.Msgs[i%len(cp.Msgs)]
		out += compress(m)
		in += len(m)
		i++
	}
	b.ReportMetric(float64(out)/float64(in), "ratio")
}
