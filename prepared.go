package websocket

import (
	"errors"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/hybi/websocket/deflate"
	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/mask"
)

var errNilPrepared = errors.New("websocket: WritePreparedMessage of a nil *PreparedMessage")

// PreparedMessage is a data message encoded once and written to many
// connections with (*Conn).WritePreparedMessage, as for a broadcast. Each
// connection receives exactly the bytes WriteMessage would send it.
//
// The encoded forms are made lazily, at the first write to a connection
// that needs them, and kept for the life of the PreparedMessage:
//
//   - server, uncompressed: the whole frame (header and payload), written
//     as it is to every such connection;
//   - client: the payload (compressed or not) is shared; each write masks
//     it with a fresh key while copying it to the socket (RFC 6455 §5.3
//     wants a new, unpredictable key per frame);
//   - permessage-deflate without the sender's context takeover: one
//     compressed payload (and, for servers, frame) per compressor
//     configuration: the compressor's level and the negotiated window
//     bits, made with the same deflate.Compressor WriteMessage uses.
//   - permessage-deflate with context takeover: the compressed bytes depend
//     on everything the connection sent before, so nothing can be shared:
//     the message is compressed for that connection, by its own compressor,
//     exactly as WriteMessage does.
//
// A message shorter than the connection's Options.CompressionThreshold is
// sent uncompressed, as by WriteMessage. A PreparedMessage is safe for
// concurrent use by any number of goroutines and connections.
type PreparedMessage struct {
	op    frame.Opcode
	data  []byte
	mu    sync.Mutex                     // serialises the making of forms
	forms atomic.Pointer[[]preparedForm] // copy on write
}

// preparedForm is one encoding of a PreparedMessage.
type preparedForm struct {
	level   int         // compressor level, or plainForm
	bits    int         // negotiated window bits of a compressed form
	flags   frame.Flags // frame.Compressed or 0
	payload []byte      // the payload as it goes on the wire, unmasked
	wire    []byte      // the server's whole frame: header and payload
}

// plainForm keys the uncompressed form (no compress/flate level is this low).
const plainForm = -1 << 20

// NewPreparedMessage returns a PreparedMessage of type typ (Text or Binary)
// holding a copy of data. A Text message must be valid UTF-8
// (ErrInvalidText otherwise), checked here once instead of at every write.
func NewPreparedMessage(typ MessageType, data []byte) (*PreparedMessage, error) {
	op, err := typ.opcode()
	if err != nil {
		return nil, err
	}
	if op == frame.OpText && !validText(data) {
		return nil, ErrInvalidText
	}
	return &PreparedMessage{op: op, data: append([]byte(nil), data...)}, nil
}

// formFor returns pm's form for c, or nil when c compresses pm with
// context takeover, so that no form can be shared.
func (pm *PreparedMessage) formFor(c *Conn) (*preparedForm, error) {
	if c.comp == nil || len(pm.data) < c.opts.compressionThreshold() {
		return pm.form(plainForm, 0)
	}
	if c.ztakeover {
		return nil, nil
	}
	return pm.form(c.comp.Level(), c.zbits)
}

// form returns the encoding for level and bits, making it at first use.
func (pm *PreparedMessage) form(level, bits int) (*preparedForm, error) {
	if fs := pm.forms.Load(); fs != nil {
		for i := range *fs {
			if (*fs)[i].level == level && (*fs)[i].bits == bits {
				return &(*fs)[i], nil
			}
		}
	}
	pm.mu.Lock()
	defer pm.mu.Unlock()
	var old []preparedForm
	if fs := pm.forms.Load(); fs != nil {
		old = *fs
		for i := range old {
			if old[i].level == level && old[i].bits == bits {
				return &old[i], nil
			}
		}
	}
	f := preparedForm{level: level, bits: bits, payload: pm.data}
	if level != plainForm {
		// A fresh compressor without context takeover, at the level of the
		// connection's own, through the same deflate plumbing WriteMessage
		// uses: the bytes are those the connection would produce.
		zc, err := deflate.NewCompressor(level, true, bits)
		if err != nil {
			return nil, err
		}
		z, err := zc.AppendMessage(nil, pm.data)
		zc.Close()
		if err != nil {
			return nil, err
		}
		f.payload, f.flags = z, frame.Compressed
	}
	f.wire = frame.AppendFrame(nil, frame.NewHeader(pm.op, f.flags, mask.Key{}, int64(len(f.payload))), f.payload)
	fs := make([]preparedForm, len(old), len(old)+1)
	copy(fs, old)
	fs = append(fs, f)
	pm.forms.Store(&fs)
	return &fs[len(fs)-1], nil
}

// WritePreparedMessage sends pm as one frame, like WriteMessage(typ, data)
// with the type and data pm was made with, and with the same locking,
// deadlines, and (on a connection served by a Loop) write queue: it never
// blocks a Loop and returns ErrWriteQueueFull when the queue is full. In
// steady state it allocates nothing. See PreparedMessage for what is
// shared between connections.
func (c *Conn) WritePreparedMessage(pm *PreparedMessage) error {
	if pm == nil {
		return errNilPrepared
	}
	f, err := pm.formFor(c)
	if err != nil {
		return err
	}
	if f == nil {
		// The compressed bytes depend on this connection's history.
		return c.writeMessage(pm.op, pm.data)
	}
	if err := c.lockMessage(); err != nil {
		return err
	}
	defer c.unlockMessage()
	if err := c.lockWrite(); err != nil {
		return err
	}
	defer c.unlockWrite()
	if c.client || c.opts.Trace != nil || len(f.wire) > maxWrite {
		// Masked per write, traced, or written in pieces: the usual path,
		// from the shared payload.
		return c.writeFrameLocked(pm.op, f.flags, f.payload)
	}
	return c.writeWireLocked(pm.op, f.flags, len(f.payload), f.wire)
}

// writeWireLocked writes the prepared server frame wire (opcode op, flags,
// a payload of n bytes): checked and recorded by the state machine like
// any frame, then written as it is. The caller holds the write side.
func (c *Conn) writeWireLocked(op frame.Opcode, flags frame.Flags, n int, wire []byte) error {
	if err := c.writable(); err != nil {
		return err
	}
	if err := c.io().admit(c, len(wire), admitData); err != nil {
		return err
	}
	if err := c.flushFirst(); err != nil {
		return err
	}
	var hdr [frame.MaxHeaderSize]byte
	c.smu.Lock()
	_, _, err := c.cc.AppendHeader(hdr[:0], op, flags, int64(n))
	c.smu.Unlock()
	if err != nil {
		return err
	}
	w, err := c.netWrite(wire)
	if err != nil {
		c.owed = append(c.owed, wire[w:]...)
		return c.writeError(err, len(c.owed))
	}
	return nil
}

// tryWritePrepared writes pm to c from the caller's goroutine if that
// cannot block: c is a server connection on a plain socket (rc, written
// with w), not served by a Loop, nothing else is being written to it, nothing
// is owed or queued on it, and pm's form for c is shared (no compression
// context of c's own). written false: nothing was sent and nothing
// changed, and the caller writes pm the usual way. written true: the
// frame is recorded as sent; the bytes the socket did not take at once
// are owed (flush true: the caller has them written, by
// Conn.flushOwed on a goroutine that may block), as are control frames
// the reader queued meanwhile.
func (c *Conn) tryWritePrepared(w *rawWriter, rc syscall.RawConn, pm *PreparedMessage) (written, flush bool, err error) {
	if !rawIO || c.client || c.aw != nil || c.opts.Trace != nil || c.lc.Load() != nil {
		return false, false, nil
	}
	f, err := pm.formFor(c)
	if err != nil || f == nil || len(f.wire) > maxWrite {
		return false, false, err
	}
	if !c.g.tryAcquire(lockMsg | lockW) {
		return false, false, nil
	}
	if len(c.owed) > 0 || c.ctrlPending.Load() {
		c.g.release(lockMsg | lockW)
		return false, false, nil
	}
	if err := c.writable(); err != nil {
		c.g.release(lockMsg | lockW)
		return false, false, err
	}
	var hdr [frame.MaxHeaderSize]byte
	c.smu.Lock()
	_, _, err = c.cc.AppendHeader(hdr[:0], pm.op, f.flags, int64(len(f.payload)))
	c.smu.Unlock()
	if err != nil {
		c.g.release(lockMsg | lockW)
		return false, false, err
	}
	n, err := w.write(rc, f.wire)
	if n < len(f.wire) {
		c.owed = append(c.owed, f.wire[n:]...)
	}
	if err != nil && err != errWouldBlock {
		err = c.writeError(err, len(c.owed))
		c.g.release(lockMsg | lockW)
		return true, false, err
	}
	c.g.release(lockMsg | lockW)
	return true, n < len(f.wire) || c.ctrlPending.Load(), nil
}

// flushOwed writes what tryWritePrepared left owed, and the control frames
// queued meanwhile; it may block like any write.
func (c *Conn) flushOwed() error {
	if err := c.lockWrite(); err != nil {
		return err
	}
	defer c.unlockWrite()
	return c.flushLocked()
}
