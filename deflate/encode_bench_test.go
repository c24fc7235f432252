package deflate

import (
	"compress/flate"
	"testing"

	"github.com/hybi/websocket/internal/corpus"
)

// encoderCorpora are the inputs of BenchmarkEncoder: Go's compress
// testdata, generated JSON messages of 64 B, 1 KiB and 16 KiB, and 16 KiB
// of the tests' text.
func encoderCorpora(tb testing.TB) []corpus.Corpus {
	all, err := corpus.All()
	if err != nil {
		tb.Fatal(err)
	}
	return append(all, corpus.Corpus{Name: "text16K", Msgs: [][]byte{textData(100, 16<<10)}})
}

// BenchmarkEncoder compares hybi's encoder with compress/flate at
// BestSpeed, one whole message per operation from a fresh context (no
// takeover), on each corpus; the ratio metric is compressed/original
// bytes. Compare the two rows of each corpus with benchstat:
//
//	go test -run XXX -bench Encoder -count 6 ./deflate | tee /tmp/enc.txt
func BenchmarkEncoder(b *testing.B) {
	for _, cp := range encoderCorpora(b) {
		total := 0
		for _, m := range cp.Msgs {
			total += len(m)
		}
		dst := make([]byte, 0, 2*total+1024)
		b.Run(cp.Name+"/impl=hybi", func(b *testing.B) {
			c, _ := NewCompressor(BestSpeed, true, 15)
			b.SetBytes(int64(total / len(cp.Msgs)))
			b.ReportAllocs()
			out, i := 0, 0
			for b.Loop() {
				p, _ := c.AppendMessage(dst[:0], cp.Msgs[i%len(cp.Msgs)])
				out += len(p)
				i++
			}
			b.ReportMetric(float64(out)/float64(i*total/len(cp.Msgs)), "ratio")
		})
		b.Run(cp.Name+"/impl=flate", func(b *testing.B) {
			s := sink{b: dst}
			w, _ := flate.NewWriter(&s, flate.BestSpeed)
			b.SetBytes(int64(total / len(cp.Msgs)))
			b.ReportAllocs()
			out, i := 0, 0
			for b.Loop() {
				s.b = s.b[:0]
				w.Reset(&s)
				w.Write(cp.Msgs[i%len(cp.Msgs)])
				w.Flush()
				out += len(s.b) - len(Tail)
				i++
			}
			b.ReportMetric(float64(out)/float64(i*total/len(cp.Msgs)), "ratio")
		})
	}
}
