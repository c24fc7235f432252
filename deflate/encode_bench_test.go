package deflate

import (
	"bytes"
	"compress/flate"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// jsonMessages returns n messages of about size bytes each: chat lines and
// market ticks as a WebSocket application sends them, each message a JSON
// array of records that differ in their values.
func jsonMessages(seed uint64, n, size int) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	words := []string{"hello", "there", "the", "market", "is", "up", "again", "see", "you", "at", "lunch", "ok", "thanks", "👍"}
	syms := []string{"BTC-USD", "ETH-USD", "SOL-USD", "AAPL", "MSFT", "EUR-USD"}
	msgs := make([][]byte, n)
	for i := range msgs {
		var b bytes.Buffer
		b.WriteByte('[')
		for b.Len() < size-2 {
			if b.Len() > 1 {
				b.WriteByte(',')
			}
			if rng.IntN(2) == 0 {
				fmt.Fprintf(&b, `{"type":"message","room":"general","user":"user%d","text":"`, rng.IntN(1000))
				for w := range 3 + rng.IntN(8) {
					if w > 0 {
						b.WriteByte(' ')
					}
					b.WriteString(words[rng.IntN(len(words))])
				}
				fmt.Fprintf(&b, `","ts":%d}`, 1733400000000+rng.Int64N(1e6))
			} else {
				fmt.Fprintf(&b, `{"sym":"%s","bid":%.2f,"ask":%.2f,"vol":%d,"ts":%d}`,
					syms[rng.IntN(len(syms))], 100+rng.Float64()*1000, 100+rng.Float64()*1000, rng.IntN(1e6), 1733400000000+rng.Int64N(1e6))
			}
		}
		b.WriteByte(']')
		msgs[i] = b.Bytes()[:min(b.Len(), size)]
	}
	return msgs
}

// encoderCorpora are the inputs of BenchmarkEncoder: Go's compress
// testdata and generated JSON messages of 64 B, 1 KiB and 16 KiB.
func encoderCorpora(tb testing.TB) []struct {
	name string
	msgs [][]byte
} {
	var out []struct {
		name string
		msgs [][]byte
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		tb.Fatalf("go env GOROOT: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(goroot)), "src", "compress", "testdata")
	for _, f := range []string{"e.txt", "gettysburg.txt", "pi.txt"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			tb.Fatalf("compress testdata: %v", err)
		}
		out = append(out, struct {
			name string
			msgs [][]byte
		}{f, [][]byte{data}})
	}
	for _, size := range []int{64, 1 << 10, 16 << 10} {
		out = append(out, struct {
			name string
			msgs [][]byte
		}{fmt.Sprintf("json%d", size), jsonMessages(uint64(size), 16, size)})
	}
	out = append(out, struct {
		name string
		msgs [][]byte
	}{"text16K", [][]byte{textData(100, 16<<10)}})
	return out
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
		for _, m := range cp.msgs {
			total += len(m)
		}
		dst := make([]byte, 0, 2*total+1024)
		b.Run(cp.name+"/impl=hybi", func(b *testing.B) {
			c, _ := NewCompressor(BestSpeed, true, 15)
			b.SetBytes(int64(total / len(cp.msgs)))
			b.ReportAllocs()
			out, i := 0, 0
			for b.Loop() {
				p, _ := c.AppendMessage(dst[:0], cp.msgs[i%len(cp.msgs)])
				out += len(p)
				i++
			}
			b.ReportMetric(float64(out)/float64(i*total/len(cp.msgs)), "ratio")
		})
		b.Run(cp.name+"/impl=flate", func(b *testing.B) {
			s := sink{b: dst}
			w, _ := flate.NewWriter(&s, flate.BestSpeed)
			b.SetBytes(int64(total / len(cp.msgs)))
			b.ReportAllocs()
			out, i := 0, 0
			for b.Loop() {
				s.b = s.b[:0]
				w.Reset(&s)
				w.Write(cp.msgs[i%len(cp.msgs)])
				w.Flush()
				out += len(s.b) - len(Tail)
				i++
			}
			b.ReportMetric(float64(out)/float64(i*total/len(cp.msgs)), "ratio")
		})
	}
}
