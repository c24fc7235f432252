package deflate

import (
	"encoding/binary"
	"errors"
)

// windowSize is the largest DEFLATE window (RFC 1951 §2: distances up to
// 32768) and the size of the Inflater's history ring.
const windowSize = 1 << 15

// maxMatch is the longest back-reference (RFC 1951 §3.2.5: length 258).
const maxMatch = 258

// Tail is what RFC 7692 §7.2.2 has the receiver append to the payload of
// every compressed message before inflating it: "Append 4 octets of 0x00
// 0x00 0xff 0xff to the tail end of the payload of the message."
// Inflater.FinishMessage feeds it; it is exported for callers that drive
// Inflate themselves.
var Tail = [4]byte{0x00, 0x00, 0xff, 0xff}

// ErrCorrupt is matched (errors.Is) by every error the Inflater returns for
// input that is not a valid DEFLATE stream. A connection receiving one fails
// with close code 1007 (RFC 6455 §7.4.1: data inconsistent with the type of
// the message).
var ErrCorrupt = errors.New("deflate: corrupt compressed data")

type corruptError string

func (e corruptError) Error() string        { return "deflate: corrupt compressed data: " + string(e) }
func (e corruptError) Is(target error) bool { return target == ErrCorrupt }

var (
	errBlockType error = corruptError("reserved block type 3")
	errStoredLen error = corruptError("stored block LEN does not match NLEN")
	errCounts    error = corruptError("too many length or distance codes")
	errCodeLens  error = corruptError("invalid code length code")
	errLitLens   error = corruptError("invalid literal/length or distance code")
	errRepeat    error = corruptError("code length repeat with nothing to repeat or past the end")
	errNoEnd     error = corruptError("no code for end of block")
	errSymbol    error = corruptError("invalid literal/length code")
	errDistSym   error = corruptError("invalid distance code")
	errDistance  error = corruptError("distance too far back")
	errTruncated error = corruptError("message ends inside a DEFLATE block")
)

// Decoder states. The zero state reads a block header.
const (
	stHeader     = iota // next: BFINAL and BTYPE (RFC 1951 §3.2.3)
	stStoredLen         // next: byte alignment, LEN and NLEN (§3.2.4)
	stStored            // copying storedLeft literal bytes
	stDynHeader         // next: HLIT, HDIST, HCLEN (§3.2.7)
	stCodeLenLen        // next: 3-bit code length code lengths, index i
	stCodeLens          // next: code lengths of the literal/length and distance codes, index i
	stData              // next: a literal/length code
	stCopy              // copying copyLen bytes from copyDist back
)

// RFC 1951 §3.2.7: the order of the code length code lengths.
var clOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// Inflater is a push-style streaming DEFLATE (RFC 1951) decompressor: the
// caller hands it compressed bytes as they arrive and an output buffer, and
// it decodes exactly as much as fits. It never reads ahead of the input it is
// given, never blocks and never grows: its memory is the 32 KiB window plus
// fixed decoding tables (docs/performance.md has the total) and output is
// bounded by the caller's buffer, so a decompression bomb costs CPU the
// caller meters, never memory.
//
// The zero value is ready to use. An Inflater keeps the window between
// messages (RFC 7692 context takeover); Reset forgets it. It is not safe for
// concurrent use.
type Inflater struct {
	// hold is the bit buffer: input bits not yet used, least significant
	// first. Invariant between calls: the bits of hold above nb are zero.
	// need and the slow paths OR the next input byte in at bit nb, the
	// stored-block copy reads bytes straight from the input once hold is
	// empty, and EndMessage compares hold whole; all rely on it. fast is the
	// only code that breaks it (its 8-byte refill), and it restores it on
	// every exit.
	hold  uint64
	nb    uint // number of valid bits in hold
	state int
	final bool // the current block has BFINAL set

	wpos int  // next write position in hist
	full bool // hist has wrapped: every distance up to windowSize is valid

	storedLeft int // stStored: bytes left
	copyLen    int // stCopy: bytes left
	copyDist   int // stCopy: distance

	nlit, ndist, ncl int // dynamic block header counts
	i                int // index while reading code lengths

	lit, dist *huffman // current block's codes
	dynLit    huffman
	dynDist   huffman
	lens      [maxLenSyms + maxDstSyms]uint8

	total    int  // compressed bytes consumed since Reset
	base     int  // total when the current run started
	boundary int  // total at the last clean point: message start or after a BFINAL block
	atFinal  bool // a BFINAL block just ended; run records boundary
	tailFed  int  // bytes of Tail fed by FinishMessage
	err      error

	hist [windowSize]byte // the window, a ring; also stages output
}

// Reset forgets the window and any partial state, as at the start of a
// message without context takeover (RFC 7692 §7.1.1).
func (f *Inflater) Reset() {
	f.hold, f.nb, f.state, f.final = 0, 0, stHeader, false
	f.wpos, f.full = 0, false
	f.storedLeft, f.copyLen, f.copyDist = 0, 0, 0
	f.lit, f.dist = nil, nil
	f.total, f.base, f.boundary, f.atFinal, f.tailFed, f.err = 0, 0, 0, false, 0, nil
}

// Inflate decodes compressed input from in into out and returns how many
// bytes of each it used. It returns when out is full or all of in has been
// consumed; consumed input that could not be decoded yet is kept, so the
// next call resumes exactly where this one stopped and any chopping of the
// input and output gives the same bytes. A nil error with nOut < len(out)
// therefore means all of in was consumed: give me more input.
//
// The four bytes of Tail may be fed through Inflate like the rest of the
// message (then call EndMessage), or by FinishMessage. A block with BFINAL
// set is followed by more blocks at the next byte boundary (RFC 7692
// §7.2.1). Errors are sticky until Reset.
func (f *Inflater) Inflate(out, in []byte) (nOut, nIn int, err error) {
	if f.err != nil {
		return 0, 0, f.err
	}
	for nOut < len(out) {
		start := f.wpos
		limit := min(windowSize, start+len(out)-nOut)
		f.base = f.total + nIn
		n, err := f.run(in[nIn:], limit)
		nIn += n
		nOut += copy(out[nOut:], f.hist[start:f.wpos])
		wrapped := f.wpos == windowSize
		if wrapped {
			f.wpos, f.full = 0, true
		}
		if err != nil {
			f.err = err
			break
		}
		if !wrapped && f.wpos < limit {
			break // starved: in is used up
		}
	}
	f.total += nIn
	return nOut, nIn, f.err
}

// FinishMessage ends a message whose payload went through Inflate: it
// feeds Tail (RFC 7692 §7.2.2) and decodes what remains into out. Call it
// until done is true, each time with room in out. The Inflater is then ready
// for the next message of the same stream (context takeover); call Reset
// first when the window must not be kept.
func (f *Inflater) FinishMessage(out []byte) (nOut int, done bool, err error) {
	if f.err != nil {
		return 0, false, f.err
	}
	nOut, m, err := f.Inflate(out, Tail[f.tailFed:])
	f.tailFed += m
	if err != nil || f.tailFed < len(Tail) || nOut == len(out) {
		return nOut, false, err
	}
	f.tailFed = 0
	if err := f.EndMessage(); err != nil {
		return nOut, false, err
	}
	return nOut, true, nil
}

// EndMessage ends a message after its payload and Tail went through Inflate
// and Inflate returned with room left in out (so everything was decoded).
// It reports an error if the message did not end at a block boundary: RFC
// 7692 §7.2.1 has the sender end every message with an empty stored block
// whose last four bytes Tail restores.
//
// Two lenient cases are accepted, where Tail alone follows a clean point:
// an empty payload (RFC 7692 §7.2.3.6 has the sender transmit 0x00), and a
// message ending with a block with BFINAL set but without the 0x00 octet
// that §7.2.3.4 puts after it.
func (f *Inflater) EndMessage() error {
	if f.err != nil {
		return f.err
	}
	switch {
	case f.state == stHeader && f.nb == 0:
	case f.total-f.boundary == len(Tail) && f.state == stStoredLen && f.nb == 24 && f.hold == 0xffff00:
		// Tail alone, read as the start of a stored block: 00 is its
		// header, 00 ff its LEN and ff half of its NLEN.
		f.hold, f.nb = 0, 0
		f.state = stHeader
	default:
		f.err = errTruncated
		return f.err
	}
	f.boundary = f.total
	return nil
}

// need pulls input bytes into hold until it has n bits; false means in ran
// out first. ORing a byte in at bit nb is right only because hold's bits
// above nb are zero (the invariant documented on hold).
func (f *Inflater) need(n uint, in []byte, ip *int) bool {
	for f.nb < n {
		if *ip == len(in) {
			return false
		}
		f.hold |= uint64(in[*ip]) << f.nb
		*ip++
		f.nb += 8
	}
	return true
}

func (f *Inflater) drop(n uint) {
	f.hold >>= n
	f.nb -= n
}

// run decodes into hist[wpos:limit]. It returns how much of in it consumed
// and stops when wpos reaches limit, when in is exhausted and more is
// needed, or on an error.
func (f *Inflater) run(in []byte, limit int) (int, error) {
	ip := 0
	for {
		if f.atFinal {
			// Whole bytes in hold were read past the block's end.
			f.boundary = f.base + ip - int(f.nb/8)
			f.atFinal = false
		}
		switch f.state {
		case stHeader:
			if !f.need(3, in, &ip) {
				return ip, nil
			}
			f.final = f.hold&1 != 0
			typ := (f.hold >> 1) & 3
			f.drop(3)
			switch typ {
			case 0:
				f.state = stStoredLen
			case 1:
				f.lit, f.dist = &fixedLit, &fixedDist
				f.state = stData
			case 2:
				f.state = stDynHeader
			default:
				return ip, errBlockType
			}

		case stStoredLen:
			// RFC 1951 §3.2.4: skip to a byte boundary, then LEN and NLEN,
			// "the one's complement of LEN".
			f.drop(f.nb & 7)
			if !f.need(32, in, &ip) {
				return ip, nil
			}
			n := uint16(f.hold)
			if ^n != uint16(f.hold>>16) {
				return ip, errStoredLen
			}
			f.drop(32)
			f.storedLeft = int(n)
			f.state = stStored

		case stStored:
			for f.storedLeft > 0 && f.nb >= 8 && f.wpos < limit {
				f.hist[f.wpos] = byte(f.hold)
				f.wpos++
				f.drop(8)
				f.storedLeft--
			}
			// hold is empty or we are out of room: copy straight from in,
			// bypassing hold, which must then have nothing (not even
			// stale bits above nb) left over for the next need.
			k := copy(f.hist[f.wpos:limit], in[ip:min(len(in), ip+f.storedLeft)])
			f.wpos += k
			ip += k
			f.storedLeft -= k
			if f.storedLeft == 0 {
				f.endBlock()
				continue
			}
			return ip, nil // out of room or input

		case stDynHeader:
			if !f.need(14, in, &ip) {
				return ip, nil
			}
			f.nlit = int(f.hold&31) + 257
			f.ndist = int(f.hold>>5&31) + 1
			f.ncl = int(f.hold>>10&15) + 4
			f.drop(14)
			// RFC 1951 §3.2.7 allows HLIT up to 286 and HDIST up to 30
			// codes that can occur; zlib rejects larger counts too.
			if f.nlit > maxLenSyms || f.ndist > maxDstSyms {
				return ip, errCounts
			}
			f.i = 0
			f.lens = [len(f.lens)]uint8{}
			f.state = stCodeLenLen

		case stCodeLenLen:
			for f.i < f.ncl {
				if !f.need(3, in, &ip) {
					return ip, nil
				}
				f.lens[clOrder[f.i]] = uint8(f.hold & 7)
				f.drop(3)
				f.i++
			}
			// The code length code lives in dynLit until the literal/length
			// code replaces it: one table less per Inflater.
			// An empty code length code can code none of the 258 or more
			// lengths that must follow: reject it now, as compress/flate
			// does.
			if [19]uint8(f.lens[:19]) == [19]uint8{} || !f.dynLit.build(f.lens[:19], clKinds[:]) {
				return ip, errCodeLens
			}
			f.lens = [len(f.lens)]uint8{}
			f.i = 0
			f.state = stCodeLens

		case stCodeLens:
			total := f.nlit + f.ndist
			for f.i < total {
				e, ok := f.dynLit.decode(f.hold, f.nb) // the code length code, built in dynLit's place
				var extra uint
				if ok {
					if e>>8&0xff == opInvalid {
						return ip, errCodeLens
					}
					switch e >> 16 {
					case 16:
						if f.i == 0 {
							return ip, errRepeat
						}
						extra = 2
					case 17:
						extra = 3
					case 18:
						extra = 7
					}
					ok = uint(e&0xff)+extra <= f.nb
				}
				if !ok {
					if ip == len(in) {
						return ip, nil
					}
					f.hold |= uint64(in[ip]) << f.nb
					ip++
					f.nb += 8
					continue
				}
				f.drop(uint(e & 0xff))
				sym := e >> 16
				if sym < 16 {
					f.lens[f.i] = uint8(sym)
					f.i++
					continue
				}
				var rep int
				var val uint8
				switch sym {
				case 16: // copy the previous length 3-6 times
					val = f.lens[f.i-1]
					rep = 3 + int(f.hold&3)
				case 17: // 3-10 zeros
					rep = 3 + int(f.hold&7)
				default: // 18: 11-138 zeros
					rep = 11 + int(f.hold&127)
				}
				f.drop(extra)
				if f.i+rep > total {
					return ip, errRepeat
				}
				for range rep {
					f.lens[f.i] = val
					f.i++
				}
			}
			if f.lens[256] == 0 {
				return ip, errNoEnd
			}
			if !f.dynLit.build(f.lens[:f.nlit], litKinds[:]) ||
				!f.dynDist.build(f.lens[f.nlit:total], distKinds[:]) {
				return ip, errLitLens
			}
			f.lit, f.dist = &f.dynLit, &f.dynDist
			f.state = stData

		case stData:
			if len(in)-ip >= 8 && limit-f.wpos >= maxMatch {
				var err error
				ip, err = f.fast(in, ip, limit)
				if err != nil {
					return ip, err
				}
				continue
			}
			if f.wpos == limit {
				return ip, nil
			}
			// Slow path: decode one whole symbol (literal, end of block,
			// or length and distance with their extra bits, at most 48
			// bits) from hold, or pull one more byte and try again.
			e, n, err := f.slowSymbol()
			if err != nil {
				return ip, err
			}
			if n == 0 {
				if ip == len(in) {
					return ip, nil
				}
				f.hold |= uint64(in[ip]) << f.nb
				ip++
				f.nb += 8
				continue
			}
			f.drop(n)
			switch op := e >> 8 & 0xff; op {
			case opLiteral:
				f.hist[f.wpos] = byte(e >> 16)
				f.wpos++
			case opEnd:
				f.endBlock()
			default: // slowSymbol left length in copyLen, distance in copyDist
				f.state = stCopy
			}

		case stCopy:
			if f.wpos == limit {
				return ip, nil
			}
			f.copy(limit)
			if f.copyLen == 0 {
				f.state = stData
			}

		}
	}
}

// endBlock moves on after the end of a block.
//
// RFC 7692 §7.2.1: "When any DEFLATE block with the "BFINAL" bit set to 1
// doesn't end at a byte boundary, an endpoint MUST add minimal padding bits
// of 0 to make it end at a byte boundary. The next DEFLATE block follows the
// padded data if any." So a final block ends a DEFLATE stream but not the
// message: the window is kept and decoding goes on at the next byte.
func (f *Inflater) endBlock() {
	f.state = stHeader
	if f.final {
		f.final = false
		f.drop(f.nb & 7)
		f.atFinal = true
	}
}

// slowSymbol decodes the next literal/length code and, for a length, the
// distance, from hold without consuming anything. It returns the entry and
// the total number of bits used, or n == 0 if hold has too few bits. For a
// back-reference it sets copyLen and copyDist.
func (f *Inflater) slowSymbol() (e uint32, n uint, err error) {
	hold, nb := f.hold, f.nb
	e, ok := f.lit.decode(hold, nb)
	if !ok {
		return 0, 0, nil
	}
	n = uint(e & 0xff)
	op := e >> 8 & 0xff
	switch {
	case op == opLiteral || op == opEnd:
		return e, n, nil
	case op == opInvalid:
		return 0, 0, errSymbol
	}
	if n+uint(op) > nb {
		return 0, 0, nil
	}
	length := int(e>>16) + int(hold>>n&(1<<op-1))
	n += uint(op)
	d, ok := f.dist.decode(hold>>n, nb-n)
	if !ok {
		return 0, 0, nil
	}
	dop := d >> 8 & 0xff
	if dop == opInvalid {
		return 0, 0, errDistSym
	}
	dn := uint(d & 0xff)
	if n+dn+uint(dop) > nb {
		return 0, 0, nil
	}
	dist := int(d>>16) + int(hold>>(n+dn)&(1<<dop-1))
	if dist > f.wpos && !f.full {
		return 0, 0, errDistance
	}
	f.copyLen, f.copyDist = length, dist
	return e, n + dn + uint(dop), nil
}

// copy copies min(copyLen, limit-wpos) bytes from copyDist back, the source
// wrapping around the ring.
func (f *Inflater) copy(limit int) {
	end := min(limit, f.wpos+f.copyLen)
	f.copyLen -= end - f.wpos
	f.wpos = copyBack(f.hist[:], f.wpos, end, f.copyDist)
}

// copyBack fills hist[dst:end] with the bytes dist back (dist <= len(hist)),
// wrapping the source around the ring, and returns end.
func copyBack(hist []byte, dst, end, dist int) int {
	src := dst - dist
	if src < 0 {
		src += len(hist)
		dst += copy(hist[dst:end], hist[src:])
		src = 0
	}
	if dst-src >= end-dst {
		copy(hist[dst:end], hist[src:])
		return end
	}
	// Overlapping: the source grows by what was just written, so each copy
	// repeats a whole number of periods (dist).
	for dst < end {
		dst += copy(hist[dst:end], hist[src:dst])
	}
	return end
}

// fast decodes symbols while at least 8 bytes of input and maxMatch bytes of
// room remain, refilling hold 8 bytes at a time: after a refill it holds at
// least 56 bits, more than the 48 a length/distance pair can need.
//
// The refill ORs in 64 bits but counts only the whole bytes it consumed
// (nb becomes 56-63), so hold's bits above nb are the low bits of in[ip],
// not yet consumed. Inside fast that is harmless (the next refill ORs the
// same bits there again), but the rest of the Inflater relies on those bits
// being zero (see hold), so every exit stores hold masked to nb bits, and
// does so before endBlock, which drops padding bits from f.hold.
func (f *Inflater) fast(in []byte, ip, limit int) (int, error) {
	hold, nb := f.hold, f.nb
	wpos := f.wpos
	hist := f.hist[:]
	lit, dist := f.lit, f.dist
	var err error
	for len(in)-ip >= 8 && limit-wpos >= maxMatch {
		hold |= binary.LittleEndian.Uint64(in[ip:]) << nb
		ip += int((63 - nb) >> 3)
		nb |= 56

		e := lit.table[hold&tableMask]
		if e&0xff == 0 {
			e, _ = lit.decodeLong(hold, nb)
		}
		n := uint(e & 0xff)
		hold >>= n
		nb -= n
		op := e >> 8 & 0xff
		if op == opLiteral {
			hist[wpos] = byte(e >> 16)
			wpos++
			// A second literal or the length code fits in what is left
			// (at least 41 bits) more often than not; try it.
			e = lit.table[hold&tableMask]
			if e&0xff == 0 || e>>8&0xff != opLiteral {
				continue
			}
			n = uint(e & 0xff)
			hold >>= n
			nb -= n
			hist[wpos] = byte(e >> 16)
			wpos++
			continue
		}
		if op != opEnd && op >= opLiteral {
			err = errSymbol
			break
		}
		if op == opEnd {
			f.hold, f.nb, f.wpos = hold&(1<<nb-1), nb, wpos
			f.endBlock()
			return ip, nil
		}
		length := int(e>>16) + int(hold&(1<<op-1))
		hold >>= op
		nb -= uint(op)

		e = dist.table[hold&tableMask]
		if e&0xff == 0 {
			e, _ = dist.decodeLong(hold, nb)
		}
		n = uint(e & 0xff)
		hold >>= n
		nb -= n
		op = e >> 8 & 0xff
		if op >= opLiteral {
			err = errDistSym
			break
		}
		d := int(e>>16) + int(hold&(1<<op-1))
		hold >>= op
		nb -= uint(op)
		if d > wpos && !f.full {
			err = errDistance
			break
		}
		src := wpos - d
		if src >= 0 && d >= length {
			copy(hist[wpos:wpos+length], hist[src:src+length])
			wpos += length
		} else {
			wpos = copyBack(hist, wpos, wpos+length, d)
		}
	}
	f.hold, f.nb, f.wpos = hold&(1<<nb-1), nb, wpos
	return ip, err
}
