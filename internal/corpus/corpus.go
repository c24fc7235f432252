// Package corpus generates the compression benchmarks' inputs, shared by
// package deflate's benchmarks and the peers' comparison in bench/micro:
// Go's compress testdata and JSON messages like those a WebSocket
// application sends.
package corpus

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// A Corpus is a named set of messages, compressed one at a time.
type Corpus struct {
	Name string
	Msgs [][]byte
}

// Size returns the mean message size.
func (c Corpus) Size() int {
	n := 0
	for _, m := range c.Msgs {
		n += len(m)
	}
	return n / len(c.Msgs)
}

// JSON returns n messages of about size bytes each: chat lines and market
// ticks, each message a JSON array of records that differ in their
// values. The same seed gives the same messages.
func JSON(seed uint64, n, size int) [][]byte {
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

// All returns Go's compress testdata files (found with `go env GOROOT`),
// one message each, and 16 JSON messages each of 64 B, 1 KiB and 16 KiB.
func All() ([]Corpus, error) {
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOROOT: %w", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(goroot)), "src", "compress", "testdata")
	var out []Corpus
	for _, f := range []string{"e.txt", "gettysburg.txt", "pi.txt"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		out = append(out, Corpus{f, [][]byte{data}})
	}
	for _, size := range []int{64, 1 << 10, 16 << 10} {
		out = append(out, Corpus{fmt.Sprintf("json%d", size), JSON(uint64(size), 16, size)})
	}
	return out, nil
}
