package websocket

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hybi/websocket/conn"
	"github.com/hybi/websocket/deflate"
	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/mask"
)

// MessageType is the type of a data message (RFC 6455 §5.6). Its values are
// the opcodes of the message's first frame.
type MessageType int

const (
	// Text is a message of UTF-8 text (opcode 0x1). Received text is
	// validated; invalid UTF-8 fails the connection with 1007.
	Text MessageType = MessageType(frame.OpText)
	// Binary is a message of arbitrary bytes (opcode 0x2).
	Binary MessageType = MessageType(frame.OpBinary)
)

func (t MessageType) String() string {
	switch t {
	case Text:
		return "text"
	case Binary:
		return "binary"
	}
	return "MessageType(" + strconv.Itoa(int(t)) + ")"
}

func (t MessageType) opcode() (frame.Opcode, error) {
	if t != Text && t != Binary {
		return 0, errBadMessageType
	}
	return frame.Opcode(t), nil
}

var (
	errBadMessageType = errors.New("websocket: message type must be Text or Binary")
	errWriterClosed   = errors.New("websocket: write to a closed message writer")
	errCloseCalled    = fmt.Errorf("websocket: close: %w", net.ErrClosed)
)

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

// Conn is a WebSocket connection over a net.Conn, driving the state machine
// of package conn. Create it with Dial, Accept or Upgrade.
//
// Concurrency: one goroutine may read (ReadMessage, NextReader and the
// reader it returns) while any number of goroutines write (WriteMessage,
// NextWriter, WriteFrame, Ping, Close, CloseNow). Whole messages from
// different goroutines are serialized; control frames are interleaved
// between the frames of an open NextWriter. Misuse returns errors, never
// panics.
type Conn struct {
	nc       net.Conn
	socket   bool // nc is a TCP or Unix socket (see writeFrameLocked)
	client   bool
	opts     Options
	protocol string

	// smu guards cc. I/O is never done while holding it.
	smu sync.Mutex
	cc  conn.Conn

	// g holds the locks: the read side (lockR), the write side (lockW),
	// and a whole data message (lockMsg).
	g gate

	// Read side, guarded by lockR.
	rbuf     []byte // c.inl[:], a pooled buffer (rbufp) or own; see fill
	rsrc     uint8  // where rbuf points: rbufNone, rbufInline, ...
	hot      bool   // the last read filled inlineRead bytes or more
	rbufp    *[]byte
	own      []byte
	inl      [inlineRead]byte
	r, w     int
	chunk    []byte // undelivered bytes of the current data event
	msgFinal bool   // the current message's final chunk was parsed
	msgOpen  bool   // a NextReader message is in progress
	msgType  MessageType
	partial  []byte // ReadMessage: bytes of a message interrupted by a timeout
	partType MessageType
	partOpen bool
	mr       messageReader
	// rdeadline is the user's read deadline (unix nanos, 0: none), so the
	// ctx-taking reads can restore it.
	rdeadline atomic.Int64
	readLimit atomic.Int64 // SetReadLimit, 0: none
	limitSet  int64        // the readLimit the state machine enforces

	// Write side, guarded by lockW; lockMsg is held for a whole data
	// message (WriteMessage, or a NextWriter until it is closed).
	owed        []byte // committed bytes not yet written (after a timeout)
	ctrlPending atomic.Bool
	closeOnWire atomic.Bool
	wdeadline   atomic.Int64 // unix nanos of the write deadline, 0: none
	iovArr      [2][]byte
	iov         net.Buffers
	mw          messageWriter
	comp        *deflate.Compressor // permessage-deflate, guarded by lockMsg
	zbuf        []byte              // compressed message, guarded by lockMsg

	// lc is set, to &ls, when a Loop serves the connection (Loop.Add).
	lc atomic.Pointer[loopConn]
	ls loopConn

	// tr is the receive trace's state, nil unless Options.Trace is set.
	tr *traceState

	// Lifecycle. mu guards the heartbeat state.
	mu          sync.Mutex
	closeErr    atomic.Pointer[CloseError] // set once, when the connection ends
	closeCalled atomic.Bool
	closeReason string // reason of our Close frame, for the CloseError

	// Heartbeat.
	hb *heartbeat // nil unless Options.PingInterval > 0
}

// heartbeat is the state of Options.PingInterval, allocated only for
// connections that use it.
type heartbeat struct {
	start    time.Time // monotonic base for the nanosecond counts
	timer    *time.Timer
	lastRecv atomic.Int64 // nanos since start of the last read that returned bytes
	ping     int64        // nanos since start of the oldest unanswered ping, 0: none
	last     int64        // nanos since start of the last ping sent
}

// traceState is the state of Options.Trace, allocated only when it is set.
type traceState struct {
	pos  int64 // stream offset of rbuf[r]
	next int64 // stream offset of the next frame header
	bufR []byte
	bufW []byte
}

// received records that a read returned bytes, for the heartbeat.
func (c *Conn) received() {
	if c.hb != nil {
		c.hb.lastRecv.Store(c.hb.since())
	}
}

// consumed advances the trace's stream offset by n bytes.
func (c *Conn) consumed(n int) {
	if c.tr != nil {
		c.tr.pos += int64(n)
	}
}

// newConn wraps nc after a successful handshake. buffered holds bytes the
// handshake read past its end; they are the start of the WebSocket stream.
//
// params, when non-nil, are the negotiated permessage-deflate parameters.
func newConn(nc net.Conn, client bool, buffered []byte, o *Options, protocol string, params *deflate.Params) (*Conn, error) {
	c := &Conn{
		nc:       nc,
		socket:   isSocket(nc),
		client:   client,
		opts:     *o,
		protocol: protocol,
	}
	role := conn.Server
	if client {
		role = conn.Client
	}
	cfg := conn.Config{Role: role, MaxMessageSize: o.maxMessageSize()}
	if params != nil {
		comp, err := params.NewCompressor(!client, o.compressionLevel())
		if err != nil {
			return nil, err
		}
		c.comp = comp
		cfg.AllowedRSV = frame.RSV1
		cfg.Inflater = params.NewDecompressor(!client)
	}
	if err := c.cc.Init(cfg); err != nil {
		return nil, err
	}
	switch {
	case len(buffered) == 0:
	case len(buffered) <= inlineRead:
		c.rbuf, c.rsrc = c.inl[:], rbufInline
		c.w = copy(c.rbuf, buffered)
	case len(buffered) <= o.readBufferSize():
		c.getReadBuf()
		c.w = copy(c.rbuf, buffered)
	default:
		c.own = make([]byte, len(buffered))
		c.rbuf, c.rsrc = c.own, rbufOwned
		c.w = copy(c.rbuf, buffered)
	}
	c.mr.c = c
	c.mw.c = c
	if o.Trace != nil {
		c.tr = new(traceState)
	}
	if o.PingInterval > 0 {
		c.hb = &heartbeat{start: time.Now()}
		c.mu.Lock()
		c.hb.timer = time.AfterFunc(o.PingInterval, c.heartbeat)
		c.mu.Unlock()
	}
	return c, nil
}

// Subprotocol returns the subprotocol agreed in the handshake, or "".
func (c *Conn) Subprotocol() string { return c.protocol }

// NetConn returns the underlying connection. Reading or writing it directly
// corrupts the WebSocket stream; it is meant for addresses and socket
// options.
func (c *Conn) NetConn() net.Conn { return c.nc }

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns the remote network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// SetReadDeadline sets the deadline for reads (ReadMessage, NextReader and
// its reader). A read that hits it returns an error satisfying
// errors.Is(err, os.ErrDeadlineExceeded) and net.Error's Timeout(), and the
// connection stays open: the next read resumes exactly where this one
// stopped, mid-header, mid-payload or mid-UTF-8 sequence. A zero t means no
// deadline; there is none by default.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if t.IsZero() {
		c.rdeadline.Store(0)
	} else {
		c.rdeadline.Store(t.UnixNano())
	}
	return c.nc.SetReadDeadline(t)
}

// SetWriteDeadline sets the deadline for writes. A write that hits it
// returns an error satisfying errors.Is(err, os.ErrDeadlineExceeded). If
// the deadline had already passed, nothing was committed. If it expires
// while the frame is being written, the frame was committed and the error
// also matches ErrWriteQueued: the rest is sent first by the next write
// (never resend the message, and never is a partial frame left on the wire
// with something else after it). A zero t means no deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if t.IsZero() {
		c.wdeadline.Store(0)
	} else {
		c.wdeadline.Store(t.UnixNano())
	}
	return c.nc.SetWriteDeadline(t)
}

// SetDeadline sets both deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// ---- lifecycle ----

// closed returns the final error once the connection ended, else nil.
func (c *Conn) closed() *CloseError {
	return c.closeErr.Load()
}

// finish records how the connection ended (the first call wins), closes
// the socket and stops the heartbeat. It returns the recorded error.
func (c *Conn) finish(ce *CloseError) *CloseError {
	if !c.closeErr.CompareAndSwap(nil, ce) {
		return c.closeErr.Load()
	}
	c.g.end()
	c.mu.Lock()
	if c.hb != nil {
		c.hb.timer.Stop()
	}
	c.mu.Unlock()
	lc := c.lc.Load()
	if lc == nil || lc.detach(c) {
		c.nc.Close()
	}
	if lc != nil && lc.l.opts.OnClose != nil {
		lc.l.opts.OnClose(c, ce)
	}
	return ce
}

// stateError builds the CloseError for the current closing state of the
// machine with cause err (nil for a completed handshake).
func (c *Conn) stateError(err error) *CloseError {
	c.smu.Lock()
	ini := c.cc.Initiator()
	sentCode, _ := c.cc.CloseSent()
	rcode, rreason, recv := c.cc.CloseReceived()
	var reason string
	if ini == conn.Peer {
		reason = string(rreason)
	}
	c.smu.Unlock()
	sent := c.closeOnWire.Load()
	ce := &CloseError{Code: frame.CloseAbnormal, Err: err}
	switch {
	case sent && recv && ini == conn.Peer:
		ce.Frames = ReceivedThenSent
	case sent && recv:
		ce.Frames = SentThenReceived
	case sent:
		ce.Frames = SentOnly
	case recv:
		ce.Frames = ReceivedOnly
	}
	switch ini {
	case conn.Local:
		ce.Initiator = Local
		ce.Code = sentCode
		ce.Reason = c.closeReason
		var pe *frame.ProtocolError
		if errors.As(err, &pe) {
			ce.Code, ce.Reason = pe.Code, pe.Reason
		}
	case conn.Peer:
		ce.Initiator = Peer
		ce.Code = rcode
		ce.Reason = reason
	}
	return ce
}

// CloseNow closes the connection at once, without a closing handshake.
// Blocked reads and writes return the resulting *CloseError (Code 1006,
// Initiator Local, Err net.ErrClosed, unless the connection had already
// ended). A second call returns an error.
func (c *Conn) CloseNow() error {
	if c.closed() != nil {
		return errCloseCalled
	}
	ce := c.stateError(net.ErrClosed)
	if ce.Initiator == None {
		ce.Initiator = Local
	}
	if got := c.finish(ce); got != ce {
		return errCloseCalled
	}
	return nil
}

// Close performs the closing handshake (RFC 6455 §7.1.2): it sends a Close
// frame with code and reason (frame.CloseNoStatus sends an empty one), waits
// for the peer's Close frame and closes the TCP connection, all within
// Options.CloseTimeout. A server closes TCP as soon as the Close frames
// were exchanged; a client waits for the server to close first (RFC 6455
// §7.1.1: "the server SHOULD close the underlying TCP connection
// first"). Data messages that arrive meanwhile are discarded, unless a
// reader goroutine is active: then it keeps receiving them, sees the
// peer's Close and completes the handshake.
//
// Close returns nil when the handshake completed, the *CloseError when it
// did not (Err says why: ErrCloseTimeout, an I/O error…), and an error for
// a second call or an invalid code or reason. On a connection served by a
// Loop, Close called from OnMessage does not wait (see Loop).
func (c *Conn) Close(code frame.CloseCode, reason string) error {
	if ce := c.closed(); ce != nil {
		return errCloseCalled
	}
	// Validate before touching any state.
	var scratch [frame.MaxControlPayload]byte
	if _, err := frame.AppendClose(scratch[:0], code, reason); err != nil {
		return err
	}
	if !c.closeCalled.CompareAndSwap(false, true) {
		return errCloseCalled
	}
	deadline := time.Now().Add(c.opts.closeTimeout())
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()

	// 1. Send our Close frame (unless one went out already: a reply to
	// the peer's Close, or a failure).
	if !c.g.acquire(lockW, timer.C) {
		if c.closed() == nil {
			c.finish(c.stateError(ErrCloseTimeout))
		}
		return c.closeResult()
	}
	c.nc.SetWriteDeadline(deadline)
	err := c.flushLocked()
	if err == nil {
		c.smu.Lock()
		buf := getChunk()
		b, aerr := c.cc.AppendClose((*buf)[:0], code, reason)
		if aerr == nil {
			c.closeReason = reason
		}
		c.smu.Unlock()
		if aerr == nil {
			if c.opts.Trace != nil {
				c.traceOut(b, &c.tr.bufW)
			}
			if _, err = c.nc.Write(b); err == nil {
				c.closeOnWire.Store(true)
			}
		}
		putChunk(buf)
	}
	c.unlockWrite()
	if err != nil {
		c.finish(c.stateError(err))
		return c.closeResult()
	}

	// 2. Wait for the peer's Close frame: either the active reader gets
	// it (a Loop is always active: wait for it), or we read ourselves.
	if lc := c.lc.Load(); lc != nil {
		if lc.inCallback.Load() {
			return nil // see Loop: the Loop completes the handshake, OnClose reports it
		}
		c.g.acquire(lockLoop, timer.C) // held by the Loop: returns at the end or the timeout
		if c.closed() == nil {
			c.finish(c.stateError(ErrCloseTimeout))
		}
		return c.closeResult()
	}
	for {
		if !c.g.acquire(lockR, timer.C) {
			if c.closed() == nil {
				c.finish(c.stateError(ErrCloseTimeout))
			}
			return c.closeResult()
		}
		c.nc.SetReadDeadline(deadline)
		for {
			if _, _, err := c.readEvent(nil, false); err != nil {
				if isTimeout(err) {
					c.finish(c.stateError(ErrCloseTimeout))
				}
				break
			}
			c.chunk = nil // discard data
		}
		c.g.release(lockR)
	}
}

func (c *Conn) closeResult() error {
	ce := c.closed()
	if ce == nil || ce.Err == nil {
		return nil
	}
	return ce
}

// ---- locks ----

// lockRead takes the read side or returns the final error.
func (c *Conn) lockRead() error {
	if !c.g.acquire(lockR, nil) {
		return c.closed()
	}
	if ce := c.closed(); ce != nil {
		c.g.release(lockR)
		return ce
	}
	return nil
}

func (c *Conn) unlockRead() {
	c.g.release(lockR)
	if lc := c.lc.Load(); lc != nil {
		lc.missedEdge(c)
	}
}

// lockWrite takes the write side or returns the final error.
func (c *Conn) lockWrite() error {
	if !c.g.acquire(lockW, nil) {
		return c.closed()
	}
	if ce := c.closed(); ce != nil {
		c.g.release(lockW)
		return ce
	}
	return nil
}

func (c *Conn) tryLockWrite() bool { return c.g.tryAcquire(lockW) }

// unlockWrite releases the write side, and flushes control frames the
// reader queued while it was held (the reader never waits for a writer,
// so that two peers writing large messages at each other cannot deadlock
// on their Pongs).
func (c *Conn) unlockWrite() {
	c.g.release(lockW)
	for c.ctrlPending.Load() && c.tryLockWrite() {
		err := c.flushLocked()
		c.g.release(lockW)
		if err != nil {
			return // the writer that meets the error next reports it
		}
	}
}

// lockMessage takes the message lock for a whole data message.
func (c *Conn) lockMessage() error {
	if !c.g.acquire(lockMsg, nil) {
		return c.closed()
	}
	return nil
}

func (c *Conn) unlockMessage() { c.g.release(lockMsg) }

// ---- heartbeat ----

func (h *heartbeat) since() int64 { return int64(time.Since(h.start)) }

// heartbeat runs on a timer goroutine: it fails the connection when the
// PongTimeout after a ping passed without any byte from the peer, and sends
// a ping every PingInterval. The next tick is armed before the ping is
// written, so a ping blocked on a dead peer cannot stop the timeout check.
func (c *Conn) heartbeat() {
	if c.closed() != nil {
		return
	}
	h := c.hb
	now := h.since()
	interval := int64(c.opts.PingInterval)
	timeout := int64(c.opts.PongTimeout)
	c.mu.Lock()
	if h.ping != 0 && h.lastRecv.Load() >= h.ping {
		h.ping = 0 // answered (or anything else arrived)
	}
	if timeout > 0 && h.ping != 0 && now-h.ping >= timeout {
		c.mu.Unlock()
		ce := c.stateError(ErrHeartbeatTimeout)
		ce.Code, ce.Reason, ce.Initiator = frame.CloseAbnormal, "", None
		c.finish(ce)
		return
	}
	send := now-h.last >= interval || h.last == 0
	if send {
		h.last = now
		if h.ping == 0 {
			h.ping = now
		}
	}
	next := h.last + interval - now
	if h.ping != 0 && timeout > 0 {
		next = min(next, h.ping+timeout-now)
	}
	h.timer.Reset(time.Duration(max(next, int64(time.Millisecond))))
	c.mu.Unlock()
	if send && c.tryLockWrite() {
		if c.closed() == nil {
			c.writeFrameLocked(frame.OpPing, 0, nil)
		}
		c.unlockWrite()
	}
}

// ---- reading ----

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
// returned less than inlineRead bytes) waits on inl, inside the Conn, and
// gives its read buffer back to the pool first: an idle connection holds
// no read buffer. A busy one (its last read filled inlineRead bytes or
// more) keeps a read buffer, so a stream of messages costs one system call
// per buffer, not per inlineRead bytes.
func (c *Conn) fill() error {
	if c.r == c.w {
		c.r, c.w = 0, 0
		if !c.hot {
			c.releaseReadBuf()
			c.rbuf, c.rsrc = c.inl[:], rbufInline
		} else if c.rsrc == rbufNone || c.rsrc == rbufInline {
			c.getReadBuf()
		}
	} else if c.w == len(c.rbuf) {
		switch {
		case c.rsrc == rbufInline:
			// A frame longer than the inline buffer: move to a read
			// buffer (never c.inl, so the copy does not overlap).
			part := c.rbuf[c.r:c.w]
			c.getReadBuf()
			c.r, c.w = 0, copy(c.rbuf, part)
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

// read reads from the socket: a blocking read, or a non-blocking one while
// a Loop's poller serves the connection.
func (c *Conn) read(p []byte) (int, error) {
	if lc := c.lc.Load(); lc != nil && lc.nonblock {
		return lc.read(p)
	}
	return c.nc.Read(p)
}

// write writes b whole to the socket, or returns an error with the number
// of bytes written: a blocking write, or a non-blocking one while a Loop's
// poller flushes control frames (then errWouldBlock when the socket is
// full).
func (c *Conn) write(b []byte) (int, error) {
	if lc := c.lc.Load(); lc != nil && lc.wnb {
		return rawWrite(lc.fd, b)
	}
	return c.nc.Write(b)
}

// inlineRead is the size of the buffer inside every Conn that a quiet
// connection waits on (see fill). It holds a small message whole.
const inlineRead = 256

// Where rbuf points.
const (
	rbufNone   = iota
	rbufInline // c.inl
	rbufPooled // c.rbufp, from readBufs
	rbufOwned  // c.own: a custom ReadBufferSize, or grown
)

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
	if c.rsrc == rbufPooled {
		readBufs.Put(c.rbufp)
		c.rbufp = nil
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
// event's Data aliases its new tail (direct is true).
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
		if rem > 0 && c.r == c.w && tgt != nil {
			b := *tgt
			spare := cap(b) - len(b)
			if grow && int64(spare) < rem {
				// Grow towards the announced length, but never by more
				// than max(cap, 64 KiB) at once: the length is bounded
				// by MaxMessageSize, yet a peer should not make us
				// allocate it before sending it.
				want := int(min(rem, int64(max(cap(b), 64<<10))))
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
		if err := c.fill(); err != nil {
			return ev, false, err
		}
	}
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
func (c *Conn) queueControl() {
	c.ctrlPending.Store(true)
	if !c.tryLockWrite() {
		return
	}
	lc := c.lc.Load()
	if lc == nil || !lc.nonblock {
		c.flushLocked()
		c.unlockWrite()
		return
	}
	// A Loop's poller never blocks on one connection: what the socket
	// does not take now is written by another goroutine.
	lc.wnb = true
	err := c.flushLocked()
	lc.wnb = false
	c.unlockWrite()
	if errors.Is(err, ErrWriteQueued) {
		go c.Flush()
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
	c.nc.SetWriteDeadline(deadline)
	c.flushLocked()
	c.g.release(lockW)
}

// failed handles an error from the state machine: the peer broke the
// protocol (or a limit). The machine queued a Close frame with the status
// code; send it and close the connection (RFC 6455 §7.1.7).
func (c *Conn) failed(err error) error {
	if ce := c.closed(); ce != nil {
		return ce
	}
	if lc := c.lc.Load(); lc != nil && lc.nonblock {
		// A Loop's poller does not wait for the Close frame to go out.
		lc.closing.Store(true)
		go func() {
			c.sendControlNow(time.Now().Add(c.opts.closeTimeout()))
			c.finish(c.stateError(err))
		}()
		return err
	}
	c.sendControlNow(time.Now().Add(c.opts.closeTimeout()))
	return c.finish(c.stateError(err))
}

// peerClosed handles the peer's Close frame: the reply (if the peer
// started) is sent, the server closes TCP, the client waits for the server
// to close it (RFC 6455 §7.1.1), all within CloseTimeout.
func (c *Conn) peerClosed(ev conn.Event) error {
	if c.opts.OnClose != nil {
		c.opts.OnClose(ev.Code, string(ev.Data))
	}
	if lc := c.lc.Load(); lc != nil && lc.nonblock {
		// A Loop's poller does not wait for the reply to go out or, as a
		// client, for the server to close.
		lc.closing.Store(true)
		go c.closeReply()
		return errLoopClosing
	}
	return c.closeReply()
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
		for {
			if _, err := c.nc.Read(c.inl[:]); err != nil {
				break
			}
		}
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
// whole message. When the connection ends it returns a *CloseError.
func (c *Conn) ReadMessage(dst []byte) (MessageType, []byte, error) {
	if c.lc.Load() != nil {
		return 0, dst[:0], errLoopOwned
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
	if c.r != c.w || c.hot || c.comp != nil || c.msgOpen || c.partOpen {
		return nil
	}
	c.releaseReadBuf() // r = w = 0
	c.rbuf, c.rsrc = c.inl[:], rbufInline
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
func (c *Conn) readMessageLocked(dst []byte) (MessageType, []byte, error) {
	b := dst[:0]
	defer c.unlockRead()
	if c.msgOpen {
		// An unfinished NextReader message: drop its rest.
		if err := c.discardMessage(); err != nil {
			return 0, b, err
		}
	}
	var typ MessageType
	started := false
	if c.partOpen {
		b = append(b, c.partial...)
		typ, started = c.partType, true
		c.partial, c.partOpen = c.partial[:0], false
	}
	for {
		ev, direct, err := c.readEvent(&b, true)
		if err != nil {
			if started && isTimeout(err) {
				c.partial = append(c.partial[:0], b...)
				c.partType, c.partOpen = typ, true
			}
			return 0, b[:0], err
		}
		if ev.First {
			typ, started = MessageType(ev.Opcode), true
		}
		if !direct {
			b = append(b, ev.Data...)
		}
		if ev.Final {
			return typ, b, nil
		}
	}
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
	if c.lc.Load() != nil {
		return 0, nil, errLoopOwned
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
	if c.lc.Load() != nil {
		return 0, errLoopOwned
	}
	if err := c.lockRead(); err != nil {
		return 0, err
	}
	defer c.unlockRead()
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

// ---- writing ----

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
		if queued > 0 {
			return &queuedError{err: err, n: queued}
		}
		return err
	}
	return c.finish(c.stateError(err))
}

// flushLocked writes the owed bytes of an interrupted frame and the control
// frames the machine queued. The caller holds the write side.
func (c *Conn) flushLocked() error {
	c.ctrlPending.Store(false)
	if len(c.owed) > 0 {
		n, err := c.write(c.owed)
		c.owed = c.owed[n:]
		if err != nil {
			return c.writeError(err, len(c.owed))
		}
		c.owed = nil
	}
	c.smu.Lock()
	p := c.cc.Pending()
	if len(p) == 0 {
		c.smu.Unlock()
		return nil
	}
	_, closing := c.cc.CloseSent()
	buf := getChunk()
	b := append((*buf)[:0], p...)
	c.cc.Advance(len(p))
	c.smu.Unlock()
	if c.opts.Trace != nil {
		c.traceOut(b, &c.tr.bufW)
	}
	n, err := c.write(b)
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
		if err := c.flushLocked(); err != nil {
			return err
		}
	}
	buf := getChunk()
	defer putChunk(buf)
	if len(p) <= smallFrame {
		c.smu.Lock()
		b, err := c.cc.AppendFrame((*buf)[:0], op, flags, p)
		c.smu.Unlock()
		if err != nil {
			return err
		}
		if c.opts.Trace != nil {
			c.traceOut(b, &c.tr.bufW)
		}
		n, err := c.nc.Write(b)
		if err != nil {
			c.owed = append(c.owed, b[n:]...)
			return c.writeError(err, len(c.owed))
		}
		return nil
	}
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
		c.iov = append(c.iovArr[:0], b, p[:k])
		n, err := c.iov.WriteTo(c.nc)
		c.iovArr = [2][]byte{}
		off := int(n) - len(b)
		if err == nil {
			for off < len(p) && err == nil {
				var m int
				m, err = c.nc.Write(p[off:min(len(p), off+maxWrite)])
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
		n, err := c.nc.Write(seg)
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
	if err := c.lockMessage(); err != nil {
		return err
	}
	defer c.unlockMessage()
	flags := frame.Flags(0)
	if c.comp != nil && len(p) >= c.opts.compressionThreshold() {
		if err := c.writable(); err != nil {
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
		p, flags = z, frame.Compressed|compressedCommit
	}
	if err := c.lockWrite(); err != nil {
		return err
	}
	defer c.unlockWrite()
	return c.writeFrameLocked(op, flags, p)
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
func (c *Conn) WriteFrame(op frame.Opcode, flags frame.Flags, payload []byte) error {
	if err := c.lockWrite(); err != nil {
		return err
	}
	defer c.unlockWrite()
	return c.writeFrameLocked(op, flags, payload)
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
}

// Write adds p to the message, sending each full fragment.
func (mw *messageWriter) Write(p []byte) (int, error) {
	if !mw.open {
		return 0, errWriterClosed
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
				if err := mw.send(p[:fs], frame.More); err != nil {
					return written, err
				}
				p = p[fs:]
				written += fs
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
			if err := mw.send(*mw.buf, frame.More); err != nil {
				return written, err
			}
			*mw.buf = (*mw.buf)[:0]
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
	if c.comp != nil {
		flags |= compressedCommit
		if mw.first {
			flags |= frame.Compressed
		}
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
// lock. A second Close returns an error.
func (mw *messageWriter) Close() error {
	if !mw.open {
		return errWriterClosed
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
	c.unlockMessage()
	return err
}
