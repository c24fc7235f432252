package micro

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/gobwas/ws"
	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/mask"
)

var maskSizes = []int{16, 125, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 1 << 20}

func sizeName(n int) string {
	switch {
	case n >= 1<<20:
		return strconv.Itoa(n>>20) + "MiB"
	case n >= 1<<10:
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}

var key = mask.Key{0x37, 0xfa, 0x21, 0x3d}

// BenchmarkMask masks a payload in place; copy, which reads and writes as
// many bytes, is the limit.
func BenchmarkMask(b *testing.B) {
	for _, n := range maskSizes {
		b.Run(sizeName(n), func(b *testing.B) {
			buf := make([]byte, n)
			b.Run("lib=hybi", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(n))
				for b.Loop() {
					mask.Apply(key, 0, buf)
				}
			})
			b.Run("lib=gobwas", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(n))
				for b.Loop() {
					ws.Cipher(buf, key, 0)
				}
			})
			b.Run("lib=copy", func(b *testing.B) {
				src := make([]byte, n)
				b.ReportAllocs()
				b.SetBytes(int64(n))
				for b.Loop() {
					copy(buf, src)
				}
			})
		})
	}
}

var headers = []struct {
	name   string
	length int64
}{
	{"len=125", 125},      // 7-bit length
	{"len=1000", 1000},    // 16-bit length
	{"len=1MiB", 1 << 20}, // 64-bit length
}

// sliceWriter appends what is written to it, for ws.WriteHeader.
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// BenchmarkHeaderEncode encodes a masked client frame header.
func BenchmarkHeaderEncode(b *testing.B) {
	for _, hc := range headers {
		b.Run(hc.name, func(b *testing.B) {
			b.Run("lib=hybi", func(b *testing.B) {
				h := frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Key: key, Length: hc.length}
				dst := make([]byte, 0, frame.MaxHeaderSize)
				b.ReportAllocs()
				for b.Loop() {
					dst = frame.AppendHeader(dst[:0], h)
				}
			})
			b.Run("lib=gobwas", func(b *testing.B) {
				h := ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: key, Length: hc.length}
				w := &sliceWriter{b: make([]byte, 0, ws.MaxHeaderSize)}
				b.ReportAllocs()
				for b.Loop() {
					w.b = w.b[:0]
					if err := ws.WriteHeader(w, h); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkHeaderDecode decodes the same headers.
func BenchmarkHeaderDecode(b *testing.B) {
	for _, hc := range headers {
		wire := frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Key: key, Length: hc.length})
		b.Run(hc.name, func(b *testing.B) {
			b.Run("lib=hybi", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					h, _, err := frame.ParseHeader(wire)
					if err != nil || h.Length != hc.length {
						b.Fatal(h, err)
					}
				}
			})
			b.Run("lib=gobwas", func(b *testing.B) {
				r := bytes.NewReader(wire)
				b.ReportAllocs()
				for b.Loop() {
					r.Reset(wire)
					h, err := ws.ReadHeader(r)
					if err != nil || h.Length != hc.length {
						b.Fatal(h, err)
					}
				}
			})
		})
	}
}
