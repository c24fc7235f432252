package utf8

import (
	"math/rand/v2"
	"strings"
	"testing"
	stdutf8 "unicode/utf8"
)

// validPrefix is the reference: it reports whether s can be extended to
// valid UTF-8, using only the standard library.
func validPrefix(s []byte) bool {
	for len(s) > 0 {
		r, size := stdutf8.DecodeRune(s)
		if r == stdutf8.RuneError && size == 1 {
			// Invalid, unless it is the start of a code point cut off at the
			// end (FullRune is false only for a valid incomplete prefix).
			return !stdutf8.FullRune(s)
		}
		s = s[size:]
	}
	return true
}

// firstBad returns the length of the shortest prefix of s that is not a
// valid UTF-8 prefix, or -1.
func firstBad(s []byte) int {
	for k := 1; k <= len(s); k++ {
		if !validPrefix(s[:k]) {
			return k
		}
	}
	return -1
}

// check feeds s to a Validator split at cuts and verifies that Write fails
// exactly in the chunk holding the first bad byte, and Complete at the end.
func check(t *testing.T, s []byte, cuts []int) {
	t.Helper()
	bad := firstBad(s)
	var v Validator
	prev := 0
	failedAt := -1 // end offset of the chunk in which Write returned false
	for _, c := range append(cuts, len(s)) {
		ok := v.Write(s[prev:c])
		if failedAt >= 0 {
			if ok {
				t.Fatalf("%x cuts %v: Write returned true after failing", s, cuts)
			}
			prev = c
			continue
		}
		if !ok {
			failedAt = c
		}
		if bad < 0 && !ok {
			t.Fatalf("%x cuts %v: Write failed on a valid prefix", s, cuts)
		}
		if bad > 0 && !ok && !(prev < bad && bad <= c) {
			t.Fatalf("%x cuts %v: failed in chunk [%d,%d), first bad byte at %d", s, cuts, prev, c, bad-1)
		}
		if bad > 0 && ok && c >= bad {
			t.Fatalf("%x cuts %v: chunk [%d,%d) holds bad byte %d but Write returned true", s, cuts, prev, c, bad-1)
		}
		prev = c
	}
	if got, want := v.Complete(), stdutf8.Valid(s); got != want {
		t.Fatalf("%x cuts %v: Complete() = %v, want %v", s, cuts, got, want)
	}
}

func TestExhaustiveShort(t *testing.T) {
	var b [3]byte
	for x := range 256 {
		b[0] = byte(x)
		check(t, b[:1], nil)
		for y := range 256 {
			b[1] = byte(y)
			check(t, b[:2], nil)
			check(t, b[:2], []int{1})
		}
	}
	if testing.Short() {
		t.Skip("3-byte sequences skipped in -short mode")
	}
	for x := range 256 {
		b[0] = byte(x)
		for y := range 256 {
			b[1] = byte(y)
			for z := range 256 {
				b[2] = byte(z)
				s := b[:]
				// The common case inline; cuts only where they matter.
				check3(t, s)
			}
		}
	}
}

// check3 is check for all splittings of a 3-byte input, with the reference
// computed once.
func check3(t *testing.T, s []byte) {
	bad := -1
	switch {
	case !validPrefix(s[:1]):
		bad = 1
	case !validPrefix(s[:2]):
		bad = 2
	case !validPrefix(s):
		bad = 3
	}
	complete := bad < 0 && stdutf8.Valid(s)
	for _, cuts := range [][]int{nil, {1}, {2}, {1, 2}} {
		var v Validator
		prev, fail := 0, -1
		for _, c := range append(cuts, 3) {
			if !v.Write(s[prev:c]) && fail < 0 {
				fail = c
				if !(prev < bad && bad <= c) {
					t.Fatalf("%x cuts %v: failed in chunk [%d,%d), first bad byte at %d", s, cuts, prev, c, bad-1)
				}
			}
			prev = c
		}
		if bad > 0 && fail < 0 {
			t.Fatalf("%x cuts %v: invalid (byte %d) but never failed", s, cuts, bad-1)
		}
		if v.Complete() != complete {
			t.Fatalf("%x cuts %v: Complete() = %v, want %v", s, cuts, v.Complete(), complete)
		}
	}
}

// interesting bytes for random sequences: boundaries of every range in
// RFC 3629.
var interesting = []byte{
	0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
	0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF,
}

func randByte(r *rand.Rand) byte {
	if r.IntN(2) == 0 {
		return interesting[r.IntN(len(interesting))]
	}
	return byte(r.IntN(256))
}

func TestRandom4(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 2_000_000
	if testing.Short() {
		n = 100_000
	}
	var b [4]byte
	for range n {
		for i := range b {
			b[i] = randByte(r)
		}
		check(t, b[:], nil)
		check(t, b[:], []int{1 + r.IntN(3)})
		check(t, b[:], []int{1, 2, 3})
	}
}

func TestRandomLong(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	runes := []string{"a", "é", "€", "😀", "\u07ff", "\u0800", "\uffff", "\U00010000", "\U0010ffff", "\ufffd", "abcdefgh"}
	for range 20000 {
		var sb strings.Builder
		for range r.IntN(40) {
			sb.WriteString(runes[r.IntN(len(runes))])
		}
		s := []byte(sb.String())
		if len(s) > 0 && r.IntN(2) == 0 {
			s[r.IntN(len(s))] = randByte(r) // maybe corrupt one byte
		}
		var cuts []int
		for c := 0; ; {
			c += 1 + r.IntN(9)
			if c >= len(s) {
				break
			}
			cuts = append(cuts, c)
		}
		check(t, s, cuts)
	}
}

func TestCases(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		write    bool // what Write returns
		complete bool
	}{
		{"empty", "", true, true},
		{"ascii", "Hello, world! 0123456789", true, true},
		{"mixed", "κόσμε €1 😀 end", true, true},
		{"cut 2-byte", "\xce", true, false},
		{"cut 4-byte", "\xf0\x9f\x98", true, false},
		{"lone continuation", "\x80", false, false},
		{"overlong 2-byte C0", "\xc0\xaf", false, false},
		{"overlong 3-byte", "\xe0\x80\xaf", false, false},
		{"overlong 4-byte", "\xf0\x80\x80\xaf", false, false},
		{"surrogate D800", "\xed\xa0\x80", false, false},
		{"surrogate DFFF", "\xed\xbf\xbf", false, false},
		{"max U+10FFFF", "\xf4\x8f\xbf\xbf", true, true},
		{"above U+10FFFF", "\xf4\x90\x80\x80", false, false},
		{"F5", "\xf5", false, false},
		{"FF", "\xff", false, false},
		{"bad after 8 ascii", "abcdefgh\xff", false, false},
		{"ascii after cut", "\xe2\x82", true, false},
		{"Autobahn 6.4.1 prefix", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v Validator
			if got := v.Write([]byte(tt.in)); got != tt.write {
				t.Errorf("Write = %v, want %v", got, tt.write)
			}
			if got := v.Complete(); got != tt.complete {
				t.Errorf("Complete = %v, want %v", got, tt.complete)
			}
			v.Reset()
			if !v.Write([]byte("ok")) || !v.Complete() {
				t.Error("Reset did not clear the state")
			}
		})
	}
}

func TestStaysFailed(t *testing.T) {
	var v Validator
	if v.Write([]byte{0xff}) {
		t.Fatal("Write(ff) = true")
	}
	if v.Write([]byte("abc")) {
		t.Fatal("Write after failure = true, want false until Reset")
	}
}

func TestNoAllocs(t *testing.T) {
	var v Validator
	text := []byte(strings.Repeat("héllo wörld 😀 ", 20))
	if n := testing.AllocsPerRun(100, func() {
		v.Reset()
		v.Write(text[:7])
		v.Write(text[7:])
		v.Complete()
	}); n != 0 {
		t.Errorf("allocs per run = %v, want 0", n)
	}
}

func benchmark(b *testing.B, s []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(s)))
	var v Validator
	for b.Loop() {
		v.Reset()
		if !v.Write(s) {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkASCII(b *testing.B) {
	benchmark(b, []byte(strings.Repeat("The quick brown fox jumps over the lazy dog. ", 1500)))
}

func BenchmarkMixed(b *testing.B) {
	benchmark(b, []byte(strings.Repeat("Hello κόσμε, ¡hola! 你好世界 😀 plain ascii words here. ", 1000)))
}

func BenchmarkStdlibValidMixed(b *testing.B) { // reference, not streaming
	s := []byte(strings.Repeat("Hello κόσμε, ¡hola! 你好世界 😀 plain ascii words here. ", 1000))
	b.ReportAllocs()
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		if !stdutf8.Valid(s) {
			b.Fatal("invalid")
		}
	}
}
