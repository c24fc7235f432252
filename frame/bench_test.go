package frame

import (
	"strconv"
	"testing"

	"github.com/hybi/websocket/mask"
)

func BenchmarkParseHeader(b *testing.B) {
	for _, n := range []int64{5, 1024, 1 << 20} {
		wire := AppendHeader(nil, Header{Fin: true, Opcode: OpBinary, Masked: true, Key: rfcKey, Length: n})
		b.Run(strconv.FormatInt(n, 10), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := ParseHeader(wire); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendHeader(b *testing.B) {
	buf := make([]byte, 0, MaxHeaderSize)
	for _, n := range []int64{5, 1024, 1 << 20} {
		h := Header{Fin: true, Opcode: OpBinary, Masked: true, Key: rfcKey, Length: n}
		b.Run(strconv.FormatInt(n, 10), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendHeader(buf[:0], h)
			}
		})
	}
}

func BenchmarkAppendFrameMasked(b *testing.B) {
	for _, n := range []int{16, 125, 1024, 16 << 10, 1 << 20} {
		payload := make([]byte, n)
		buf := make([]byte, 0, n+MaxHeaderSize)
		h := NewHeader(OpBinary, Mask, mask.Key{1, 2, 3, 4}, 0)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendFrame(buf[:0], h, payload)
			}
		})
	}
}
