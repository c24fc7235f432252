package deflate

import (
	"errors"
	"fmt"
	"sync"
)

// inflaterPool holds idle Inflaters (their size is in docs/performance.md).
var inflaterPool = sync.Pool{New: func() any { return new(Inflater) }}

// Compression levels, as compress/flate numbers them.
const (
	NoCompression      = 0  // stored blocks only
	BestSpeed          = 1  // see Compressor for what each level does
	BestCompression    = 9  // the most effort (levels 4 to 9 work alike today)
	DefaultCompression = -1 // BestSpeed
	HuffmanOnly        = -2 // Huffman-coded literals, no matches
)

// Compressor compresses the messages one endpoint sends (RFC 7692 §7.2.1),
// push style: Write the payload in any pieces, take the compressed bytes
// with Next whenever convenient (for example to send a frame), and Finish
// the message to get its last bytes, with the 00 00 ff ff tail removed.
//
// It is hybi's own DEFLATE encoder (encode.go, huffenc.go), not
// compress/flate's: its LZ77 window is exactly the negotiated one (RFC
// 7692 §7.1.2.1: the sender "MUST NOT use an LZ77 sliding window longer
// than" it), and it keeps little. With context takeover it holds the
// window, some room for input and a hash table between messages: about
// 51 KB at 15 bits, 10.6 KB at 12, 2.3 KB at 9 (compress/flate's Writer
// holds over 600 KB). Without, it takes that state from a pool at the
// first Write of a message and returns it at Finish, so an idle
// connection holds none. Each block is written as the smallest of a
// stored, a fixed-code and a dynamic-code block, so incompressible input
// grows by a few bytes per block at most.
//
// Levels: 0 writes stored blocks; HuffmanOnly (-2) codes literals only;
// 1 to 3 find matches with one hash probe per position and skip faster
// through input that does not match (the fastest; DefaultCompression is
// 1); 4 to 9 look at every position, hash every position inside a match
// and take a match one byte later when it is longer (a few percent
// smaller, slower). It is not safe for concurrent use.
type Compressor struct {
	level    int
	bits     int
	takeover bool
	e        *encoder
	w        bitWriter
	open     bool // a message is in progress
}

// NewCompressor returns a Compressor at level (-2 to 9, see Compressor)
// for a connection whose negotiated parameters give noContextTakeover and
// windowBits (8-15) for our sending direction.
func NewCompressor(level int, noContextTakeover bool, windowBits int) (*Compressor, error) {
	if level < HuffmanOnly || level > BestCompression {
		return nil, fmt.Errorf("deflate: invalid compression level %d", level)
	}
	if windowBits < MinWindowBits || windowBits > MaxWindowBits {
		return nil, fmt.Errorf("deflate: invalid window size %d bits", windowBits)
	}
	if level == DefaultCompression {
		level = BestSpeed
	}
	if level == 0 || level == HuffmanOnly {
		noContextTakeover = true // nothing to take over
	}
	return &Compressor{level: level, bits: windowBits, takeover: !noContextTakeover}, nil
}

// Level returns the level in use (DefaultCompression is BestSpeed).
func (c *Compressor) Level() int { return c.level }

func (c *Compressor) start() {
	c.open = true
	if c.e != nil {
		return
	}
	if e, ok := encoderPools[poolIndex(c.level, c.bits)].Get().(*encoder); ok {
		e.level = c.level
		c.e = e
		return
	}
	c.e = newEncoder(c.level, c.bits)
}

// Write compresses p as more of the current message, starting a message if
// none is open. The output accumulates until Next or Finish takes it.
func (c *Compressor) Write(p []byte) (int, error) {
	if !c.open {
		c.start()
	}
	c.e.write(&c.w, p)
	return len(p), nil
}

// Next returns the compressed bytes produced so far and not yet taken (it
// may return none: output comes in blocks). The slice is valid until the
// next call of any method.
func (c *Compressor) Next() []byte {
	b := c.w.out
	c.w.out = c.w.out[:0]
	return b
}

// Finish ends the message and returns its remaining compressed bytes: a
// sync flush whose trailing 00 00 ff ff is removed (RFC 7692 §7.2.1: "Remove
// 4 octets (that are 0x00 0x00 0xff 0xff) from the tail end"). An empty
// message compresses to the single byte 0x00 (§7.2.3.6). The slice is valid
// until the next call of any method.
func (c *Compressor) Finish() ([]byte, error) {
	if !c.open {
		c.start()
	}
	c.open = false
	c.e.finish(&c.w)
	b := c.w.out
	c.w.out = b[:0]
	if !c.takeover {
		// RFC 7692 §7.1.1: without context takeover each message starts
		// with an empty window; the state goes back to the pool.
		c.release()
	}
	return b, nil
}

func (c *Compressor) release() {
	c.e.reset()
	encoderPools[poolIndex(c.level, c.bits)].Put(c.e)
	c.e = nil
}

// AppendMessage compresses the whole message p and appends it to dst, tail
// removed. The encoder writes straight into dst, so nothing is copied and
// the Compressor keeps no reference to dst. No message may be open.
func (c *Compressor) AppendMessage(dst, p []byte) ([]byte, error) {
	if c.open {
		return dst, errors.New("deflate: AppendMessage while a message is open")
	}
	saved := c.w.out
	c.w.out = dst
	c.Write(p)
	b, _ := c.Finish()
	c.w.out = saved[:0]
	return b, nil
}

// Close releases the compression state; the Compressor may still be used
// afterwards (it then starts a new context).
func (c *Compressor) Close() {
	if c.e != nil {
		c.release()
	}
	c.open = false
	c.w = bitWriter{}
}

// Decompressor decompresses the messages one endpoint receives. It
// implements the Inflater and MessageEnder interfaces of package conn:
// Inflate gets the payload of a compressed message and then Tail, and
// EndMessage is called when the message is complete.
//
// With context takeover it keeps one Inflater for the life of the
// connection. Without, it takes an Inflater from a pool at the first Inflate
// of a message and returns it at EndMessage, so an idle connection holds no
// decompression state.
type Decompressor struct {
	f        *Inflater
	takeover bool
	err      error
}

// NewDecompressor returns a Decompressor; noContextTakeover is
// Params.InflaterResets for our role.
func NewDecompressor(noContextTakeover bool) *Decompressor {
	return &Decompressor{takeover: !noContextTakeover}
}

// Inflate decompresses like Inflater.Inflate. An error EndMessage found is
// returned here.
func (d *Decompressor) Inflate(out, in []byte) (nOut, nIn int, err error) {
	if d.err != nil {
		return 0, 0, d.err
	}
	if d.f == nil {
		d.f = inflaterPool.Get().(*Inflater)
		d.f.Reset()
	}
	return d.f.Inflate(out, in)
}

// EndMessage ends a message whose payload and Tail went through Inflate
// (conn.MessageEnder). If the message did not end at a DEFLATE block
// boundary it returns the error, which is also kept and returned by the
// next Inflate and by Err.
func (d *Decompressor) EndMessage() error {
	if d.err != nil {
		return d.err
	}
	if d.f == nil {
		return nil
	}
	if err := d.f.EndMessage(); err != nil {
		d.err = err
		return err
	}
	if !d.takeover {
		inflaterPool.Put(d.f)
		d.f = nil
	}
	return nil
}

// Err returns the error that ended decompression, if any.
func (d *Decompressor) Err() error {
	if d.err != nil {
		return d.err
	}
	if d.f != nil {
		return d.f.err
	}
	return nil
}

// Close releases the decompression state.
func (d *Decompressor) Close() {
	if d.f != nil {
		inflaterPool.Put(d.f)
		d.f = nil
	}
}
