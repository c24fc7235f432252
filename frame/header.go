package frame

import (
	"encoding/binary"
	"math"
	"slices"

	"github.com/hybi/websocket/mask"
)

// MaxHeaderSize is the largest frame header: 2 bytes, an 8-byte extended
// length and a 4-byte masking key (RFC 6455 §5.2).
const MaxHeaderSize = 14

// MaxControlPayload is the largest control frame payload (RFC 6455 §5.5).
const MaxControlPayload = 125

// Header is a decoded frame header (RFC 6455 §5.2).
type Header struct {
	Fin              bool
	RSV1, RSV2, RSV3 bool
	Opcode           Opcode
	Masked           bool
	Key              mask.Key // the masking key; meaningful only when Masked
	Length           int64    // payload length in bytes, 0 to 2^63-1
}

// Flags are the explicit bits of a frame built with NewHeader: the RSV bits,
// whether the frame is masked, and whether more fragments follow.
//
// FIN is not a flag. A frame is final unless More is given, so the zero
// value and every combination without More (Compressed alone, say) make a
// final frame: no flag can silently drop FIN.
type Flags uint8

// The frame flags.
const (
	RSV1 Flags = 1 << iota // first reserved bit; permessage-deflate's "compressed"
	RSV2                   // second reserved bit
	RSV3                   // third reserved bit
	Mask                   // set the MASK bit and mask the payload with the key
	More                   // clear FIN: more fragments of this message follow

	// Compressed marks the first frame of a permessage-deflate message
	// (RFC 7692 §6). It is RSV1 and leaves FIN alone.
	Compressed = RSV1
)

// NewHeader builds the header of a frame with the given opcode, flags and
// payload length. Fin is set unless flags include More; Masked is set, and
// key used, only when flags include Mask.
func NewHeader(op Opcode, flags Flags, key mask.Key, length int64) Header {
	h := Header{
		Fin:    flags&More == 0,
		RSV1:   flags&RSV1 != 0,
		RSV2:   flags&RSV2 != 0,
		RSV3:   flags&RSV3 != 0,
		Opcode: op,
		Masked: flags&Mask != 0,
		Length: length,
	}
	if h.Masked {
		h.Key = key
	}
	return h
}

// Flags returns the flags that NewHeader would need to build h.
func (h Header) Flags() Flags {
	f := h.RSV()
	if h.Masked {
		f |= Mask
	}
	if !h.Fin {
		f |= More
	}
	return f
}

// RSV returns only the reserved bits of h, as RSV1|RSV2|RSV3 flags.
func (h Header) RSV() Flags {
	var f Flags
	if h.RSV1 {
		f |= RSV1
	}
	if h.RSV2 {
		f |= RSV2
	}
	if h.RSV3 {
		f |= RSV3
	}
	return f
}

// Check applies the rules of RFC 6455 §5.1, §5.2 and §5.5 that a receiver
// can check on one header alone. wantMasked is true on a server ("a client
// MUST mask all frames that it sends to the server", §5.1) and false on a
// client ("a server MUST NOT mask any frames that it sends to the client").
// allowedRSV holds the reserved bits a negotiated extension owns: "RSV1,
// RSV2, RSV3: MUST be 0 unless an extension is negotiated that defines
// meanings for non-zero values" (§5.2).
func (h Header) Check(wantMasked bool, allowedRSV Flags) error {
	if h.Opcode.IsReserved() {
		return ErrReservedOpcode
	}
	if h.RSV()&^allowedRSV != 0 {
		return ErrReservedBits
	}
	if h.Opcode.IsControl() {
		// §5.5: "All control frames MUST have a payload length of 125
		// bytes or less and MUST NOT be fragmented."
		if !h.Fin {
			return ErrFragmentedControl
		}
		if h.Length > MaxControlPayload {
			return ErrControlTooLong
		}
	}
	if h.Masked != wantMasked {
		if wantMasked {
			return ErrUnmasked
		}
		return ErrMasked
	}
	return nil
}

// HeaderSize returns the encoded size of h in bytes, 2 to 14.
func HeaderSize(h Header) int {
	n := 2
	switch {
	case h.Length > math.MaxUint16:
		n += 8
	case h.Length > 125:
		n += 2
	}
	if h.Masked {
		n += 4
	}
	return n
}

// AppendHeader appends the wire form of h to dst, always in the minimal
// length encoding (RFC 6455 §5.2). A negative Length is encoded as 0.
func AppendHeader(dst []byte, h Header) []byte {
	b0 := h.firstByte()
	var b1 byte
	if h.Masked {
		b1 = 0x80
	}
	n := h.Length
	if n < 0 {
		n = 0
	}
	switch {
	case n > math.MaxUint16:
		dst = append(dst, b0, b1|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	case n > 125:
		dst = append(dst, b0, b1|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, b0, b1|byte(n))
	}
	if h.Masked {
		dst = append(dst, h.Key[:]...)
	}
	return dst
}

// firstByte is the header's first byte: FIN, RSV1-3 and the opcode.
func (h Header) firstByte() byte { return firstByte(h.Opcode, h.Flags()) }

// ParseHeader decodes the header at the start of b and returns it with its
// size n. If b holds only part of a header it returns ErrIncomplete and
// consumes nothing. The structural rules of RFC 6455 §5.2 are checked here:
// "the most significant bit MUST be 0" of a 64-bit length
// (ErrLengthOverflow) and "the minimal number of bytes MUST be used to
// encode the length" (ErrNonMinimalLength). The rules that depend on the
// receiver (masking, negotiated RSV bits) are in Header.Check.
func ParseHeader(b []byte) (h Header, n int, err error) {
	if len(b) < 2 {
		return Header{}, 0, ErrIncomplete
	}
	b0, b1 := b[0], b[1]
	h.Fin = b0&0x80 != 0
	h.RSV1 = b0&0x40 != 0
	h.RSV2 = b0&0x20 != 0
	h.RSV3 = b0&0x10 != 0
	h.Opcode = Opcode(b0 & 0xF)
	h.Masked = b1&0x80 != 0
	n = 2
	switch l := b1 & 0x7F; l {
	case 126:
		if len(b) < 4 {
			return Header{}, 0, ErrIncomplete
		}
		h.Length = int64(binary.BigEndian.Uint16(b[2:]))
		n = 4
		if h.Length < 126 {
			return Header{}, 0, ErrNonMinimalLength
		}
	case 127:
		if len(b) < 10 {
			return Header{}, 0, ErrIncomplete
		}
		v := binary.BigEndian.Uint64(b[2:])
		n = 10
		if v>>63 != 0 {
			return Header{}, 0, ErrLengthOverflow
		}
		if v <= math.MaxUint16 {
			return Header{}, 0, ErrNonMinimalLength
		}
		h.Length = int64(v)
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		if len(b) < n+4 {
			return Header{}, 0, ErrIncomplete
		}
		copy(h.Key[:], b[n:n+4])
		n += 4
	}
	return h, n, nil
}

// sizeFromSecondByte returns the size of a header whose second byte is b1,
// so a reader knows how many more bytes to wait for.
func sizeFromSecondByte(b1 byte) int {
	n := 2
	switch b1 & 0x7F {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	return n
}

// AppendFrame appends a whole frame, header and payload, to dst. The
// header's Length is taken from len(payload); when h.Masked the payload is
// masked with h.Key while it is copied, in one pass, and payload itself is
// left unchanged.
func AppendFrame(dst []byte, h Header, payload []byte) []byte {
	if len(payload) <= 125 {
		return appendSmall(dst, h.firstByte(), h.Masked, h.Key, payload)
	}
	h.Length = int64(len(payload))
	dst = AppendHeader(dst, h)
	if !h.Masked {
		return append(dst, payload...)
	}
	// Copy and mask in cache-sized pieces, so a large payload is masked
	// while it is still in L1 rather than in a second pass over memory.
	start := len(dst)
	dst = slices.Grow(dst, len(payload))[:start+len(payload)]
	pos := 0
	for off := 0; off < len(payload); off += maskChunk {
		end := min(off+maskChunk, len(payload))
		b := dst[start+off : start+end]
		copy(b, payload[off:end])
		pos = mask.Apply(h.Key, pos, b)
	}
	return dst
}

// Append appends a whole frame with the given opcode, flags and payload to
// dst, masked with key when flags include Mask (key is ignored otherwise):
// the frame AppendFrame(dst, NewHeader(op, flags, key, len(payload)),
// payload) appends, without a Header value in between. Code that builds
// its frames from flags, as package conn does for every frame it writes,
// saves the Header's copies this way: a Header holds an array, so the
// compiler keeps it in memory.
func Append(dst []byte, op Opcode, flags Flags, key mask.Key, payload []byte) []byte {
	if len(payload) <= 125 {
		return appendSmall(dst, firstByte(op, flags), flags&Mask != 0, key, payload)
	}
	return AppendFrame(dst, NewHeader(op, flags, key, 0), payload)
}

// appendSmall appends a frame of at most 125 payload bytes (every control
// frame, most chat and game messages): first byte b0, a one-byte length,
// the key when masked, and the payload, copied and then masked in place.
func appendSmall(dst []byte, b0 byte, masked bool, key mask.Key, payload []byte) []byte {
	b1 := byte(len(payload))
	if !masked {
		return append(append(dst, b0, b1), payload...)
	}
	dst = append(dst, b0, 0x80|b1, key[0], key[1], key[2], key[3])
	start := len(dst)
	dst = append(dst, payload...)
	mask.Apply(key, 0, dst[start:])
	return dst
}

// firstByte is the first byte of the header NewHeader(op, flags, ...)
// builds: FIN unless More, the RSV bits, the opcode.
func firstByte(op Opcode, flags Flags) byte {
	b0 := byte(op&0xF) | rsvBits[flags&(RSV1|RSV2|RSV3)]
	if flags&More == 0 {
		b0 |= 0x80
	}
	return b0
}

// rsvBits maps the RSV flags (bits 0-2) to their places in a header's
// first byte (RSV1 0x40, RSV2 0x20, RSV3 0x10).
var rsvBits = [8]byte{0, 0x40, 0x20, 0x60, 0x10, 0x50, 0x30, 0x70}

// maskChunk is the piece size AppendFrame copies and masks at a time.
const maskChunk = 8 << 10
