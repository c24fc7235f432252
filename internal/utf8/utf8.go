// Package utf8 is a streaming UTF-8 validator for text messages (RFC 6455
// §5.6, §8.1): it validates a message chunk by chunk, fails fast at the
// first byte that cannot continue valid UTF-8 (RFC 3629: no overlong forms,
// no surrogates U+D800–U+DFFF, nothing above U+10FFFF), also when a code
// point is split across chunks, and never allocates. Runs of ASCII are
// checked 8 bytes at a time.
//
// RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as UTF-8
// but finds that the byte stream is not, in fact, a valid UTF-8 stream, that
// endpoint MUST _Fail the WebSocket Connection_."
package utf8

import "encoding/binary"

// Validator validates a stream of bytes as UTF-8. The zero value is ready
// to use. It is 4 bytes of state.
type Validator struct {
	need   uint8 // continuation bytes still expected for the current code point
	lo, hi uint8 // allowed range of the next continuation byte (when need > 0)
	failed bool
}

// Reset makes v ready for a new stream.
func (v *Validator) Reset() { *v = Validator{} }

const asciiMask = 0x8080808080808080

// Write validates the next chunk; it returns false as soon as the bytes seen
// so far cannot be a prefix of valid UTF-8 (fail fast, also across chunk
// boundaries). After it returned false, v stays failed until Reset.
func (v *Validator) Write(p []byte) bool {
	if v.failed {
		return false
	}
	i := 0
	need, lo, hi := v.need, v.lo, v.hi
	for {
		// Finish the code point in progress.
		for need > 0 {
			if i == len(p) {
				v.need, v.lo, v.hi = need, lo, hi
				return true
			}
			c := p[i]
			if c < lo || c > hi {
				v.failed = true
				return false
			}
			lo, hi = 0x80, 0xBF
			need--
			i++
		}
		// ASCII fast path: 8 bytes at a time.
		for len(p)-i >= 8 && binary.LittleEndian.Uint64(p[i:])&asciiMask == 0 {
			i += 8
		}
		for i < len(p) && p[i] < 0x80 {
			i++
		}
		if i == len(p) {
			v.need = 0
			return true
		}
		// A lead byte (RFC 3629 §4, the UTF8-2/3/4 productions).
		b := p[i]
		i++
		lo, hi = 0x80, 0xBF
		switch {
		case b >= 0xC2 && b <= 0xDF:
			need = 1
		case b == 0xE0:
			need, lo = 2, 0xA0 // no overlong 3-byte forms
		case b == 0xED:
			need, hi = 2, 0x9F // no surrogates
		case b >= 0xE1 && b <= 0xEF:
			need = 2
		case b == 0xF0:
			need, lo = 3, 0x90 // no overlong 4-byte forms
		case b >= 0xF1 && b <= 0xF3:
			need = 3
		case b == 0xF4:
			need, hi = 3, 0x8F // nothing above U+10FFFF
		default: // continuation byte without a lead, C0, C1, F5–FF
			v.failed = true
			return false
		}
	}
}

// Complete reports whether everything written so far is complete valid
// UTF-8 (no code point cut off at the end).
func (v *Validator) Complete() bool { return !v.failed && v.need == 0 }
