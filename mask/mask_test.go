package mask

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// impl is one implementation of the masking kernel, with the signature of
// apply: XOR b in place with the little-endian key word k, starting at key
// index pos&3.
type impl struct {
	name string
	fn   func(b []byte, k uint32, pos int)
}

// impls lists every implementation that can run on this machine. The
// architecture-specific test files append theirs in init.
var impls = []impl{
	{"Apply", func(b []byte, k uint32, pos int) { Apply(keyOf(k), pos, b) }},
	{"generic", generic},
}

func generic(b []byte, k uint32, pos int) { applyGeneric(b, rotate(k, pos)) }

// applyWith is Apply built on one kernel.
func applyWith(fn func([]byte, uint32, int), key Key, pos int, b []byte) int {
	fn(b, binary.LittleEndian.Uint32(key[:]), pos)
	return (pos + len(b)) & 3
}

// keyOf returns the key whose little-endian word is k.
func keyOf(k uint32) Key {
	var key Key
	binary.LittleEndian.PutUint32(key[:], k)
	return key
}

// reference is the definition in RFC 6455 §5.3, one byte at a time.
func reference(key Key, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return (pos + len(b)) & 3
}

func TestImplementation(t *testing.T) {
	t.Logf("Apply uses %s", implementation())
}

func TestApplyGolden(t *testing.T) {
	// RFC 6455 §5.7: "A single-frame masked text message
	// 0x81 0x85 0x37 0xfa 0x21 0x3d 0x7f 0x9f 0x4d 0x51 0x58
	// (contains "Hello")".
	rfcKey := Key{0x37, 0xfa, 0x21, 0x3d}
	rfcMasked := []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58}
	tests := []struct {
		name    string
		key     Key
		pos     int
		in      []byte
		want    []byte
		wantPos int
	}{
		{"rfc 5.7 hello", rfcKey, 0, []byte("Hello"), rfcMasked, 1},
		{"rfc 5.7 unmask", rfcKey, 0, rfcMasked, []byte("Hello"), 1},
		{"rfc 5.7 tail from pos 2", rfcKey, 2, []byte("llo"), rfcMasked[2:], 1},
		{"empty keeps pos", rfcKey, 3, []byte{}, []byte{}, 3},
		{"nil", rfcKey, 1, nil, nil, 1},
		{"zero key is identity", Key{}, 0, []byte("unchanged"), []byte("unchanged"), 1},
		{"pos is taken mod 4", Key{1, 2, 3, 4}, 6, []byte{0, 0, 0, 0, 0}, []byte{3, 4, 1, 2, 3}, 3},
		{"negative pos wraps", Key{1, 2, 3, 4}, -1, []byte{0, 0, 0}, []byte{4, 1, 2}, 2},
		{"long run from negative pos", Key{1, 2, 3, 4}, -7, make([]byte, 21), []byte{2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2}, 2},
		{"pos near MaxInt", Key{1, 2, 3, 4}, math.MaxInt, make([]byte, 40), bytes.Repeat([]byte{4, 1, 2, 3}, 10), 3},
		{"all ones key", Key{0xff, 0xff, 0xff, 0xff}, 0, []byte{0x0f, 0xf0, 0x00, 0xff, 0x55}, []byte{0xf0, 0x0f, 0xff, 0x00, 0xaa}, 1},
	}
	for _, im := range impls {
		for _, tt := range tests {
			t.Run(im.name+"/"+tt.name, func(t *testing.T) {
				got := bytes.Clone(tt.in)
				gotPos := applyWith(im.fn, tt.key, tt.pos, got)
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("masked bytes (-want +got):\n%s", diff)
				}
				if gotPos != tt.wantPos {
					t.Errorf("next pos = %d, want %d", gotPos, tt.wantPos)
				}
			})
		}
	}
}

// guard fills the bytes around a test slice, so that a write outside the
// slice is detected.
const guard = 0xA5

// TestApplyLengths checks every length 0..300 at every key position (and
// at positions that are negative or near the ends of int) and at slice
// offsets 0..7 against the reference, and that no byte outside the slice
// changes.
var positions = []int{0, 1, 2, 3, -1, -6, math.MaxInt, math.MinInt + 1}

func TestApplyLengths(t *testing.T) {
	key := Key{0x12, 0x9a, 0xc3, 0x7e}
	rng := rand.New(rand.NewPCG(1, 2))
	const maxLen, pad = 300, 40
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			buf := make([]byte, pad+maxLen+pad)
			want := make([]byte, len(buf))
			for n := 0; n <= maxLen; n++ {
				for _, pos := range positions {
					for off := range 8 {
						for i := range buf {
							buf[i] = guard
						}
						b := buf[pad+off : pad+off+n]
						for i := range b {
							b[i] = byte(rng.Uint32())
						}
						copy(want, buf)
						wantPos := reference(key, pos, want[pad+off:pad+off+n])
						gotPos := applyWith(im.fn, key, pos, b)
						if !bytes.Equal(buf, want) {
							t.Fatalf("len %d pos %d offset %d: %s", n, pos, off, describeDiff(want, buf, pad+off, n))
						}
						if gotPos != wantPos {
							t.Fatalf("len %d pos %d: next pos = %d, want %d", n, pos, gotPos, wantPos)
						}
					}
				}
			}
		})
	}
}

// TestApplyAlignments checks longer runs at 64 consecutive offsets, which
// cover every address modulo 32 whatever the alignment of the buffer, since
// the AVX2 kernel aligns its stores for runs of 256 bytes or more.
func TestApplyAlignments(t *testing.T) {
	key := Key{0x5c, 0x01, 0xe7, 0x90}
	rng := rand.New(rand.NewPCG(5, 6))
	const pad = 64
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			for _, n := range []int{255, 256, 257, 259, 287, 288, 300, 511, 1000, 4099} {
				buf := make([]byte, pad+64+4099+pad)
				want := make([]byte, len(buf))
				for off := range 64 {
					for pos := range 4 {
						for i := range buf {
							buf[i] = guard
						}
						b := buf[pad+off : pad+off+n]
						for i := range b {
							b[i] = byte(rng.Uint32())
						}
						copy(want, buf)
						reference(key, pos, want[pad+off:pad+off+n])
						applyWith(im.fn, key, pos, b)
						if !bytes.Equal(buf, want) {
							t.Fatalf("len %d pos %d offset %d: %s", n, pos, off, describeDiff(want, buf, pad+off, n))
						}
					}
				}
			}
		})
	}
}

// describeDiff names the first differing byte of a buffer in which the
// slice under test starts at start and is n bytes long.
func describeDiff(want, got []byte, start, n int) string {
	for i := range want {
		if want[i] != got[i] {
			where := "inside the slice"
			if i < start || i >= start+n {
				where = "OUTSIDE the slice"
			}
			return fmt.Sprintf("first difference at slice index %d (%s): got %#02x, want %#02x", i-start, where, got[i], want[i])
		}
	}
	return "no difference"
}

// TestApplyChunked masks large buffers at unaligned offsets in random
// chunks, resuming at the returned position, and compares with the
// reference over the whole buffer. The seed is fixed so a failure replays.
func TestApplyChunked(t *testing.T) {
	sizes := []int{1, 127, 4096, 65536 + 3, 1 << 20}
	if testing.Short() {
		sizes = sizes[:4]
	}
	for _, im := range impls {
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s/%d", im.name, size), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(size), 0x6455))
				var key Key
				for i := range key {
					key[i] = byte(rng.Uint32())
				}
				const pad = 16
				for round := range 3 {
					off := 1 + rng.IntN(7)
					buf := make([]byte, pad+size+pad)
					for i := range buf {
						buf[i] = byte(rng.Uint32())
					}
					want := bytes.Clone(buf)
					pos0 := rng.IntN(4)
					reference(key, pos0, want[pad+off:pad+off+size])

					b := buf[pad+off : pad+off+size]
					pos := pos0
					for len(b) > 0 {
						var n int
						switch rng.IntN(3) {
						case 0:
							n = rng.IntN(17)
						case 1:
							n = rng.IntN(300)
						default:
							n = rng.IntN(70000)
						}
						n = min(n, len(b))
						pos = applyWith(im.fn, key, pos, b[:n])
						b = b[n:]
					}
					if !bytes.Equal(buf, want) {
						t.Fatalf("round %d offset %d: %s", round, off, describeDiff(want, buf, pad+off, size))
					}
					if wantPos := (pos0 + size) & 3; pos != wantPos {
						t.Fatalf("round %d: final pos = %d, want %d", round, pos, wantPos)
					}
				}
			})
		}
	}
}

// TestApplyInvolution checks that masking twice restores the input.
func TestApplyInvolution(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	orig := make([]byte, 5000)
	for i := range orig {
		orig[i] = byte(rng.Uint32())
	}
	key := Key{0xde, 0xad, 0xbe, 0xef}
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			b := bytes.Clone(orig)
			applyWith(im.fn, key, 1, b)
			if bytes.Equal(b, orig) {
				t.Fatal("masking with a non-zero key changed nothing")
			}
			applyWith(im.fn, key, 1, b)
			if !bytes.Equal(b, orig) {
				t.Fatalf("mask twice: %s", describeDiff(orig, b, 0, len(b)))
			}
		})
	}
}

func TestNewKeyDistinct(t *testing.T) {
	// More keys than one 4 KiB batch holds, so refills are exercised.
	const n = 10000
	seen := make(map[Key]int, n)
	for range n {
		seen[NewKey()]++
	}
	// n random 32-bit keys collide with probability about n²/2³³ ≈ 1%;
	// more than a handful of repeats means the source hands out bytes
	// twice or is not random.
	if len(seen) < n-5 {
		t.Fatalf("%d keys, only %d distinct", n, len(seen))
	}
	var zeroBytes int
	for k := range seen {
		for _, c := range k {
			if c == 0 {
				zeroBytes++
			}
		}
	}
	// 40000 random bytes hold about 156 zeros; a source of zeros would
	// fail the distinct test, a mostly-zero one fails here.
	if zeroBytes > 400 {
		t.Fatalf("%d of %d key bytes are zero", zeroBytes, 4*len(seen))
	}
}

// TestNewKeyConcurrent draws keys from several goroutines (run it with
// -race) and checks that no bytes were handed out twice.
func TestNewKeyConcurrent(t *testing.T) {
	const workers, perWorker = 8, 2000
	got := make([][]Key, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			keys := make([]Key, perWorker)
			for i := range keys {
				keys[i] = NewKey()
			}
			got[w] = keys
		})
	}
	wg.Wait()
	seen := make(map[Key]bool, workers*perWorker)
	for _, keys := range got {
		for _, k := range keys {
			seen[k] = true
		}
	}
	if total := workers * perWorker; len(seen) < total-5 {
		t.Fatalf("%d keys from %d goroutines, only %d distinct", total, workers, len(seen))
	}
}

func TestKeySourceDistinct(t *testing.T) {
	// Keys from two sources and from NewKey, interleaved, over several
	// refills of both the sources and the shared batch.
	const n = 3000
	var s1, s2 KeySource
	seen := make(map[Key]int, 3*n)
	for range n {
		seen[s1.Next()]++
		seen[NewKey()]++
		seen[s2.Next()]++
	}
	if len(seen) < 3*n-5 {
		t.Fatalf("%d keys, only %d distinct", 3*n, len(seen))
	}
}

// TestKeySourceSequence checks that a source hands out its buffer in order,
// four bytes per key, and refills when it is used up.
func TestKeySourceSequence(t *testing.T) {
	var s KeySource
	first := s.Next()
	if diff := cmp.Diff(Key(s.buf[0:4]), first); diff != "" {
		t.Fatalf("first key is not the first 4 bytes of the refilled buffer (-want +got):\n%s", diff)
	}
	wantBuf := s.buf
	for i := 4; i < len(wantBuf); i += 4 {
		if diff := cmp.Diff(Key(wantBuf[i:i+4]), s.Next()); diff != "" {
			t.Fatalf("key at buffer offset %d (-want +got):\n%s", i, diff)
		}
	}
	if s.left != 0 {
		t.Fatalf("left = %d after using the whole buffer", s.left)
	}
	next := s.Next()
	if s.buf == wantBuf {
		t.Fatal("buffer not refilled after it was used up")
	}
	if diff := cmp.Diff(Key(s.buf[0:4]), next); diff != "" {
		t.Fatalf("first key after refill (-want +got):\n%s", diff)
	}
}

func TestAllocs(t *testing.T) {
	b := make([]byte, 1024)
	key := Key{1, 2, 3, 4}
	var src KeySource
	tests := []struct {
		name string
		fn   func()
	}{
		{"Apply", func() { Apply(key, 1, b) }},
		{"Apply/small", func() { Apply(key, 3, b[:7]) }},
		{"NewKey", func() { key = NewKey() }},
		{"KeySource", func() { key = src.Next() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := testing.AllocsPerRun(1000, tt.fn); got != 0 {
				t.Errorf("allocs per run = %v, want 0", got)
			}
		})
	}
}

var benchSizes = []int{16, 125, 1024, 16384, 1 << 20}

func benchKernel(b *testing.B, fn func([]byte, uint32, int)) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			buf := make([]byte, size)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			key := Key{0x37, 0xfa, 0x21, 0x3d}
			stop := measureCPU(b, size)
			for b.Loop() {
				applyWith(fn, key, 1, buf)
			}
			stop()
		})
	}
}

func BenchmarkApply(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			buf := make([]byte, size)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			key := Key{0x37, 0xfa, 0x21, 0x3d}
			stop := measureCPU(b, size)
			for b.Loop() {
				Apply(key, 1, buf)
			}
			stop()
		})
	}
}

func BenchmarkApplyGeneric(b *testing.B) { benchKernel(b, generic) }

// BenchmarkCopy is the hardware reference: copy reads and writes every
// byte once, as masking in place does.
func BenchmarkCopy(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			src := make([]byte, size)
			dst := make([]byte, size)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			stop := measureCPU(b, size)
			for b.Loop() {
				copy(dst, src)
			}
			stop()
		})
	}
}

func BenchmarkNewKey(b *testing.B) {
	b.ReportAllocs()
	stop := measureCPU(b, 0)
	for b.Loop() {
		NewKey()
	}
	stop()
}

func BenchmarkNewKeyParallel(b *testing.B) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			NewKey()
		}
	})
}

func BenchmarkKeySource(b *testing.B) {
	b.ReportAllocs()
	var s KeySource
	stop := measureCPU(b, 0)
	for b.Loop() {
		s.Next()
	}
	stop()
}
