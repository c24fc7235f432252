package deflate

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"sync"
)

// writerPools holds idle compress/flate writers, one pool per level
// (flate.HuffmanOnly, -2, to flate.BestCompression, 9).
var writerPools [flate.BestCompression - flate.HuffmanOnly + 1]sync.Pool

// inflaterPool holds idle Inflaters (their size is in docs/performance.md).
var inflaterPool = sync.Pool{New: func() any { return new(Inflater) }}

// sink collects compressed output.
type sink struct{ b []byte }

func (s *sink) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

var errFlushTail = errors.New("deflate: compress/flate flush did not end with 00 00 ff ff")

// Compressor compresses the messages one endpoint sends (RFC 7692 §7.2.1),
// push style: Write the payload in any pieces, take the compressed bytes
// with Next whenever convenient (for example to send a frame), and Finish
// the message to get its last bytes, with the 00 00 ff ff tail removed.
//
// With context takeover it keeps one compress/flate Writer for the life of
// the connection (its window carries over between messages). Without, it
// takes a Writer from a pool at the first Write of a message and returns it
// at Finish, so an idle connection holds no compression state. It is not
// safe for concurrent use.
type Compressor struct {
	level    int
	takeover bool
	w        *flate.Writer
	out      sink
	open     bool // a message is in progress
}

// NewCompressor returns a Compressor at the compress/flate level (-2 to 9,
// as flate.NewWriter) for a connection whose negotiated parameters give
// noContextTakeover and windowBits (8-15) for our sending direction.
//
// compress/flate always uses a 32 KiB window (15 bits). When the peer
// allows less, the Compressor uses flate.HuffmanOnly, which emits no
// back-references at all and is therefore valid for every window size
// (RFC 7692 §7.1.2: the sender "MUST NOT use an LZ77 sliding window longer
// than" the negotiated size); level 0 (stored blocks only) is kept as it is.
func NewCompressor(level int, noContextTakeover bool, windowBits int) (*Compressor, error) {
	if level < flate.HuffmanOnly || level > flate.BestCompression {
		return nil, fmt.Errorf("deflate: invalid compression level %d", level)
	}
	if windowBits < MinWindowBits || windowBits > MaxWindowBits {
		return nil, fmt.Errorf("deflate: invalid window size %d bits", windowBits)
	}
	if windowBits < MaxWindowBits && level != flate.NoCompression {
		level = flate.HuffmanOnly
	}
	return &Compressor{level: level, takeover: !noContextTakeover}, nil
}

// Level returns the compress/flate level in use (flate.HuffmanOnly when
// the window is limited).
func (c *Compressor) Level() int { return c.level }

func (c *Compressor) start() {
	c.open = true
	if c.w != nil {
		return
	}
	pool := &writerPools[c.level-flate.HuffmanOnly]
	if w, ok := pool.Get().(*flate.Writer); ok {
		w.Reset(&c.out)
		c.w = w
		return
	}
	c.w, _ = flate.NewWriter(&c.out, c.level) // the level was checked
}

// Write compresses p as more of the current message, starting a message if
// none is open. The output accumulates until Next or Finish takes it.
func (c *Compressor) Write(p []byte) (int, error) {
	if !c.open {
		c.start()
	}
	return c.w.Write(p)
}

// Next returns the compressed bytes produced so far and not yet taken (it
// may return none: compress/flate emits output in blocks). The slice is
// valid until the next call of any method.
func (c *Compressor) Next() []byte {
	b := c.out.b
	c.out.b = c.out.b[:0]
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
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	b := c.out.b
	c.out.b = c.out.b[:0]
	if !bytes.HasSuffix(b, Tail[:]) {
		return nil, errFlushTail
	}
	if !c.takeover {
		// RFC 7692 §7.1.1: without context takeover each message starts
		// with an empty window; the writer goes back to the pool.
		c.w.Reset(nil)
		writerPools[c.level-flate.HuffmanOnly].Put(c.w)
		c.w = nil
	}
	return b[:len(b)-len(Tail)], nil
}

// AppendMessage compresses the whole message p and appends it to dst, tail
// removed. compress/flate writes straight into dst, so nothing is copied and
// the Compressor keeps no reference to dst. No message may be open.
func (c *Compressor) AppendMessage(dst, p []byte) ([]byte, error) {
	if c.open {
		return dst, errors.New("deflate: AppendMessage while a message is open")
	}
	saved := c.out.b
	c.out.b = dst
	defer func() { c.out.b = saved[:0] }()
	if _, err := c.Write(p); err != nil {
		return dst, err
	}
	b, err := c.Finish()
	if err != nil {
		return dst, err
	}
	return b, nil
}

// Close releases the compression state; the Compressor may still be used
// afterwards (it then starts a new context).
func (c *Compressor) Close() {
	if c.w != nil {
		c.w.Reset(nil)
		writerPools[c.level-flate.HuffmanOnly].Put(c.w)
		c.w = nil
	}
	c.open = false
	c.out.b = nil
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
