package websocket

import (
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	utf8v "github.com/hybi/websocket/internal/utf8"

	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/mask"
)

// ErrInvalidText is returned, before any byte of the frame is sent, by a
// write of text that is not valid UTF-8 (RFC 6455 §8.1: a text message's
// payload is UTF-8; a strict peer fails the connection with 1007 when it is
// not). The connection stays usable. Options.SkipUTF8Validation turns the
// check off.
var ErrInvalidText = errors.New("websocket: text is not valid UTF-8; it was not sent")

// errMessageOwned refuses a WriteFrame data frame while a NextWriter's
// message is open: its frames come from its writer only.
var errMessageOwned = errors.New("websocket: a NextWriter's message is open: only its writer may send its frames (WriteFrame refused)")

// ErrWriteQueued is matched (errors.Is) by the error of a write whose write
// deadline expired after its frame was committed: the bytes that did not
// reach the socket are kept and written first by the next write on the
// connection (any write: a message, a Ping, Close, or Flush). Do not send
// the message again. The error also matches os.ErrDeadlineExceeded.
var ErrWriteQueued = errors.New("websocket: frame queued")

type queuedError struct {
	err error // the timeout from the socket
	n   int   // bytes queued
}

func (e *queuedError) Error() string {
	return "websocket: write timed out; " + strconv.Itoa(e.n) +
		" bytes of a committed frame are queued and go out first on the next write: " + e.err.Error()
}
func (e *queuedError) Unwrap() error        { return e.err }
func (e *queuedError) Is(target error) bool { return target == ErrWriteQueued }
func (e *queuedError) Timeout() bool        { return true }
func (e *queuedError) Temporary() bool      { return true }

// writable checks, before anything is committed, that a write may start.
func (c *Conn) writable() error {
	if ce := c.closed(); ce != nil {
		return ce
	}
	if d := c.wdeadline.Load(); d != 0 && time.Now().UnixNano() >= d {
		return os.ErrDeadlineExceeded
	}
	return nil
}

// compressedCommit: a compressed payload has advanced the compression
// context, so it must go out even if the write deadline passes meanwhile
// (the rest is then queued): skipping it would desynchronise the peer's
// decompressor.
const compressedCommit = frame.Flags(1 << 7)

// writeError turns an error from the socket into the error a write
// returns. queued is the number of committed bytes kept in owed.
func (c *Conn) writeError(err error, queued int) error {
	if ce := c.closed(); ce != nil {
		return ce
	}
	if isTimeout(err) {
		if _, ok := err.(*queuedError); ok {
			// The asyncWriter counted, at the moment of the timeout,
			// what it still holds and what the caller keeps.
			return err
		}
		if queued > 0 {
			return &queuedError{err: err, n: queued}
		}
		return err
	}
	return c.finish(c.stateError(err))
}

// flushFirst is flushLocked before a frame that is not committed yet: if
// the deadline passes while earlier bytes go out, the frame is not sent,
// and the error is the plain timeout. ErrWriteQueued, which the earlier
// write reported already, would say that this frame was kept, and a
// caller that trusts it (as it must: "do not send the message again")
// would lose the message.
func (c *Conn) flushFirst() error {
	err := c.flushLocked()
	if qe, ok := err.(*queuedError); ok {
		return qe.err
	}
	return err
}

// flushLocked writes the owed bytes of an interrupted frame and the control
// frames the machine queued. The caller holds the write side.
func (c *Conn) flushLocked() error {
	c.ctrlPending.Store(false)
	if len(c.owed) > 0 {
		n, err := c.netWrite(c.owed)
		c.owed = c.owed[n:]
		if err != nil {
			return c.writeError(err, len(c.owed))
		}
		c.owed = nil
	} else if c.aw != nil {
		// Bytes an earlier write handed over go out first.
		if _, err := c.aw.write(nil); err != nil {
			return c.writeError(err, 0)
		}
	}
	c.smu.Lock()
	p := c.cc.Pending()
	_, closing := c.cc.CloseSent()
	if len(p) == 0 || !closing && c.io().admit(c, len(p), admitControl) != nil {
		c.smu.Unlock()
		return nil
	}
	buf := getChunk()
	b := append((*buf)[:0], p...)
	c.cc.Advance(len(p))
	c.smu.Unlock()
	if c.opts.Trace != nil {
		c.traceOut(b, &c.tr.bufW)
	}
	n, err := c.netWrite(b)
	if err != nil {
		c.owed = append(c.owed, b[n:]...)
		putChunk(buf)
		return c.writeError(err, len(c.owed))
	}
	putChunk(buf)
	if closing {
		c.closeOnWire.Store(true)
	}
	return nil
}

// smallFrame is the largest payload copied into a chunk together with its
// header; larger ones are written header first, then the payload (server)
// or masked chunk by chunk (client).
const smallFrame = chunkSize - frame.MaxHeaderSize

// writeFrameLocked commits and writes one frame. The caller holds the
// write side.
func (c *Conn) writeFrameLocked(op frame.Opcode, flags frame.Flags, p []byte) error {
	if flags&compressedCommit != 0 {
		flags &^= compressedCommit
		if ce := c.closed(); ce != nil {
			return ce
		}
		c.io().admit(c, frame.MaxHeaderSize+len(p), admitCommitted)
		if err := c.flushLocked(); err != nil {
			if !isTimeout(err) {
				return err
			}
			// The compression context already holds p: queue it behind
			// the bytes still owed instead of dropping it.
			return c.queueFrame(op, flags, p, err)
		}
	} else {
		if err := c.writable(); err != nil {
			return err
		}
		if err := c.io().admit(c, frame.MaxHeaderSize+len(p), admitData); err != nil {
			return err
		}
		if len(c.owed) == 0 && c.aw == nil && len(p) <= smallFrame {
			// The common case: nothing owed and, checked under the same
			// hold of smu that frames p, no control frame queued, so
			// there is nothing to flush first. A client builds a small
			// frame in its own buffer, anything else goes in a chunk.
			var chunk *[]byte
			var buf []byte
			if c.cw != nil && len(p) <= clientSmall-frame.MaxHeaderSize {
				buf = c.cw.buf[:0]
			} else {
				chunk = getChunk()
				buf = *chunk
			}
			c.smu.Lock()
			queued := len(c.cc.Pending()) != 0
			var err error
			if queued {
				c.smu.Unlock()
			} else {
				err = c.writeSmallLocked(buf, op, flags, p)
			}
			if chunk != nil {
				putChunk(chunk)
			}
			if !queued {
				return err
			}
		}
		if err := c.flushFirst(); err != nil {
			return err
		}
	}
	buf := getChunk()
	var err error
	if len(p) <= smallFrame {
		c.smu.Lock()
		err = c.writeSmallLocked(*buf, op, flags, p)
	} else {
		err = c.writeLargeLocked(buf, op, flags, p)
	}
	putChunk(buf)
	return err
}

// writeSmallLocked builds a frame of at most smallFrame payload bytes
// whole in buf and writes it with one call. The caller holds smu, which
// it releases once the frame is built. Kept apart from writeLargeLocked,
// and without defers, so that the per-message path stays short.
func (c *Conn) writeSmallLocked(buf []byte, op frame.Opcode, flags frame.Flags, p []byte) error {
	b, err := c.cc.AppendFrame(buf[:0], op, flags, p)
	c.smu.Unlock()
	if err != nil {
		return err
	}
	if c.opts.Trace != nil {
		c.traceOut(b, &c.tr.bufW)
	}
	n, err := c.netWrite(b)
	if err != nil {
		c.owed = append(c.owed, b[n:]...)
		return c.writeError(err, len(c.owed))
	}
	return nil
}

// writeLargeLocked writes a frame longer than smallFrame: header and
// payload with writev (server), or masked chunk by chunk (client).
func (c *Conn) writeLargeLocked(buf *[]byte, op frame.Opcode, flags frame.Flags, p []byte) error {
	c.smu.Lock()
	b, h, err := c.cc.AppendHeader((*buf)[:0], op, flags, int64(len(p)))
	c.smu.Unlock()
	if err != nil {
		return err
	}
	if c.opts.Trace != nil {
		if c.opts.TracePayload {
			c.opts.Trace(TraceEvent{Direction: Sent, Header: h, Payload: p})
		} else {
			c.opts.Trace(TraceEvent{Direction: Sent, Header: h})
		}
	}
	if !h.Masked {
		// Header and payload with writev, no copy, in writes of at most
		// maxWrite bytes.
		k := min(len(p), maxWrite-len(b))
		n, err := c.netWritev(b, p[:k])
		off := int(n) - len(b)
		if err == nil {
			for off < len(p) && err == nil {
				var m int
				m, err = c.netWrite(p[off:min(len(p), off+maxWrite)])
				off += m
			}
		}
		if err != nil {
			if off < 0 {
				c.owed = append(c.owed, b[n:]...)
				off = 0
			}
			c.owed = append(c.owed, p[off:]...)
			return c.writeError(err, len(c.owed))
		}
		return nil
	}
	// Client: mask while copying into a pooled buffer, whose first write
	// also carries the header. On a socket the buffer is sized for the
	// payload (at most maxWrite bytes: few, large writes); on other
	// transports (TLS, which writes 16 KiB records anyway, or in-memory
	// connections) it is the 16 KiB chunk, which stays in the cache.
	wb := buf
	if hl := len(b); hl+len(p) > chunkSize && c.socket {
		wb = getWriteBuf(hl + len(p))
		defer putWriteBuf(wb)
		copy(*wb, b)
	}
	pos := 0
	hl := len(b)
	for off := 0; off < len(p); {
		k := maskCopy((*wb)[hl:], p[off:], h.Key, pos)
		pos = (pos + k) & 3
		seg := (*wb)[:hl+k]
		n, err := c.netWrite(seg)
		off += k
		if err != nil {
			c.owed = append(c.owed, seg[n:]...)
			start := len(c.owed)
			c.owed = append(c.owed, p[off:]...)
			mask.Apply(h.Key, pos, c.owed[start:])
			return c.writeError(err, len(c.owed))
		}
		hl = 0
	}
	return nil
}

// setWriteDeadline applies the write deadline to the transport, as the
// driver does it.
func (c *Conn) setWriteDeadline(t time.Time) error { return c.io().setWriteDeadline(c, t) }

// netWrite writes b to the transport. Like net.Conn's Write, it returns
// the number of bytes of b committed before an error.
func (c *Conn) netWrite(b []byte) (int, error) { return c.io().write(c, b) }

// netWritev writes b and then p: one writev on a socket.
func (c *Conn) netWritev(b, p []byte) (int64, error) { return c.io().writev(c, b, p) }

// textValidator is the streaming UTF-8 check of text being sent.
type textValidator = utf8v.Validator

// validText reports whether p is whole, valid UTF-8.
func validText(p []byte) bool {
	var v textValidator
	return v.Write(p) && v.Complete()
}

// isSocket reports whether nc is a kernel socket, whose writes are worth
// making large (see maxWrite).
func isSocket(nc net.Conn) bool {
	switch nc.(type) {
	case *net.TCPConn, *net.UnixConn:
		return true
	}
	return false
}

// maskCopy copies as much of src as fits into dst and masks it with key
// from key position pos, in pieces small enough to stay in the L1 cache
// between the copy and the XOR (one pass over a 1 MiB buffer each would
// read it back from memory). It returns the number of bytes copied.
func maskCopy(dst, src []byte, key mask.Key, pos int) int {
	n := min(len(dst), len(src))
	for i := 0; i < n; i += maskPiece {
		j := min(i+maskPiece, n)
		copy(dst[i:j], src[i:j])
		pos = mask.Apply(key, pos, dst[i:j])
	}
	return n
}

// maskPiece is maskCopy's piece size.
const maskPiece = 8 << 10

// queueFrame commits a frame without writing it: header and (masked)
// payload are appended to owed, to go out first on the next write.
func (c *Conn) queueFrame(op frame.Opcode, flags frame.Flags, p []byte, timeout error) error {
	c.smu.Lock()
	b, h, err := c.cc.AppendHeader(c.owed, op, flags, int64(len(p)))
	c.smu.Unlock()
	if err != nil {
		return err
	}
	start := len(b)
	b = append(b, p...)
	if h.Masked {
		mask.Apply(h.Key, 0, b[start:])
	}
	c.owed = b
	return &queuedError{err: timeout, n: len(c.owed)}
}

// Flush writes the bytes an earlier write left queued after a timeout (see
// ErrWriteQueued) and any control frames waiting to go out.
func (c *Conn) Flush() error {
	if err := c.lockWrite(); err != nil {
		return err
	}
	defer c.unlockWrite()
	return c.flushLocked()
}

// WriteMessage sends a whole message as one frame. It waits for an open
// NextWriter of another goroutine to be closed. In steady state it
// allocates nothing; a client masks large payloads chunk by chunk into a
// pooled buffer, never copying the whole message.
func (c *Conn) WriteMessage(typ MessageType, p []byte) error {
	op, err := typ.opcode()
	if err != nil {
		return err
	}
	if op == frame.OpText && !c.opts.SkipUTF8Validation && !validText(p) {
		return ErrInvalidText
	}
	return c.writeMessage(op, p)
}

// writeMessage is WriteMessage after the UTF-8 check: it compresses p when
// the connection does and sends it as one frame.
func (c *Conn) writeMessage(op frame.Opcode, p []byte) error {
	if c.comp == nil || len(p) < c.opts.compressionThreshold() {
		// Uncompressed: the message is one frame, so both locks are
		// taken and released together.
		if err := c.lockMessageWrite(); err != nil {
			return err
		}
		err := c.writeFrameLocked(op, 0, p)
		c.unlockWriteWith(lockMsg)
		return err
	}
	return c.writeCompressed(op, p)
}

// writeCompressed is writeMessage for a message the connection compresses.
// It is a function of its own so that writeMessage's uncompressed path has
// no defers: with them in the same function the compiler did not open-code
// them, and every message paid the runtime's deferreturn.
func (c *Conn) writeCompressed(op frame.Opcode, p []byte) error {
	if err := c.lockMessage(); err != nil {
		return err
	}
	defer c.unlockMessage()
	if err := c.writable(); err != nil {
		return err
	}
	// Asked before compressing, which commits the message (an upper
	// bound: deflate adds at most a few bytes per block).
	if err := c.io().admit(c, frame.MaxHeaderSize+len(p), admitData); err != nil {
		return err
	}
	z, err := c.comp.AppendMessage(c.zbuf[:0], p)
	if err != nil {
		return err
	}
	c.zbuf = z
	if cap(c.zbuf) > 64<<10 {
		defer func() { c.zbuf = nil }() // do not hold large buffers
	}
	if err := c.lockWrite(); err != nil {
		return err
	}
	defer c.unlockWrite()
	return c.writeFrameLocked(op, frame.Compressed|compressedCommit, z)
}

// WriteFrame writes one frame as given, for protocols that fragment
// messages themselves. flags may hold frame.More (FIN clear: more
// fragments follow) and RSV bits a negotiated extension owns. The state
// machine validates it and refuses, with an error and before any byte is
// written, a data frame while a fragmented message is open, a continuation
// while none is, a control frame with frame.More or a payload over 125
// bytes, reserved opcodes, RSV bits no extension granted, frame.Mask
// (masking follows the role) and Close frames (use Close).
//
// WriteFrame does not take the message lock: a fragmented message written
// with it must be finished by the same goroutine before other data
// messages can be sent (they fail while it is open).
func (c *Conn) WriteFrame(op Opcode, flags Flags, payload []byte) error {
	if err := c.lockWrite(); err != nil {
		return err
	}
	defer c.unlockWrite()
	if !op.IsControl() && c.mwOpen.Load() {
		return errMessageOwned
	}
	// Text the caller did not compress is checked frame by frame, with
	// the state carried across the frames of a fragmented message.
	check := !c.opts.SkipUTF8Validation && flags&frame.RSV1 == 0 &&
		(op == frame.OpText || op == frame.OpContinuation && c.fvText)
	var v textValidator
	if check {
		if op == frame.OpContinuation {
			v = c.fv
		}
		if !v.Write(payload) || flags&frame.More == 0 && !v.Complete() {
			return ErrInvalidText
		}
	}
	err := c.writeFrameLocked(op, flags, payload)
	if err == nil || errors.Is(err, ErrWriteQueued) {
		switch {
		case op == frame.OpText || op == frame.OpBinary:
			c.fv, c.fvText = v, check && flags&frame.More != 0
		case op == frame.OpContinuation:
			c.fv, c.fvText = v, c.fvText && flags&frame.More != 0
		}
	}
	return err
}

// Ping sends a Ping frame with payload (at most 125 bytes). The Pong
// arrives through Options.OnPong while a goroutine reads.
func (c *Conn) Ping(payload []byte) error {
	if err := c.lockWrite(); err != nil {
		return err
	}
	defer c.unlockWrite()
	return c.writeFrameLocked(frame.OpPing, 0, payload)
}

// NextWriter starts a message of type typ and returns a writer for its
// payload; the message ends when the writer is closed. Written bytes are
// collected into frames of Options.FragmentSize bytes; each full frame is
// sent at once (FIN clear) and Close sends the final frame. Control frames
// (Pings, Pongs, Close) from other goroutines are sent between the
// fragments. Other goroutines' data messages wait until the writer is
// closed; the same goroutine must close it before starting another
// message.
func (c *Conn) NextWriter(typ MessageType) (io.WriteCloser, error) {
	op, err := typ.opcode()
	if err != nil {
		return nil, err
	}
	if err := c.lockMessage(); err != nil {
		return nil, err
	}
	if ce := c.closed(); ce != nil {
		c.unlockMessage()
		return nil, ce
	}
	mw := &c.mw
	mw.op = op
	mw.open = true
	mw.first = true
	mw.text = op == frame.OpText && !c.opts.SkipUTF8Validation
	mw.v.Reset()
	c.mwOpen.Store(true)
	return mw, nil
}

// messageWriter is the writer NextWriter returns. There is one per Conn
// (so NextWriter allocates nothing); it must not be used after Close.
type messageWriter struct {
	c     *Conn
	op    frame.Opcode // next frame's opcode: the message type, then continuation
	open  bool
	first bool    // no frame of the message was sent yet
	buf   *[]byte // pooled, holds up to FragmentSize bytes
	text  bool    // validate the text written (a text message, SkipUTF8Validation off)
	v     textValidator
}

// Write adds p to the message, sending each full fragment.
func (mw *messageWriter) Write(p []byte) (int, error) {
	if !mw.open {
		return 0, errWriterClosed
	}
	if ce := mw.c.closed(); ce != nil {
		return 0, ce
	}
	if mw.text {
		v := mw.v
		if !v.Write(p) {
			return 0, ErrInvalidText
		}
		mw.v = v
	}
	if mw.c.comp != nil {
		return mw.writeCompressed(p)
	}
	fs := mw.c.opts.fragmentSize()
	written := 0
	for len(p) > 0 {
		if mw.buf == nil || len(*mw.buf) == 0 {
			// Nothing buffered: send whole fragments straight from p.
			if len(p) > fs {
				err := mw.send(p[:fs], frame.More)
				if err == nil || errors.Is(err, ErrWriteQueued) {
					// Sent or kept: either way those bytes are the
					// message's now.
					p = p[fs:]
					written += fs
				}
				if err != nil {
					return written, err
				}
				continue
			}
		}
		if mw.buf == nil {
			mw.buf = getBuf(fs)
		}
		k := min(fs-len(*mw.buf), len(p))
		*mw.buf = append(*mw.buf, p[:k]...)
		p = p[k:]
		written += k
		if len(*mw.buf) == fs && len(p) > 0 {
			err := mw.send(*mw.buf, frame.More)
			if err == nil || errors.Is(err, ErrWriteQueued) {
				*mw.buf = (*mw.buf)[:0] // kept otherwise, for the next try
			}
			if err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// writeCompressed feeds p to the compressor and sends what it produced
// so far as a fragment (RSV1 on the first frame only, RFC 7692 §6.1).
func (mw *messageWriter) writeCompressed(p []byte) (int, error) {
	c := mw.c
	if err := c.writable(); err != nil {
		return 0, err
	}
	if err := c.io().admit(c, frame.MaxHeaderSize+len(p), admitData); err != nil {
		return 0, err
	}
	n, err := c.comp.Write(p)
	if err != nil {
		return n, err
	}
	if z := c.comp.Next(); len(z) > 0 {
		if err := mw.send(z, frame.More); err != nil {
			return n, err
		}
	}
	return n, nil
}

// send writes one fragment.
func (mw *messageWriter) send(p []byte, flags frame.Flags) error {
	c := mw.c
	if c.comp != nil || flags&frame.More == 0 && !mw.first {
		// A compressed fragment has advanced the compression context,
		// and the final fragment ends a message the peer has begun to
		// receive: both are committed even when the write deadline has
		// passed (queued, ErrWriteQueued), so that the stream stays
		// whole and the connection can send the next message.
		flags |= compressedCommit
	}
	if c.comp != nil && mw.first {
		flags |= frame.Compressed
	}
	if err := c.lockWrite(); err != nil {
		return err
	}
	err := c.writeFrameLocked(mw.op, flags, p)
	c.unlockWrite()
	if err == nil || errors.Is(err, ErrWriteQueued) {
		mw.op = frame.OpContinuation
		mw.first = false
	}
	return err
}

// Close sends the final frame of the message and releases the message
// lock. The message always ends: once a fragment of it was sent, a final
// frame that meets the write deadline is kept and Close returns an error
// matching ErrWriteQueued (it goes out first on the next write, or Flush);
// if none was, nothing of the message is sent and the error is the plain
// timeout. A second Close returns an error.
func (mw *messageWriter) Close() error {
	if !mw.open {
		return errWriterClosed
	}
	if mw.text && !mw.v.Complete() {
		// Ending here would cut a UTF-8 sequence: the message stays
		// open for the rest of it (Close of the connection ends it).
		return ErrInvalidText
	}
	c := mw.c
	var p []byte
	if mw.buf != nil {
		p = *mw.buf
	}
	var err error
	if c.comp != nil {
		p, err = c.comp.Finish()
	}
	if err == nil {
		err = mw.send(p, 0)
	}
	if mw.buf != nil {
		putBuf(mw.buf)
		mw.buf = nil
	}
	mw.open = false
	c.mwOpen.Store(false)
	c.unlockMessage()
	return err
}
