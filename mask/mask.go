package mask

import (
	"encoding/binary"
	"math/bits"
)

// Key is a 4-byte masking key (RFC 6455 §5.3). Byte i of a payload is XORed
// with Key[i%4].
type Key [4]byte

// Apply XORs b in place with key, starting at key index pos&3, and returns
// the key index for the next byte, (pos+len(b))&3, so a payload can be masked
// in chunks: pass the returned index to the call for the next chunk.
// Masking and unmasking are the same operation.
//
// RFC 6455 §5.3: "Octet i of the transformed data ("transformed-octet-i") is
// the XOR of octet i of the original data ("original-octet-i") with octet at
// index i modulo 4 of the masking key ("masking-key-octet-j")".
func Apply(key Key, pos int, b []byte) int {
	// Kept small enough to inline, so that callers call the kernel
	// directly.
	apply(b, binary.LittleEndian.Uint32(key[:]), pos)
	return (pos + len(b)) & 3
}

// rotate returns the little-endian key word k rotated so that its low byte
// is the key byte for key index pos&3.
func rotate(k uint32, pos int) uint32 {
	return bits.RotateLeft32(k, -8*(pos&3))
}

// applyGeneric is the portable implementation of Apply: it XORs b in place
// with the little-endian key word k, whose low byte applies to b[0]. It
// masks eight bytes per XOR and 32 bytes per loop iteration. The last,
// possibly partial, word is loaded and masked before the loop and stored
// after it: it may overlap bytes the loop wrote, but both computed the same
// value from the original bytes, so no byte loop is needed for lengths >= 4.
// It is always compiled, so that tests on every architecture check it
// against the byte-at-a-time reference.
func applyGeneric(b []byte, k uint32) {
	n := len(b)
	// The key word for the last 4 or 8 bytes: the key index of b[n-w] is
	// (n-w)&3 = n&3 for w a multiple of 4.
	kt := rotate(k, n)
	switch {
	case n >= 8:
		k64 := uint64(k)<<32 | uint64(k)
		last := b[n-8:]
		tail := binary.LittleEndian.Uint64(last) ^ (uint64(kt)<<32 | uint64(kt))
		for len(b) >= 32 {
			v := b[:32:32]
			binary.LittleEndian.PutUint64(v[0:8], binary.LittleEndian.Uint64(v[0:8])^k64)
			binary.LittleEndian.PutUint64(v[8:16], binary.LittleEndian.Uint64(v[8:16])^k64)
			binary.LittleEndian.PutUint64(v[16:24], binary.LittleEndian.Uint64(v[16:24])^k64)
			binary.LittleEndian.PutUint64(v[24:32], binary.LittleEndian.Uint64(v[24:32])^k64)
			b = b[32:]
		}
		for len(b) >= 8 {
			v := b[:8:8]
			binary.LittleEndian.PutUint64(v, binary.LittleEndian.Uint64(v)^k64)
			b = b[8:]
		}
		binary.LittleEndian.PutUint64(last, tail)
	case n >= 4:
		last := b[n-4:]
		tail := binary.LittleEndian.Uint32(last) ^ kt
		binary.LittleEndian.PutUint32(b, binary.LittleEndian.Uint32(b)^k)
		binary.LittleEndian.PutUint32(last, tail)
	default:
		for i := range b {
			b[i] ^= byte(k >> (8 * i))
		}
	}
}
