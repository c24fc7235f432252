package deflate

import (
	"runtime"
	"testing"
)

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestMemoryPerConnection checks the decompression state a connection
// holds with context takeover, and that without it neither side holds
// anything between messages (both are pooled).
func TestMemoryPerConnection(t *testing.T) {
	inf := allocated(func() {
		d := NewDecompressor(false)
		d.Inflate(make([]byte, 16), []byte{0x00})
		runtime.KeepAlive(d)
	})
	if inf > 48<<10 {
		t.Fatalf("decompressor with context takeover holds %d bytes", inf)
	}
	c, _ := NewCompressor(BestSpeed, true, 15)
	c.AppendMessage(nil, []byte("hello"))
	d := NewDecompressor(true)
	d.Inflate(make([]byte, 16), append([]byte{0x00}, Tail[:]...))
	d.EndMessage()
	if c.e != nil || d.f != nil {
		t.Fatal("no context takeover: state held between messages")
	}
}

// TestCompressorHeldMemory measures the heap that compressors with context
// takeover keep between messages, per compressor over 200 of them that
// each sent a few messages, against the bounds of issue 14: 64 KiB at 15
// window bits and proportionally less at smaller windows.
func TestCompressorHeldMemory(t *testing.T) {
	msgs := testMessages()
	for _, tc := range []struct{ bits, limit int }{{15, 64 << 10}, {12, 16 << 10}, {9, 4 << 10}} {
		for _, level := range []int{BestSpeed, BestCompression} {
			const n = 200
			cs := make([]*Compressor, n)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			var dst []byte
			for i := range cs {
				cs[i], _ = NewCompressor(level, false, tc.bits)
				for _, m := range msgs[:4] {
					dst, _ = cs[i].AppendMessage(dst[:0], m)
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			per := (int(after.HeapAlloc) - int(before.HeapAlloc)) / n
			t.Logf("window %d bits, level %d: %d bytes held per compressor", tc.bits, level, per)
			if per > tc.limit {
				t.Errorf("window %d bits, level %d: %d bytes held per compressor, want at most %d", tc.bits, level, per, tc.limit)
			}
			runtime.KeepAlive(cs)
			runtime.KeepAlive(dst)
		}
	}
}
