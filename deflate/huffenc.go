package deflate

import (
	"encoding/binary"
	"math/bits"
	"slices"
)

// The encoding half of RFC 1951: a bit writer, length-limited canonical
// Huffman codes, and the three block types. The LZ77 half is encode.go.

// bitWriter appends DEFLATE's bits, least significant first, to out.
// Between messages it is byte aligned (a message ends with a sync flush),
// so only whole bytes are ever handed out.
type bitWriter struct {
	out []byte
	acc uint64
	n   uint // bits in acc, < 32 between calls
}

// bits writes the n low bits of v (n ≤ 32).
func (w *bitWriter) bits(v uint64, n uint) {
	w.acc |= v << w.n
	w.n += n
	if w.n >= 32 {
		w.out = binary.LittleEndian.AppendUint32(w.out, uint32(w.acc))
		w.acc >>= 32
		w.n -= 32
	}
}

// align pads to a byte boundary and moves every whole byte to out.
func (w *bitWriter) align() {
	w.n = (w.n + 7) &^ 7
	for w.n > 0 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.n -= 8
	}
	w.acc = 0
}

// hcode is a Huffman code ready to write: its bits reversed (DEFLATE sends
// codes most significant bit first, inside an LSB-first stream) and its
// length.
type hcode struct {
	code uint16
	len  uint8
}

const (
	numLitSyms  = 286 // literal/length symbols that can appear (0-285)
	numDistSyms = 30
	maxCodeBits = 15 // RFC 1951 §3.2.7
	maxCLBits   = 7  // code length code lengths are 3-bit fields
)

// Fixed codes (RFC 1951 §3.2.6).
var fixedLitCodes [maxLitSyms]hcode
var fixedDistCodes [numDistSyms]hcode

// lengthSym maps a match length minus 3 to its length code (0-28, for
// symbols 257-285).
var lengthSym [256]uint8

func init() {
	lens := fixedLitLens()
	canonical(lens[:], fixedLitCodes[:])
	var dl [numDistSyms]uint8
	for i := range dl {
		dl[i] = 5
	}
	canonical(dl[:], fixedDistCodes[:])
	code := 0
	for l := 3; l <= 258; l++ {
		for code < 28 && int(lengthBase[code+1]) <= l {
			code++
		}
		lengthSym[l-3] = uint8(code)
	}
}

// distSym returns the distance code of a distance minus one (0-32767).
func distSym(d uint32) uint32 {
	if d < 4 {
		return d
	}
	nb := uint32(bits.Len32(d)) - 2
	return 2*nb + 2 + (d>>nb)&1
}

// canonical assigns the canonical codes of RFC 1951 §3.2.2 to lens.
func canonical(lens []uint8, codes []hcode) {
	var count [maxCodeBits + 1]uint16
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	var next [maxCodeBits + 1]uint16
	code := uint16(0)
	for b := 1; b <= maxCodeBits; b++ {
		code = (code + count[b-1]) << 1
		next[b] = code
	}
	for i, l := range lens {
		if l == 0 {
			codes[i] = hcode{}
			continue
		}
		c := next[l]
		next[l]++
		codes[i] = hcode{code: bits.Reverse16(c) >> (16 - l), len: l}
	}
}

// huffBuilder computes length-limited Huffman code lengths; its arrays are
// sized for the largest alphabet, so it allocates nothing.
type huffBuilder struct {
	syms   [numLitSyms]uint16
	weight [2 * numLitSyms]uint32
	parent [2 * numLitSyms]uint16
	depth  [2 * numLitSyms]uint16
}

// lengths sets lens[i] to the code length of symbol i for the frequencies
// freq, no code longer than maxBits. Unused symbols get 0. A single used
// symbol gets length 1 (RFC 1951 §3.2.7 codes it with one bit).
func (hb *huffBuilder) lengths(freq []uint32, lens []uint8, maxBits int) {
	n := 0
	for i, f := range freq {
		lens[i] = 0
		if f > 0 {
			hb.syms[n] = uint16(i)
			n++
		}
	}
	switch n {
	case 0:
		return
	case 1:
		lens[hb.syms[0]] = 1
		return
	}
	syms := hb.syms[:n]
	slices.SortFunc(syms, func(a, b uint16) int {
		if fa, fb := freq[a], freq[b]; fa != fb {
			if fa < fb {
				return -1
			}
			return 1
		}
		return int(a) - int(b)
	})
	// Two queues: the leaves in ascending weight, and the internal nodes,
	// which are made in ascending weight too.
	for i, s := range syms {
		hb.weight[i] = freq[s]
	}
	leaf, node := 0, n
	pick := func(k int) int {
		if leaf < n && (node >= k || hb.weight[leaf] <= hb.weight[node]) {
			leaf++
			return leaf - 1
		}
		node++
		return node - 1
	}
	for k := n; k < 2*n-1; k++ {
		a, b := pick(k), pick(k)
		hb.weight[k] = hb.weight[a] + hb.weight[b]
		hb.parent[a], hb.parent[b] = uint16(k), uint16(k)
	}
	root := 2*n - 2
	hb.depth[root] = 0
	var count [maxCodeBits + 2]int
	for k := root - 1; k >= 0; k-- {
		d := hb.depth[hb.parent[k]] + 1
		hb.depth[k] = d
		if k < n {
			count[min(int(d), maxBits)]++
		}
	}
	// Lengths past maxBits were clamped: restore the Kraft sum by moving
	// codes down one level at a time (each step takes a code from the
	// deepest level and splits a shorter leaf into two).
	total := 0
	for b := 1; b <= maxBits; b++ {
		total += count[b] << (maxBits - b)
	}
	for total > 1<<maxBits {
		count[maxBits]--
		for b := maxBits - 1; b > 0; b-- {
			if count[b] > 0 {
				count[b]--
				count[b+1] += 2
				break
			}
		}
		total--
	}
	// The least frequent symbols get the longest codes.
	i := 0
	for b := maxBits; b >= 1; b-- {
		for range count[b] {
			lens[syms[i]] = uint8(b)
			i++
		}
	}
}

// blockStats are the symbol frequencies of a block's tokens.
type blockStats struct {
	lit   [numLitSyms]uint32
	dist  [numDistSyms]uint32
	extra int // bits of length and distance extras
}

// scratch is the state of one block's encoding: tokens, frequencies and
// codes. It is taken from a pool for the block and not held between
// messages.
type scratch struct {
	toks     []uint32
	st       blockStats
	hb       huffBuilder
	litLens  [numLitSyms]uint8
	distLens [numDistSyms]uint8
	litCodes [numLitSyms]hcode
	dstCodes [numDistSyms]hcode
	clFreq   [19]uint32
	clLens   [19]uint8
	clCodes  [19]hcode
	rle      []uint8 // code length symbols with their repeat counts
}

// Tokens: a literal is its byte; a match is matchFlag | distance code<<24
// | (length-3)<<16 | (distance-1).
const matchFlag = 1 << 31

func (s *scratch) literal(b byte) {
	s.toks = append(s.toks, uint32(b))
	s.st.lit[b]++
}

func (s *scratch) match(length, dist int) {
	l, d := uint32(length-3), uint32(dist-1)
	dc := distSym(d)
	s.toks = append(s.toks, matchFlag|dc<<24|l<<16|d)
	lc := lengthSym[l]
	s.st.lit[257+uint32(lc)]++
	s.st.dist[dc]++
	s.st.extra += int(lengthExtra[lc] + distExtra[dc])
}

// writeBlock writes the block of s's tokens, whose input was raw, as the
// smallest of a stored, a fixed and a dynamic Huffman block (never final:
// the message ends with a sync flush).
func (s *scratch) writeBlock(w *bitWriter, raw []byte) {
	s.st.lit[256]++ // end of block
	defer func() {
		s.st = blockStats{}
		s.toks = s.toks[:0]
	}()
	// Stored: 3 header bits, padding, LEN and NLEN per 65535 bytes.
	pad := (8 - (w.n+3)%8) % 8
	stored := 3 + int(pad) + 32 + 8*len(raw)
	if len(raw) > 65535 {
		stored += (len(raw) / 65535) * (3 + 32 + 8)
	}
	fixed := 3 + s.st.extra
	for i, f := range s.st.lit {
		fixed += int(f) * int(fixedLitCodes[i].len)
	}
	for _, f := range s.st.dist {
		fixed += int(f) * 5
	}
	dynamic := 1 << 30
	if len(s.toks) > 64 { // a dynamic header costs more than small blocks save
		s.hb.lengths(s.st.lit[:], s.litLens[:], maxCodeBits)
		s.hb.lengths(s.st.dist[:], s.distLens[:], maxCodeBits)
		dynamic = 3 + s.st.extra + s.headerBits()
		for i, f := range s.st.lit {
			dynamic += int(f) * int(s.litLens[i])
		}
		for i, f := range s.st.dist {
			dynamic += int(f) * int(s.distLens[i])
		}
	}
	switch {
	case stored <= fixed && stored <= dynamic:
		writeStored(w, raw)
	case fixed <= dynamic:
		w.bits(1<<1, 3)
		s.writeTokens(w, fixedLitCodes[:numLitSyms], fixedDistCodes[:])
	default:
		w.bits(2<<1, 3)
		s.writeHeader(w)
		canonical(s.litLens[:], s.litCodes[:])
		canonical(s.distLens[:], s.dstCodes[:])
		s.writeTokens(w, s.litCodes[:], s.dstCodes[:])
	}
}

// writeStored writes raw as stored blocks.
func writeStored(w *bitWriter, raw []byte) {
	for {
		n := min(len(raw), 65535)
		w.bits(0, 3)
		w.align()
		w.out = append(w.out, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		w.out = append(w.out, raw[:n]...)
		raw = raw[n:]
		if len(raw) == 0 {
			return
		}
	}
}

// writeTokens writes the tokens and the end of block with the codes. The
// bit buffer is kept in locals: this is the encoder's hottest loop.
func (s *scratch) writeTokens(w *bitWriter, lit, dist []hcode) {
	acc, n, out := w.acc, w.n, w.out
	for _, t := range s.toks {
		if t&matchFlag == 0 {
			c := lit[t&0xff]
			acc |= uint64(c.code) << n
			n += uint(c.len)
		} else {
			l := (t >> 16) & 0xff
			lc := uint32(lengthSym[l])
			c := lit[257+lc]
			acc |= (uint64(c.code) | uint64(l+3-lengthBase[lc])<<c.len) << n
			n += uint(c.len) + uint(lengthExtra[lc])
			d := t & 0xffff
			dc := (t >> 24) & 0x1f
			c = dist[dc]
			if n >= 32 {
				out = binary.LittleEndian.AppendUint32(out, uint32(acc))
				acc >>= 32
				n -= 32
			}
			acc |= (uint64(c.code) | uint64(d+1-distBase[dc])<<c.len) << n
			n += uint(c.len) + uint(distExtra[dc])
		}
		if n >= 32 {
			out = binary.LittleEndian.AppendUint32(out, uint32(acc))
			acc >>= 32
			n -= 32
		}
	}
	w.acc, w.n, w.out = acc, n, out
	c := lit[256]
	w.bits(uint64(c.code), uint(c.len))
}

// headerBits builds the run-length coded code lengths of a dynamic header
// (RFC 1951 §3.2.7) and their code, and returns the header's size in bits.
func (s *scratch) headerBits() int {
	nlit, ndist := s.counts()
	s.rle = s.rle[:0]
	s.clFreq = [19]uint32{}
	all := func(i int) uint8 {
		if i < nlit {
			return s.litLens[i]
		}
		return s.distLens[i-nlit]
	}
	total := nlit + ndist
	for i := 0; i < total; {
		l := all(i)
		run := 1
		for i+run < total && all(i+run) == l {
			run++
		}
		i += run
		if l == 0 {
			for run >= 11 {
				r := min(run, 138)
				s.rle = append(s.rle, 18, uint8(r-11))
				s.clFreq[18]++
				run -= r
			}
			if run >= 3 {
				s.rle = append(s.rle, 17, uint8(run-3))
				s.clFreq[17]++
				run = 0
			}
		} else {
			s.rle = append(s.rle, l, 0)
			s.clFreq[l]++
			run--
			for run >= 3 {
				r := min(run, 6)
				s.rle = append(s.rle, 16, uint8(r-3))
				s.clFreq[16]++
				run -= r
			}
		}
		for ; run > 0; run-- {
			s.rle = append(s.rle, l, 0)
			s.clFreq[l]++
		}
	}
	s.hb.lengths(s.clFreq[:], s.clLens[:], maxCLBits)
	nb := 5 + 5 + 4 + 3*s.clCount()
	for i := 0; i < len(s.rle); i += 2 {
		sym := s.rle[i]
		nb += int(s.clLens[sym])
		switch sym {
		case 16:
			nb += 2
		case 17:
			nb += 3
		case 18:
			nb += 7
		}
	}
	return nb
}

// counts returns HLIT+257 and HDIST+1: the used prefix of each alphabet.
// A block without matches still declares one distance code; if none is
// used it gets length 1, as a complete one-code tree.
func (s *scratch) counts() (nlit, ndist int) {
	nlit = numLitSyms
	for nlit > 257 && s.litLens[nlit-1] == 0 {
		nlit--
	}
	ndist = numDistSyms
	for ndist > 1 && s.distLens[ndist-1] == 0 {
		ndist--
	}
	if ndist == 1 && s.distLens[0] == 0 {
		s.distLens[0] = 1
	}
	return nlit, ndist
}

// clCount returns HCLEN+4: the code length codes sent, in clOrder.
func (s *scratch) clCount() int {
	n := 19
	for n > 4 && s.clLens[clOrder[n-1]] == 0 {
		n--
	}
	return n
}

// writeHeader writes the dynamic header headerBits prepared.
func (s *scratch) writeHeader(w *bitWriter) {
	nlit, ndist := s.counts()
	ncl := s.clCount()
	w.bits(uint64(nlit-257)|uint64(ndist-1)<<5|uint64(ncl-4)<<10, 14)
	for _, sym := range clOrder[:ncl] {
		w.bits(uint64(s.clLens[sym]), 3)
	}
	canonical(s.clLens[:], s.clCodes[:])
	for i := 0; i < len(s.rle); i += 2 {
		sym, rep := s.rle[i], s.rle[i+1]
		c := s.clCodes[sym]
		w.bits(uint64(c.code), uint(c.len))
		switch sym {
		case 16:
			w.bits(uint64(rep), 2)
		case 17:
			w.bits(uint64(rep), 3)
		case 18:
			w.bits(uint64(rep), 7)
		}
	}
}
