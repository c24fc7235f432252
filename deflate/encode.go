package deflate

import (
	"encoding/binary"
	"math/bits"
	"sync"
)

// The LZ77 half of hybi's DEFLATE encoder, made for per-message WebSocket
// compression: the window is exactly what RFC 7692 negotiated (8 to 15
// bits), and with context takeover the state kept between messages is that
// window, a little room for input and a small hash table: under 64 KiB at
// 15 bits, proportionally less below (TestCompressorHeldMemory).
//
// Matches are found with a hash table of the last position of each 4-byte
// sequence (one probe, no chains): fast levels skip ahead faster and
// faster through input that does not match (incompressible data costs
// little), higher levels look at every position, hash every position of a
// match, and try the next position before taking a match (lazy matching).

const (
	minMatch     = 4 // the shortest match looked for (DEFLATE allows 3)
	maxHashBits  = 12
	minHashBits  = 8
	maxRoom      = 8 << 10 // input room beside a 32 KiB window: 40 KiB, a whole number of pages
	minRoom      = 1 << 10
	noHistoryBuf = 16 << 10 // levels 0 and -2 keep no window
	hashMul      = 0x9e3779b1
)

// encoder is the LZ77 state: the window's history followed by input not
// yet encoded, and the hash table.
type encoder struct {
	level int
	wsize int      // the window: the longest distance allowed; 0 for levels without matches
	buf   []byte   // history, then pending input
	pos   int      // bytes of buf in use
	cur   int      // first byte of buf not yet encoded
	hash  []uint16 // position+1 of the last sequence with each hash, 0 for none
	shift uint32   // 32 - hash bits
}

// encoderPools holds the encoders of connections without context
// takeover, by window bits (index 0: levels without matches).
var encoderPools [MaxWindowBits + 1]sync.Pool

// scratchPool holds the per-block state (tokens, frequencies, codes).
var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func poolIndex(level, windowBits int) int {
	if level == 0 || level == HuffmanOnly {
		return 0
	}
	return windowBits
}

func newEncoder(level, windowBits int) *encoder {
	if level == 0 || level == HuffmanOnly {
		return &encoder{level: level, buf: make([]byte, noHistoryBuf)}
	}
	w := 1 << windowBits
	room := min(max(w/2, minRoom), maxRoom)
	hb := min(max(windowBits-1, minHashBits), maxHashBits)
	return &encoder{
		level: level,
		wsize: w,
		buf:   make([]byte, w+room),
		hash:  make([]uint16, 1<<hb),
		shift: uint32(32 - hb),
	}
}

// reset forgets the history: the next message starts with an empty window.
func (e *encoder) reset() {
	e.pos, e.cur = 0, 0
	clear(e.hash)
}

// write adds p to the message, encoding a block whenever the buffer fills.
func (e *encoder) write(w *bitWriter, p []byte) {
	for len(p) > 0 {
		n := copy(e.buf[e.pos:], p)
		e.pos += n
		p = p[n:]
		if e.pos == len(e.buf) {
			e.block(w)
			e.slide()
		}
	}
}

// finish encodes what is pending and ends the message with a sync flush
// (an empty stored block) whose LEN and NLEN, 00 00 ff ff, are left out
// (RFC 7692 §7.2.1).
func (e *encoder) finish(w *bitWriter) {
	e.block(w)
	w.bits(0, 3)
	w.align()
	if e.wsize == 0 {
		e.pos, e.cur = 0, 0
	}
}

// block encodes buf[cur:pos] as one block.
func (e *encoder) block(w *bitWriter) {
	if e.cur == e.pos {
		return
	}
	raw := e.buf[e.cur:e.pos]
	e.cur = e.pos
	if e.level == 0 {
		writeStored(w, raw)
		return
	}
	s := scratchPool.Get().(*scratch)
	if cap(s.toks) < len(raw) {
		s.toks = make([]uint32, 0, len(e.buf))
	}
	if e.level == HuffmanOnly {
		for _, b := range raw {
			s.literal(b)
		}
	} else {
		e.tokens(s, e.pos-len(raw))
	}
	s.writeBlock(w, raw)
	scratchPool.Put(s)
}

// slide keeps the last wsize bytes of a full buffer as the history.
func (e *encoder) slide() {
	if e.wsize == 0 {
		e.pos, e.cur = 0, 0
		return
	}
	delta := e.pos - e.wsize
	copy(e.buf, e.buf[delta:e.pos])
	e.pos -= delta
	e.cur -= delta
	d := uint16(delta)
	for i, v := range e.hash {
		if v > d {
			e.hash[i] = v - d
		} else {
			e.hash[i] = 0
		}
	}
}

func load32(b []byte, i int) uint32 { return binary.LittleEndian.Uint32(b[i:]) }

// matchLen returns how many bytes a and b have in common, at most max;
// len(a) ≥ len(b).
func matchLen(a, b []byte, max int) int {
	if len(b) > max {
		b = b[:max]
	}
	a = a[:len(b)]
	n := 0
	for len(b)-n >= 8 {
		if x := binary.LittleEndian.Uint64(a[n:]) ^ binary.LittleEndian.Uint64(b[n:]); x != 0 {
			return n + bits.TrailingZeros64(x)>>3
		}
		n += 8
	}
	for n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// tokens turns buf[start:pos] into literals and matches within the
// window.
func (e *encoder) tokens(s *scratch, start int) {
	buf := e.buf[:e.pos]
	end := len(buf)
	hash := e.hash
	shift := e.shift
	wsize := e.wsize
	careful := e.level >= 4
	lit := start
	last := end - minMatch // the last position a sequence starts at
	misses := 0
	for i := start; i <= last; {
		v := load32(buf, i)
		h := (v * hashMul) >> shift
		cand := int(hash[h]) - 1
		hash[h] = uint16(i + 1)
		if cand < 0 || i-cand > wsize || load32(buf, cand) != v {
			if careful {
				i++
			} else {
				misses++
				i += 1 + misses>>5
			}
			continue
		}
		misses = 0
		n := minMatch + matchLen(buf[cand+minMatch:], buf[i+minMatch:], maxMatch-minMatch)
		if careful && n < maxMatch && i+1 <= last {
			// Lazy: a longer match one byte on wins over this one.
			v1 := load32(buf, i+1)
			h1 := (v1 * hashMul) >> shift
			c1 := int(hash[h1]) - 1
			hash[h1] = uint16(i + 2)
			if c1 >= 0 && i+1-c1 <= wsize && load32(buf, c1) == v1 {
				if n1 := minMatch + matchLen(buf[c1+minMatch:], buf[i+1+minMatch:], maxMatch-minMatch); n1 > n {
					i, cand, n = i+1, c1, n1
				}
			}
		}
		for ; lit < i; lit++ {
			s.literal(buf[lit])
		}
		s.match(n, i-cand)
		next := i + n
		j := next - 2
		if careful {
			j = i + 1
		}
		for ; j < next && j <= last; j++ {
			hash[(load32(buf, j)*hashMul)>>shift] = uint16(j + 1)
		}
		i, lit = next, next
	}
	for ; lit < end; lit++ {
		s.literal(buf[lit])
	}
}
