package websocket

import (
	"errors"
	"io"
	"math"
	"net"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/hybi/websocket/conn"
	"github.com/hybi/websocket/frame"
)

func isTimeout(err error) bool {
	if err == errWouldBlock || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	if ne, ok := err.(net.Error); ok {
		return ne.Timeout()
	}
	var ne net.Error // errors.As allocates it: only for wrapped errors
	return errors.As(err, &ne) && ne.Timeout()
}

// readError turns an error from the socket into the error a read returns:
// timeouts pass through unchanged and leave the connection open; anything
// else ends it.
func (c *Conn) readError(err error) error {
	if ce := c.closed(); ce != nil {
		return ce
	}
	if isTimeout(err) {
		return err
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return c.finish(c.stateError(err))
}

// fill reads more bytes from the socket into rbuf.
//
// Where it reads depends on the traffic. A quiet connection (its last read
// returned less than inlineRead bytes) waits on a small inline buffer and
// gives its read buffer back to the pool first: a parked reader holds
// inlineRead bytes, and a connection a Loop serves holds none between
// reads. A busy one (its last read filled inlineRead bytes or more) keeps
// a read buffer, so a stream of messages costs one system call per
// buffer, not per inlineRead bytes.
func (c *Conn) fill() error {
	if c.rsrc == rbufCaller {
		c.unalias()
	}
	if c.r == c.w {
		c.r, c.w = 0, 0
		if c.rsrc == rbufLent {
			// A Loop poller's read buffer: read into it whatever the
			// traffic (the Loop takes it back when the socket runs dry).
		} else if !c.hot {
			c.useInline()
		} else if c.rsrc == rbufNone || c.rsrc == rbufInline || c.rsrc == rbufSpill {
			c.releaseReadBuf()
			c.getReadBuf()
		}
	} else if c.w == len(c.rbuf) {
		switch {
		case c.rsrc == rbufInline:
			// A frame longer than the inline buffer: move to a read
			// buffer, and give the inline one back after the copy.
			inl, part := c.inlp, c.rbuf[c.r:c.w]
			c.getReadBuf()
			c.r, c.w = 0, copy(c.rbuf, part)
			inlineBufs.Put(inl)
			c.inlp = nil
		case c.r == 0:
			// Cannot happen with a buffer ≥ 139 bytes (the state machine
			// consumes payload as it comes and buffers control frames
			// itself), but never spin: grow.
			nb := make([]byte, 2*len(c.rbuf))
			c.w = copy(nb, c.rbuf[c.r:c.w])
			c.releaseReadBuf()
			c.r, c.rbuf, c.own, c.rsrc = 0, nb, nb, rbufOwned
		default:
			c.w = copy(c.rbuf, c.rbuf[c.r:c.w])
			c.r = 0
		}
	}
	return c.readDone(c.read(c.rbuf[c.w:]))
}

// readDone records the result of a read into rbuf[w:].
func (c *Conn) readDone(n int, err error) error {
	if n > 0 {
		c.w += n
		c.hot = n >= inlineRead
		c.received()
		return nil
	}
	if err == nil {
		return nil
	}
	return c.readError(err)
}

// read reads from the transport, as the driver does it.
func (c *Conn) read(p []byte) (int, error) { return c.io().read(c, p) }

// inlineRead is the size of the small buffer that a quiet connection
// waits on (see fill). It holds a small message whole, and a heartbeat's
// Ping or Pong; a longer frame moves to a read buffer. Inline buffers are
// pooled (inlineBufs): the Conn holds one only while it may have to wait
// on it, so a connection a Loop serves holds none while idle.
const inlineRead = 128

// inlineBufs hold the inline buffers.
var inlineBufs = sync.Pool{New: func() any { return new([inlineRead]byte) }}

// useInline points rbuf, empty, at an inline buffer.
func (c *Conn) useInline() {
	if c.rsrc != rbufInline {
		c.releaseReadBuf()
		c.inlp = inlineBufs.Get().(*[inlineRead]byte)
		c.rbuf, c.rsrc = c.inlp[:], rbufInline
	}
	c.r, c.w = 0, 0
}

// Where rbuf points.
const (
	rbufNone   = iota
	rbufInline // c.inlp, from inlineBufs
	rbufPooled // c.rbufp, from readBufs
	rbufOwned  // c.own: a custom ReadBufferSize, or grown
	rbufLent   // a Loop poller's read buffer, for one serve (see lendReadBuf)
	rbufBig    // c.rbufp, a poller's read buffer left with unread frames
	rbufCaller // ReadMessage's buffer's spare capacity, for one read (readIntoCaller)
	rbufSpill  // c.rbufp, from writeBufPools: the bytes such a read brought past its message
)

// unalias ends a read into ReadMessage's buffer (see readIntoCaller): the
// bytes it brought that were not consumed move to a buffer of the Conn, a
// read buffer or, for more than fit one, a pooled buffer of the size class
// that holds them, released once they are consumed (fill).
func (c *Conn) unalias() {
	left := c.rbuf[c.r:c.w]
	c.rbuf, c.rsrc, c.r, c.w = nil, rbufNone, 0, 0
	if len(left) == 0 {
		return
	}
	if len(left) <= c.opts.readBufferSize() {
		c.getReadBuf()
	} else {
		c.rbufp = getWriteBuf(len(left))
		c.rbuf, c.rsrc = *c.rbufp, rbufSpill
	}
	c.w = copy(c.rbuf, left)
}

// readBufs hold the read buffers of the default size.
var readBufs = sync.Pool{New: func() any {
	b := make([]byte, DefaultReadBufferSize)
	return &b
}}

// getReadBuf points rbuf at a read buffer: a pooled one of the default
// size, or the Conn's own for other sizes (allocated once).
func (c *Conn) getReadBuf() {
	if size := c.opts.readBufferSize(); size != DefaultReadBufferSize || c.own != nil {
		if c.own == nil {
			c.own = make([]byte, size)
		}
		c.rbuf, c.rsrc = c.own, rbufOwned
		return
	}
	c.rbufp = readBufs.Get().(*[]byte)
	c.rbuf, c.rsrc = *c.rbufp, rbufPooled
}

// releaseReadBuf gives a pooled read buffer back. The caller makes sure
// that all its bytes were consumed (r == w) and nothing refers to them.
func (c *Conn) releaseReadBuf() {
	switch c.rsrc {
	case rbufPooled:
		readBufs.Put(c.rbufp)
		c.rbufp = nil
	case rbufBig:
		pollerReadBufs.Put(c.rbufp)
		c.rbufp = nil
	case rbufSpill:
		putWriteBuf(c.rbufp)
		c.rbufp = nil
	case rbufInline:
		inlineBufs.Put(c.inlp)
		c.inlp = nil
	}
	c.rbuf, c.rsrc, c.r, c.w = nil, rbufNone, 0, 0
}

// minDirect is the smallest read worth doing straight into the caller's
// buffer instead of through rbuf.
const minDirect = 1 << 10

// readEvent returns the next data event; control events are handled here.
// If tgt is non-nil and the next bytes are payload of the current frame,
// they may be read straight into the spare capacity of *tgt (grown first
// when grow is set) and unmasked there; *tgt is then extended and the
// event's Data aliases its new tail (direct is true). Reading into a Loop
// poller's read buffer is cheaper for what it can hold (one read may bring
// the rest of the frame and the frames behind it): then only a payload at
// least as long as that buffer is read straight into *tgt. When grow is
// set (ReadMessage), a frame boundary on a busy connection may be read
// into *tgt's spare capacity too, header and all (readIntoCaller).
// The caller holds the read side.
func (c *Conn) readEvent(tgt *[]byte, grow bool) (conn.Event, bool, error) {
	for {
		in := c.rbuf[c.r:c.w]
		if c.opts.Trace != nil {
			in = c.traceIn(in)
		}
		c.smu.Lock()
		if l := c.readLimit.Load(); l != c.limitSet {
			c.limitSet = l
			if m := c.opts.maxMessageSize(); l > 0 && m > 0 {
				l = min(l, m)
			}
			c.cc.SetMaxMessageSize(l)
		}
		ev, n, err := c.cc.Next(in)
		var rem int64
		if err == nil && n == 0 && ev.Kind == conn.EventNone {
			rem = c.cc.PayloadRemaining()
		}
		c.smu.Unlock()
		c.r += n
		c.consumed(n)
		if err != nil {
			return ev, false, c.failed(err)
		}
		switch ev.Kind {
		case conn.EventData:
			return ev, false, nil
		case conn.EventPing:
			c.queueControl()
			if c.opts.OnPing != nil {
				c.opts.OnPing(ev.Data)
			}
			continue
		case conn.EventPong:
			c.pong(ev.Data)
			if c.opts.OnPong != nil {
				c.opts.OnPong(ev.Data)
			}
			continue
		case conn.EventClose:
			return ev, false, c.peerClosed(ev)
		}
		if n > 0 {
			continue
		}
		// The machine needs more input.
		if rem > 0 && c.r == c.w && tgt != nil && (c.rsrc != rbufLent || rem >= int64(len(c.rbuf))) {
			b := *tgt
			spare := cap(b) - len(b)
			if grow && int64(spare) < rem && spare < minDirect {
				// Grow towards the announced length, once the buffer is
				// (nearly) full, and never to more than four times its
				// capacity at once: the length is bounded by
				// MaxMessageSize, yet a peer should not make us allocate
				// it before sending it (see appendData for the factor).
				// Growing at every read that left the rest of the payload
				// unread, full or not, let a peer that sends its payload
				// in small pieces quadruple the buffer per piece, to the
				// limit after a few hundred bytes
				// (TestHostileAnnouncedLengthMemory).
				// The room for a frame header beyond the payload lets
				// the next message of the same size be read whole into
				// the buffer when it is passed back (readIntoCaller).
				total := int64(len(b)) + rem + frame.MaxHeaderSize
				want := int(min(total, int64(max(4*cap(b), 64<<10)+frame.MaxHeaderSize))) - len(b)
				b = slices.Grow(b, want)
				spare = cap(b) - len(b)
			}
			if k := int(min(int64(spare), rem)); k >= minDirect || int64(k) == rem && k > 0 {
				p := b[len(b) : len(b)+k]
				nr, rerr := c.read(p)
				if nr > 0 {
					c.hot = nr >= inlineRead
					c.received()
					c.smu.Lock()
					ev, err := c.cc.ReadPayload(p[:nr])
					c.smu.Unlock()
					c.consumed(nr)
					if err != nil {
						return ev, false, c.failed(err)
					}
					*tgt = b[:len(b)+nr]
					return ev, true, nil
				}
				*tgt = b
				if rerr != nil {
					return ev, false, c.readError(rerr)
				}
				continue
			}
		}
		if rem == 0 && c.r == c.w && grow && c.hot && c.comp == nil && c.opts.Trace == nil && c.lc.Load() == nil {
			if ok, err := c.readIntoCaller(*tgt); ok || err != nil {
				if err != nil {
					return ev, false, err
				}
				continue
			}
		}
		if err := c.fill(); err != nil {
			return ev, false, err
		}
	}
}

// readIntoCaller reads the next frame, header included, into the spare
// capacity of b, ReadMessage's buffer, instead of into rbuf, when that
// capacity is larger than rbuf: a busy connection receiving large
// messages then reads a message with one system call, not one for the
// first read buffer's worth and one for the rest. rbuf points at the bytes
// read (rbufCaller) until they are consumed: the payload is unmasked where
// it lies and appendData moves it down over the header into its place in
// b. That copy never reaches bytes not yet consumed, because every frame
// header (and control frame) read is consumed without being appended: the
// appended data always ends before the next unconsumed byte. Before more
// is read into rbuf, and before ReadMessage returns, unalias moves what is
// left (the start of the next frames) into a buffer of the Conn.
// Compressed connections do not come here: inflated data may be longer
// than what it was inflated from. It reports whether it read; the caller
// holds the read side, and nothing is buffered (r == w) at a frame
// boundary.
func (c *Conn) readIntoCaller(b []byte) (bool, error) {
	spare := b[len(b):cap(b)]
	if len(spare) <= c.opts.readBufferSize() {
		return false, nil
	}
	// At most maxWrite bytes, so that what is left over fits the
	// largest of writeBufPools' buffers.
	n, err := c.read(spare[:min(len(spare), maxWrite)])
	if n > 0 {
		c.releaseReadBuf()
		c.rbuf, c.rsrc, c.r, c.w = spare[:n], rbufCaller, 0, n
		c.hot = n >= inlineRead
		c.received()
		return true, nil
	}
	if err != nil {
		return false, c.readError(err)
	}
	return true, nil // nothing read and no error: try again
}

// SetReadLimit bounds the size of the messages read from now on, in bytes;
// 0 removes the bound (Options.MaxMessageSize always applies too). A
// message over it fails the connection with 1009: as soon as a frame
// header announces more than fits, or, for compressed messages, as soon as
// the inflated bytes pass it — the state machine enforces it like
// MaxMessageSize, so the verdict never depends on how the bytes arrive. It
// may be called at any time, also from another goroutine; it applies from
// the next frame header or inflated byte the reader processes.
func (c *Conn) SetReadLimit(n int64) {
	c.readLimit.Store(max(n, 0))
}

// queueControl makes sure output the machine queued (a Pong, a Close
// reply) is written: now if no writer is busy, else by the writer when it
// releases the write side.
//
// The reader waits for this write, so on a blocking connection with a read
// deadline the write is bounded by that deadline too: a peer that floods
// Pings and never reads the Pongs would otherwise hold the reader in the
// write, past its read deadline, for as long as it likes. A write cut
// short there keeps its bytes (owed) and is tried again by the next writer
// or by the next read call (retryControl), under its own deadline.
func (c *Conn) queueControl() {
	c.ctrlPending.Store(true)
	if !c.tryLockWrite() {
		return
	}
	c.mu.Lock()
	rd := c.readBound()
	if wd := c.wdeadline.Load(); rd == 0 || wd != 0 && wd <= rd || c.lc.Load() != nil {
		// No read deadline, or the write deadline comes first; a Loop's
		// writes never wait.
		c.mu.Unlock()
		c.flushLocked()
		c.unlockWrite()
		return
	}
	// Under mu, so that a context's cancellation (cutControl) either
	// came before and shows in rd, or comes after and cuts the write.
	c.ctrlFlush = true
	if rd == noBound {
		c.setWriteDeadline(time.Time{})
	} else {
		c.setWriteDeadline(time.Unix(0, rd))
	}
	c.mu.Unlock()
	err := c.flushLocked()
	c.mu.Lock()
	c.ctrlFlush = false
	c.setWriteDeadline(loadDeadline(&c.wdeadline))
	c.mu.Unlock()
	if err != nil {
		c.ctrlPending.Store(true) // what is owed goes at the next chance
		c.g.release(lockW)
		return
	}
	c.unlockWrite()
}

// noBound is readBound's value for a read with no deadline whose context
// can be cancelled.
const noBound = math.MaxInt64

// cutControl runs when a context-taking read's context is cancelled: a
// control-frame write the reader makes under that read's bound ends now.
func (c *Conn) cutControl() {
	c.mu.Lock()
	if c.ctrlFlush {
		c.setWriteDeadline(longAgo)
	}
	c.mu.Unlock()
}

// readBound is the deadline the current read runs under (unix nanos, 0:
// none, noBound: none but cancellable): the user's read deadline, or the
// earlier one of a context-taking read's context.
func (c *Conn) readBound() int64 {
	rd := c.rdeadline.Load()
	if e := c.ctxRdeadline.Load(); e != 0 && (rd == 0 || e < rd) {
		return e
	}
	return rd
}

// retryControl writes, at the start of a read call, the control output
// that an earlier call's read deadline cut short (see queueControl): the
// Pong of a Ping that arrived just before that deadline goes out while the
// reader waits for its next message, not only when the application next
// writes. The caller holds the read side.
func (c *Conn) retryControl() {
	if c.readBound() != 0 && c.ctrlPending.Load() && c.closed() == nil {
		c.queueControl()
	}
}

// sendControlNow writes the queued control output before the connection
// ends, waiting for the write side up to deadline.
func (c *Conn) sendControlNow(deadline time.Time) {
	c.ctrlPending.Store(true)
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	if !c.g.acquire(lockW, t.C) {
		return
	}
	c.setWriteDeadline(deadline)
	if c.flushLocked() == nil {
		c.io().flushed(c)
	}
	c.g.release(lockW)
}

// failed handles an error from the state machine: the peer broke the
// protocol (or a limit). The machine queued a Close frame with the status
// code; send it and close the connection (RFC 6455 §7.1.7).
func (c *Conn) failed(err error) error {
	if ce := c.closed(); ce != nil {
		return ce
	}
	return c.io().end(c, func() error {
		deadline := time.Now().Add(c.opts.closeTimeout())
		c.sendControlNow(deadline)
		var pe *frame.ProtocolError
		if errors.As(err, &pe) && pe.Code == frame.CloseMessageTooBig {
			c.linger(deadline)
		}
		return c.finish(c.stateError(err))
	})
}

// linger runs after the Close frame of a 1009 went out on a plain
// socket: the peer is then most likely still sending the rest of the
// message that broke the limit. Closing a socket with unread bytes, or
// while bytes still arrive, makes the kernel send a reset, which can
// destroy the Close frame before the peer reads it (and fail the peer's
// write), so that the peer sees "connection reset" instead of 1009. So
// the write side is shut (the peer sees the end right after the Close
// frame, as RFC 6455 §7.1.1 wants of a server), and what still comes is
// read and discarded until the peer closes too, until nothing came for
// lingerQuiet, until lingerMax bytes were read, or until the deadline
// (CloseTimeout). Other failures
// close at once: their peer has no message of its own in flight. A Loop
// ends a connection on a goroutine of its own, not on its poller, so its
// sockets linger too (lingerFD); TLS does not (its close alert would race
// the connection's writer).
func (c *Conn) linger(deadline time.Time) {
	if !c.closeOnWire.Load() {
		return
	}
	if lc := c.lc.Load(); lc != nil {
		// A poller's socket, once the Close frame left the queue: on
		// its own goroutine (Loop's end), so it may wait.
		if lc.p != nil && lc.q.n.Load() == 0 {
			lingerFD(lc.fd, deadline)
		}
		return
	}
	type closeWriter interface {
		net.Conn
		CloseWrite() error
	}
	var cw closeWriter
	switch nc := c.nc.(type) {
	case *net.TCPConn:
		cw = nc
	case *net.UnixConn:
		cw = nc
	default:
		return
	}
	if cw.CloseWrite() != nil {
		return
	}
	b := getChunk()
	for drained := 0; drained < lingerMax; {
		d := time.Now().Add(lingerQuiet)
		if d.After(deadline) {
			d = deadline
		}
		if cw.SetReadDeadline(d) != nil {
			break
		}
		n, err := cw.Read(*b)
		if err != nil {
			break
		}
		drained += n
	}
	putChunk(b)
}

// lingerMax bounds what linger reads: a peer that goes on sending past it
// is not finishing a message.
const lingerMax = 16 << 20

// lingerQuiet is how long linger waits for more bytes from a peer that has
// stopped sending without closing.
const lingerQuiet = 250 * time.Millisecond

// peerClosed handles the peer's Close frame: the reply (if the peer
// started) is sent, the server closes TCP, the client waits for the server
// to close it (RFC 6455 §7.1.1), all within CloseTimeout.
func (c *Conn) peerClosed(ev conn.Event) error {
	if c.opts.OnClose != nil {
		c.opts.OnClose(ev.Code, string(ev.Data))
	}
	return c.io().end(c, c.closeReply)
}

// closeReply sends the reply to the peer's Close, waits for the server's
// FIN as a client, and ends the connection.
func (c *Conn) closeReply() error {
	deadline := time.Now().Add(c.opts.closeTimeout())
	c.sendControlNow(deadline)
	ce := c.stateError(nil)
	if c.client {
		// Wait for the server's FIN; data after a Close is ignored.
		c.nc.SetReadDeadline(deadline)
		b := inlineBufs.Get().(*[inlineRead]byte)
		for {
			if _, err := c.nc.Read(b[:]); err != nil {
				break
			}
		}
		inlineBufs.Put(b)
	}
	return c.finish(ce)
}

// ReadMessage reads the next data message into dst[:0], growing it when
// needed, and returns the message type and the message. Passing the
// previous result back in reuses its memory: in steady state ReadMessage
// allocates nothing. Large payloads are read straight into the result and
// unmasked in place.
//
// Control frames that arrive meanwhile are processed: Pings are answered,
// Pongs and Closes reported to the callbacks. On a timeout (see
// SetReadDeadline) ReadMessage returns the error with the connection open;
// the part of a message read so far is kept and the next call returns the
// whole message (then in the Conn's buffer rather than dst when the part
// was large: repeated timeouts do not copy it). When the connection ends
// it returns a *CloseError.
func (c *Conn) ReadMessage(dst []byte) (MessageType, []byte, error) {
	if err := c.io().readerErr(); err != nil {
		return 0, dst[:0], err
	}
	if err := c.lockRead(); err != nil {
		return 0, dst[:0], err
	}
	if err := c.park(); err != nil {
		c.unlockRead()
		return 0, dst[:0], err
	}
	return c.readMessageLocked(dst)
}

// park waits for the first bytes of a quiet connection before the deep
// read path is entered, so that a goroutine parked in ReadMessage or
// NextReader keeps the 2 KiB stack a goroutine starts with instead of
// growing it to 4 KiB. It reads only when the state machine cannot make
// progress without input: nothing buffered, no inflater that may hold
// output, no NextReader message to discard. The caller holds the read side.
func (c *Conn) park() error {
	c.retryControl()
	if c.r != c.w || c.hot || c.comp != nil || c.msgOpen || c.partOpen {
		return nil
	}
	c.useInline() // r = w = 0
	return c.readDone(c.nc.Read(c.rbuf))
}

// readMessage is ReadMessage without the Loop check, for the Loop's
// goroutine-per-connection fallback.
func (c *Conn) readMessage(dst []byte) (MessageType, []byte, error) {
	if err := c.lockRead(); err != nil {
		return 0, dst[:0], err
	}
	return c.readMessageLocked(dst)
}

// readMessageLocked is ReadMessage's body; it releases the read side.
// appendData appends p, the next data of a message, to b. Unlike append,
// whose growth is about 1.25x for large slices (a large message is copied
// about five times and costs about five times its size in allocations), it
// grows large buffers fourfold, and never past the message limit: at the
// last copy the old buffer is at most a quarter of the new one and the
// garbage of the earlier ones a third, so a message at the limit, or a
// decompression bomb stopped there, peaks near 1.5 times the limit
// (TestMessageMemory).
func (c *Conn) appendData(b, p []byte) []byte {
	if len(p) <= cap(b)-len(b) {
		return append(b, p...)
	}
	need := len(b) + len(p)
	n := max(need, 2*cap(b), 512)
	if cap(b) >= 64<<10 {
		n = max(need, 4*cap(b))
	}
	if lim := c.messageLimit(); lim > 0 && n > lim && need <= lim {
		n = lim
	}
	nb := make([]byte, len(b), n)
	copy(nb, b)
	return append(nb, p...)
}

// messageLimit is the size limit of a received message in bytes (the
// smaller of MaxMessageSize and SetReadLimit), 0 for none.
func (c *Conn) messageLimit() int {
	m := c.opts.maxMessageSize()
	if l := c.limitSet; l > 0 && (m <= 0 || l < m) {
		m = l
	}
	return int(max(m, 0))
}

func (c *Conn) readMessageLocked(dst []byte) (MessageType, []byte, error) {
	b := dst[:0]
	defer c.unlockRead()
	defer func() {
		if c.rsrc == rbufCaller {
			c.unalias() // the caller's memory is the caller's again
		}
	}()
	if c.msgOpen {
		// An unfinished NextReader message: drop its rest.
		if err := c.discardMessage(); err != nil {
			return 0, b, err
		}
	}
	var typ MessageType
	started := false
	if c.partOpen {
		// Resume a message a timeout interrupted. Its bytes are in a
		// buffer of ours: continue in it (it becomes the caller's with the
		// message) unless they are few and dst can hold them, so a reader
		// whose deadline expires again and again does not copy the
		// message out and back each time.
		if len(c.partial) > cap(b) || len(c.partial) >= 64<<10 {
			b, c.partial = c.partial, nil
		} else {
			b = append(b, c.partial...)
			c.partial = c.partial[:0]
		}
		typ, started = c.partType, true
		c.partOpen = false
	}
	for {
		ev, direct, err := c.readEvent(&b, true)
		if err != nil {
			if started && isTimeout(err) {
				if sameArray(b, dst) {
					// The caller's buffer: copy what it holds.
					c.partial = append(c.partial[:0], b...)
				} else {
					c.partial = b // ours (grown by appendData): keep it
				}
				c.partType, c.partOpen = typ, true
			}
			return 0, dst[:0], err
		}
		if ev.First {
			typ, started = MessageType(ev.Opcode), true
		}
		if !direct {
			b = c.appendData(b, ev.Data)
		}
		if ev.Final {
			return typ, b, nil
		}
	}
}

// sameArray reports whether a and b share their backing array.
func sameArray(a, b []byte) bool {
	return cap(a) > 0 && cap(b) > 0 && &a[:cap(a)][cap(a)-1] == &b[:cap(b)][cap(b)-1]
}

// discardMessage reads and drops the rest of the current NextReader
// message.
func (c *Conn) discardMessage() error {
	c.chunk = nil
	for !c.msgFinal {
		ev, _, err := c.readEvent(nil, false)
		if err != nil {
			return err
		}
		c.msgFinal = ev.Final
	}
	c.msgOpen = false
	return nil
}

// NextReader waits for the next data message and returns its type and a
// reader for its payload. The payload is never buffered whole: each Read
// delivers what arrived, reading large payloads straight into the caller's
// buffer and unmasking them in place. The reader returns io.EOF at the end
// of the message, and becomes invalid when NextReader or ReadMessage is
// called again (the rest of an unfinished message is then discarded).
// Timeouts behave as in ReadMessage: the next Read resumes.
func (c *Conn) NextReader() (MessageType, io.Reader, error) {
	if err := c.io().readerErr(); err != nil {
		return 0, nil, err
	}
	if err := c.lockRead(); err != nil {
		return 0, nil, err
	}
	defer c.unlockRead()
	if err := c.park(); err != nil {
		return 0, nil, err
	}
	if c.msgOpen {
		if err := c.discardMessage(); err != nil {
			return 0, nil, err
		}
	}
	if c.partOpen {
		// A ReadMessage timed out mid-message: serve its bytes first.
		c.msgOpen, c.msgFinal, c.msgType = true, false, c.partType
		c.chunk = c.partial
		c.partOpen = false
		return c.msgType, &c.mr, nil
	}
	ev, _, err := c.readEvent(nil, false)
	if err != nil {
		return 0, nil, err
	}
	c.msgOpen, c.msgFinal, c.msgType = true, ev.Final, MessageType(ev.Opcode)
	c.chunk = ev.Data
	return c.msgType, &c.mr, nil
}

// messageReader is the reader NextReader returns; there is one per Conn,
// so NextReader allocates nothing.
type messageReader struct {
	c *Conn
}

func (mr *messageReader) Read(p []byte) (int, error) {
	c := mr.c
	if err := c.io().readerErr(); err != nil {
		return 0, err
	}
	if err := c.lockRead(); err != nil {
		return 0, err
	}
	defer c.unlockRead()
	c.retryControl()
	if !c.msgOpen {
		return 0, io.EOF
	}
	for {
		if len(c.chunk) > 0 {
			n := copy(p, c.chunk)
			c.chunk = c.chunk[n:]
			return n, nil
		}
		if c.msgFinal {
			c.msgOpen = false
			if len(c.partial) > 0 {
				c.partial = c.partial[:0]
			}
			return 0, io.EOF
		}
		if len(p) == 0 {
			return 0, nil
		}
		b := p[:0]
		ev, direct, err := c.readEvent(&b, false)
		if err != nil {
			return 0, err
		}
		c.msgFinal = ev.Final
		if direct {
			return len(ev.Data), nil
		}
		c.chunk = ev.Data
	}
}
