package deflate

import "math/bits"

// Canonical Huffman decoding tables (RFC 1951 §3.2.2).
//
// A code is decoded with one lookup in a primary table indexed by the next
// tableBits bits of input (DEFLATE packs Huffman codes starting with their
// most significant bit, so the table is indexed by the bit-reversed code).
// Codes longer than tableBits are rare by construction (their symbols occur
// less than once in 2^tableBits symbols); their primary entries are marked
// "long" and they are decoded canonically from the per-length counts.

const (
	tableBits  = 9
	tableSize  = 1 << tableBits
	tableMask  = tableSize - 1
	maxCodeLen = 15  // RFC 1951 §3.2.7: code lengths are 0-15
	maxLitSyms = 288 // literal/length alphabet including the two unused codes
	maxLenSyms = 286 // HLIT + 257 may be at most 286
	maxDstSyms = 30  // HDIST + 1 may be at most 30 in practice (30 and 31 never occur)
)

// An entry describes one decoded symbol: bits 0-7 are the code length in
// bits (0 in a primary entry means "longer than tableBits, decode slowly"),
// bits 8-15 the operation and bits 16-31 the value.
//
//	op 0-13     length or distance base in value, op extra bits follow
//	opLiteral   literal byte in value
//	opEnd       end of block (symbol 256)
//	opInvalid   a code that must not occur (286, 287, distance 30, 31, or
//	            a bit pattern outside an incomplete code)
const (
	opLiteral = 16
	opEnd     = 32
	opInvalid = 64
)

func entry(op, value uint32) uint32 { return value<<16 | op<<8 }

// Static symbol descriptions (RFC 1951 §3.2.5), without the code length.
var (
	litKinds  [maxLitSyms]uint32
	distKinds [32]uint32
	clKinds   [19]uint32 // code length alphabet: the value is the symbol
)

// RFC 1951 §3.2.5: base lengths and extra bits of length codes 257-285.
var lengthBase = [29]uint32{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
	35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
var lengthExtra = [29]uint32{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
	3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}

// RFC 1951 §3.2.5: base distances and extra bits of distance codes 0-29.
var distBase = [30]uint32{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
	257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
var distExtra = [30]uint32{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
	7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}

// The fixed Huffman codes of RFC 1951 §3.2.6, built once.
var fixedLit, fixedDist huffman

// fixedLitLens returns the code lengths of the fixed literal/length code
// (RFC 1951 §3.2.6), for the decoder's tables and the encoder's codes.
func fixedLitLens() [maxLitSyms]uint8 {
	var lens [maxLitSyms]uint8
	for i := range lens {
		switch {
		case i < 144:
			lens[i] = 8
		case i < 256:
			lens[i] = 9
		case i < 280:
			lens[i] = 7
		default:
			lens[i] = 8
		}
	}
	return lens
}

func init() {
	for i := range 256 {
		litKinds[i] = entry(opLiteral, uint32(i))
	}
	litKinds[256] = entry(opEnd, 0)
	for i := range 29 {
		litKinds[257+i] = entry(lengthExtra[i], lengthBase[i])
	}
	litKinds[286] = entry(opInvalid, 0)
	litKinds[287] = entry(opInvalid, 0)
	for i := range 30 {
		distKinds[i] = entry(distExtra[i], distBase[i])
	}
	distKinds[30] = entry(opInvalid, 0)
	distKinds[31] = entry(opInvalid, 0)
	for i := range clKinds {
		clKinds[i] = entry(0, uint32(i))
	}

	lens := fixedLitLens()
	if !fixedLit.build(lens[:], litKinds[:]) {
		panic("deflate: fixed literal code")
	}
	for i := range 32 {
		lens[i] = 5
	}
	if !fixedDist.build(lens[:32], distKinds[:]) {
		panic("deflate: fixed distance code")
	}
}

// huffman is one decoding table. Its size is fixed, so building it for every
// dynamic block allocates nothing.
type huffman struct {
	table  [tableSize]uint32
	count  [maxCodeLen + 1]uint16 // codes of each length
	first  [maxCodeLen + 1]uint16 // first canonical code of each length
	offset [maxCodeLen + 1]uint16 // index in symbol of the first code of each length
	symbol [maxLitSyms]uint16     // symbols in canonical code order
	kinds  []uint32               // symbol descriptions (litKinds, distKinds or clKinds)
}

// build makes the table for the code lengths lens (RFC 1951 §3.2.2). It
// reports false for an over-subscribed or incomplete code; like zlib and
// compress/flate it accepts the degenerate code with one symbol of length 1
// and the empty code (a block with literals only has no distance codes), in
// which case the unused bit patterns decode to opInvalid.
func (h *huffman) build(lens []uint8, kinds []uint32) bool {
	h.kinds = kinds
	h.count = [maxCodeLen + 1]uint16{}
	for _, l := range lens {
		h.count[l]++
	}
	h.count[0] = 0
	left := 1 // unassigned codes of the current length
	for l := 1; l <= maxCodeLen; l++ {
		left = left<<1 - int(h.count[l])
		if left < 0 {
			return false // over-subscribed
		}
	}
	total := 0
	for l := 1; l <= maxCodeLen; l++ {
		total += int(h.count[l])
	}
	if left > 0 && !(total == 0 || (total == 1 && h.count[1] == 1)) {
		return false // incomplete
	}

	code, off := 0, 0
	for l := 1; l <= maxCodeLen; l++ {
		h.first[l] = uint16(code)
		h.offset[l] = uint16(off)
		off += int(h.count[l])
		code = (code + int(h.count[l])) << 1
	}
	next := h.offset
	for sym, l := range lens {
		if l != 0 {
			h.symbol[next[l]] = uint16(sym)
			next[l]++
		}
	}

	if left > 0 {
		// Incomplete: everything not assigned below is an invalid code.
		inv := entry(opInvalid, 0) | 1
		for i := range h.table {
			h.table[i] = inv
		}
	}
	// Fill the primary table: a code of length l <= tableBits owns every
	// index whose low l bits are the reversed code. Codes longer than
	// tableBits mark their tableBits-bit prefix as long (entry 0).
	idx := 0
	for l := 1; l <= maxCodeLen; l++ {
		n := int(h.count[l])
		c := int(h.first[l])
		for i := range n {
			sym := h.symbol[idx+i]
			if l <= tableBits {
				e := kinds[sym] | uint32(l)
				for j := int(bits.Reverse16(uint16(c+i)) >> (16 - l)); j < tableSize; j += 1 << l {
					h.table[j] = e
				}
			} else {
				prefix := (c + i) >> (l - tableBits)
				h.table[bits.Reverse16(uint16(prefix))>>(16-tableBits)] = 0
			}
		}
		idx += n
	}
	return true
}

// decodeLong decodes a code longer than tableBits from hold, which holds nb
// valid bits. It reports false if nb bits are not enough.
func (h *huffman) decodeLong(hold uint64, nb uint) (uint32, bool) {
	rev := uint(bits.Reverse16(uint16(hold)))
	for l := uint(tableBits + 1); l <= maxCodeLen; l++ {
		if l > nb {
			return 0, false
		}
		d := uint16(rev>>(16-l)) - h.first[l]
		if d < h.count[l] {
			return h.kinds[h.symbol[h.offset[l]+d]] | uint32(l), true
		}
	}
	// Unreachable for a complete code; treat as corrupt input.
	return entry(opInvalid, 0) | 1, true
}

// decode returns the entry of the next code in hold (nb valid bits, the bits
// above them zero) and reports false if more bits are needed.
func (h *huffman) decode(hold uint64, nb uint) (uint32, bool) {
	e := h.table[hold&tableMask]
	if n := uint(e & 0xff); n != 0 {
		return e, n <= nb
	}
	return h.decodeLong(hold, nb)
}
