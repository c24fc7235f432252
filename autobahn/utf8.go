package autobahn

import "encoding/binary"

// utf8Validator checks UTF-8 incrementally, failing on the first byte that
// cannot continue a valid sequence (RFC 3629 §4: no overlongs, no
// surrogates, nothing above U+10FFFF). The runner keeps its own validator
// so it does not judge an implementation with that implementation's code.
type utf8Validator struct {
	need   int  // continuation bytes still expected
	lo, hi byte // allowed range of the next continuation byte
	bad    bool
}

func (v *utf8Validator) reset() { *v = utf8Validator{} }

// write feeds p and reports whether everything so far can still be valid.
func (v *utf8Validator) write(p []byte) bool {
	if v.bad {
		return false
	}
	for i := 0; i < len(p); i++ {
		b := p[i]
		if v.need == 0 && b < 0x80 {
			// ASCII fast path: skip 8 bytes at a time while no high bit is set.
			for i+8 <= len(p) && binary.LittleEndian.Uint64(p[i:])&0x8080808080808080 == 0 {
				i += 8
			}
			if i >= len(p) {
				break
			}
			b = p[i]
			if b < 0x80 {
				continue
			}
		}
		if v.need > 0 {
			if b < v.lo || b > v.hi {
				v.bad = true
				return false
			}
			v.need--
			v.lo, v.hi = 0x80, 0xBF
			continue
		}
		switch {
		case b < 0x80:
		case b >= 0xC2 && b <= 0xDF:
			v.need, v.lo, v.hi = 1, 0x80, 0xBF
		case b == 0xE0:
			v.need, v.lo, v.hi = 2, 0xA0, 0xBF
		case b == 0xED:
			v.need, v.lo, v.hi = 2, 0x80, 0x9F
		case b >= 0xE1 && b <= 0xEF:
			v.need, v.lo, v.hi = 2, 0x80, 0xBF
		case b == 0xF0:
			v.need, v.lo, v.hi = 3, 0x90, 0xBF
		case b >= 0xF1 && b <= 0xF3:
			v.need, v.lo, v.hi = 3, 0x80, 0xBF
		case b == 0xF4:
			v.need, v.lo, v.hi = 3, 0x80, 0x8F
		default:
			v.bad = true
			return false
		}
	}
	return true
}

// complete reports whether the bytes so far are complete valid UTF-8.
func (v *utf8Validator) complete() bool { return !v.bad && v.need == 0 }

// validUTF8 reports whether p is complete valid UTF-8.
func validUTF8(p []byte) bool {
	var v utf8Validator
	return v.write(p) && v.complete()
}
