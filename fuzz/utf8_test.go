package fuzz

import (
	"testing"
	"unicode/utf8"

	hutf8 "github.com/hybi/websocket/internal/utf8"
)

func init() {
	addSeeds("FuzzUTF8",
		seed{"ascii", []any{[]byte("Hello, world: plain ASCII, long enough for the 8-byte path"), []byte{}}},
		seed{"kosme-split", []any{[]byte("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"), []byte{0}}},
		seed{"autobahn-6.4.1", []any{[]byte("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80\x65\x64\x69\x74\x65\x64"), []byte{4, 0}}},
		seed{"surrogate", []any{[]byte("ab\xed\xa0\x80cd"), []byte{2}}},
		seed{"overlong", []any{[]byte("\xc0\xaf\xe0\x80\xaf\xf0\x80\x80\xaf"), []byte{}}},
		seed{"max-rune", []any{[]byte("\xf4\x8f\xbf\xbf"), []byte{1, 0}}},
		seed{"above-max", []any{[]byte("\xf4\x90\x80\x80"), []byte{0}}},
		seed{"truncated", []any{[]byte("abc\xf0\x9f\x98"), []byte{}}},
		seed{"emoji-8", []any{[]byte("12345678\xf0\x9f\x98\x80abcdefgh"), []byte{8, 1}}},
	)
}

// validPrefix reports whether t, the bytes from the start of a code point
// that unicode/utf8 cannot decode on their own (at most 3 bytes), can still
// be completed to a valid code point. Only the second byte of a UTF-8
// sequence has a restricted range (RFC 3629 §4), so trying every second
// byte and padding with 0x80 covers all completions.
func validPrefix(t []byte) bool {
	if len(t) == 0 || len(t) >= utf8.UTFMax {
		return len(t) == 0
	}
	var need int
	switch b := t[0]; {
	case b >= 0xC0 && b < 0xE0:
		need = 2
	case b >= 0xE0 && b < 0xF0:
		need = 3
	case b >= 0xF0 && b < 0xF8:
		need = 4
	default:
		return false
	}
	if len(t) >= need {
		return false
	}
	buf := make([]byte, need)
	copy(buf, t)
	seconds := []byte{t[min(1, len(t)-1)]}
	if len(t) == 1 {
		seconds = seconds[:0]
		for c := 0x80; c <= 0xBF; c++ {
			seconds = append(seconds, byte(c))
		}
	}
	for _, s := range seconds {
		buf[1] = s
		for i := len(t); i < need; i++ {
			if i > 1 {
				buf[i] = 0x80
			}
		}
		if r, size := utf8.DecodeRune(buf); size == need && r != utf8.RuneError {
			return true
		}
	}
	return false
}

// failPos is the index of the first byte of p after which p can no longer
// be a prefix of valid UTF-8, or -1 if every prefix of p is one. It is
// built from unicode/utf8 alone.
func failPos(p []byte) int {
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRune(p[i:])
		if r != utf8.RuneError || size > 1 {
			i += size
			continue
		}
		for l := 1; l <= len(p)-i; l++ {
			if !validPrefix(p[i : i+l]) {
				return i + l - 1
			}
		}
		return -1 // a valid prefix cut off at the end
	}
	return -1
}

// FuzzUTF8: the streaming validator agrees with unicode/utf8 on the whole
// input, and for a chunking taken from splits it fails in exactly the chunk
// holding the first byte that cannot continue valid UTF-8 (fail fast,
// RFC 6455 §8.1), stays failed, and Complete is utf8.Valid when it did not
// fail. Byte at a time, it fails at exactly that byte.
func FuzzUTF8(f *testing.F) {
	f.Fuzz(func(t *testing.T, p, splits []byte) {
		valid := utf8.Valid(p)
		fp := failPos(p)
		if valid && fp >= 0 {
			t.Fatalf("reference disagrees with itself: valid but failPos %d", fp)
		}

		var v hutf8.Validator
		if got := v.Write(p); got != (fp < 0) {
			t.Fatalf("Write(%q) = %v, want %v (fail at %d)", p, got, fp < 0, fp)
		}
		if fp < 0 && v.Complete() != valid {
			t.Fatalf("Complete after Write(%q) = %v, utf8.Valid = %v", p, v.Complete(), valid)
		}
		if fp >= 0 && v.Complete() {
			t.Fatalf("Complete after a failed Write(%q)", p)
		}

		v.Reset()
		at, failedIn := 0, -1
		for _, c := range chunks(len(p), splits) {
			ok := v.Write(p[at : at+c])
			if failedIn >= 0 {
				if ok {
					t.Fatalf("Write succeeded after an earlier failure")
				}
			} else if !ok {
				failedIn = at
				if fp < at || fp >= at+c {
					t.Fatalf("Write(p[%d:%d]) of %q failed; first bad byte is %d", at, at+c, p, fp)
				}
			}
			at += c
		}
		if failedIn < 0 && fp >= 0 {
			t.Fatalf("chunked Write of %q never failed; first bad byte is %d", p, fp)
		}
		if failedIn < 0 && v.Complete() != valid {
			t.Fatalf("chunked Complete(%q) = %v, utf8.Valid = %v", p, v.Complete(), valid)
		}

		v.Reset()
		for i := range p {
			if ok := v.Write(p[i : i+1]); ok != (fp < 0 || i < fp) {
				t.Fatalf("byte-at-a-time Write of byte %d of %q = %v; first bad byte is %d", i, p, ok, fp)
			}
		}
		v.Reset()
		if !v.Write(nil) || !v.Complete() {
			t.Fatalf("Reset validator rejects empty input")
		}
	})
}

func TestFailPos(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
	}{
		{"empty", "", -1},
		{"ascii", "abc", -1},
		{"valid 4-byte", "a\xf0\x9f\x98\x80", -1},
		{"cut 4-byte", "a\xf0\x9f\x98", -1},
		{"lone continuation", "ab\x80", 2},
		{"c0 lead", "\xc0\xaf", 0},
		{"f5 lead", "\xf5\x80", 0},
		{"overlong 3-byte", "\xe0\x80\x80", 1},
		{"surrogate", "\xed\xa0\x80", 1},
		{"above U+10FFFF", "\xf4\x90\x80\x80", 1},
		{"bad third byte", "\xe1\x80\x41", 2},
		{"bad fourth byte", "\xf0\x90\x80\xc0", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := failPos([]byte(tt.in)); got != tt.want {
				t.Errorf("failPos(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

// utf8Stream checks a growing byte stream with failPos in linear time: done
// is the length of the prefix known to be complete valid UTF-8.
type utf8Stream struct {
	buf  []byte
	done int
}

// add appends p and reports whether the stream is still a prefix of valid
// UTF-8.
func (u *utf8Stream) add(p []byte) bool {
	u.buf = append(u.buf, p...)
	tail := u.buf[u.done:]
	if failPos(tail) >= 0 {
		return false
	}
	for len(tail) > 0 {
		r, size := utf8.DecodeRune(tail)
		if r == utf8.RuneError && size <= 1 {
			break // an incomplete code point at the end
		}
		u.done += size
		tail = tail[size:]
	}
	return true
}

// complete reports whether the stream is complete valid UTF-8.
func (u *utf8Stream) complete() bool { return u.done == len(u.buf) }

func TestUTF8Stream(t *testing.T) {
	tests := []struct {
		name     string
		chunks   []string
		ok, full bool
	}{
		{"ascii", []string{"ab", "c"}, true, true},
		{"split rune", []string{"a\xf0\x9f", "\x98", "\x80b"}, true, true},
		{"cut rune", []string{"a\xf0\x9f"}, true, false},
		{"bad across chunks", []string{"\xed", "\xa0"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var u utf8Stream
			ok := true
			for _, c := range tt.chunks {
				ok = u.add([]byte(c))
			}
			if ok != tt.ok || ok && u.complete() != tt.full {
				t.Errorf("add = %v, complete = %v; want %v, %v", ok, u.complete(), tt.ok, tt.full)
			}
		})
	}
}
