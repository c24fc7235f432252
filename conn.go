package websocket

import (
	"errors"
	"fmt"
	"net"
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
	// nc is the transport. Loop.Add may replace it, under smu, by the
	// Loop's loopSocket; whoever reads it without holding the read or the
	// write side uses transport().
	nc       net.Conn
	opts     *Options // frozenOptions: shared, never modified
	protocol string

	// smu guards cc. I/O is never done while holding it.
	smu sync.Mutex
	cc  conn.Conn

	// g holds the locks: the read side (lockR), the write side (lockW),
	// and a whole data message (lockMsg).
	g gate

	readSide  // guarded by lockR
	writeSide // guarded by lockW (and lockMsg for a whole data message)

	// lc is set, to &ls, when a Loop serves the connection (Loop.Add).
	lc atomic.Pointer[loopConn]
	ls loopConn

	// tr is the receive trace's state, nil unless Options.Trace is set.
	tr *traceState

	// Lifecycle. mu guards the heartbeat state and ctrlFlush.
	mu          sync.Mutex
	closeErr    atomic.Pointer[CloseError] // set once, when the connection ends
	closeCalled atomic.Bool
	socket      bool // nc is a TCP or Unix socket (see writeFrameLocked)
	client      bool
	// ctrlFlush: the reader is writing control frames under the deadline
	// of its read (queueControl), so cancelling a context-taking read
	// must cut that write short too.
	ctrlFlush   bool
	closeReason string // reason of our Close frame, for the CloseError

	cw *clientWrite // a client's, nil on a server

	// Heartbeat.
	hb *heartbeat // nil unless Options.PingInterval > 0
	// pw: PingContext calls waiting for their Pong; nil until the first.
	pw *pingWaiters
}

// readSide is the read half of a Conn's state, guarded by lockR: the read
// buffer, the data event being delivered, and the message being assembled.
type readSide struct {
	rbuf     []byte // an inline buffer (inlp), a pooled buffer (rbufp) or own; see fill
	rbufp    *[]byte
	inlp     *[inlineRead]byte // from inlineBufs while rsrc is rbufInline
	own      []byte
	r, w     int
	chunk    []byte // undelivered bytes of the current data event
	msgType  MessageType
	partial  []byte // ReadMessage: bytes of a message interrupted by a timeout
	partType MessageType
	mr       messageReader
	rsrc     uint8 // where rbuf points: rbufNone, rbufInline, ...
	hot      bool  // the last read filled inlineRead bytes or more
	msgFinal bool  // the current message's final chunk was parsed
	msgOpen  bool  // a NextReader message is in progress
	partOpen bool
	// rdeadline is the user's read deadline (unix nanos, 0: none), so the
	// ctx-taking reads can restore it.
	rdeadline atomic.Int64
	// ctxRdeadline is the deadline a ReadMessageContext or
	// NextReaderContext call's context imposes (unix nanos, 0: none; a
	// time long past once it was cancelled); see readBound.
	ctxRdeadline atomic.Int64
	readLimit    atomic.Int64 // SetReadLimit, 0: none
	limitSet     int64        // the readLimit the state machine enforces
}

// writeSide is the write half of a Conn's state, guarded by lockW; lockMsg
// is held for a whole data message (WriteMessage, or a NextWriter until it
// is closed).
type writeSide struct {
	owed        []byte // committed bytes not yet written (after a timeout)
	ctrlPending atomic.Bool
	closeOnWire atomic.Bool
	wdeadline   atomic.Int64 // unix nanos of the write deadline, 0: none
	mw          messageWriter
	comp        *deflate.Compressor // permessage-deflate, guarded by lockMsg
	zbuf        []byte              // compressed message, guarded by lockMsg
	zbits       int                 // comp's negotiated window bits (see prepared.go)
	aw          *asyncWriter        // the write path of a TLS transport, else nil
	mwOpen      atomic.Bool         // a NextWriter's message is open
	fv          textValidator       // UTF-8 state of a text message sent with WriteFrame
	fvText      bool                // a WriteFrame text message is open and checked
	ztakeover   bool                // comp keeps its context between messages (see prepared.go)
}

// heartbeat is the state of Options.PingInterval, allocated only for
// connections that use it. Times are hbNow nanoseconds.
type heartbeat struct {
	// timer fires the ticks of a connection no poller serves; nil once a
	// Loop's poller schedules them (loopheartbeat.go). Guarded by Conn.mu.
	timer    *time.Timer
	lastRecv atomic.Int64 // the last read that returned bytes
	ping     int64        // the oldest unanswered ping, 0: none
	last     int64        // the last ping sent (at first: when the heartbeat started)
	// The poller's schedule, guarded by its hbWheel's mu: the connection
	// is in the list of the bucket due at due (0: in none, -1: removed).
	prev, next *Conn
	due        int64
}

// clientWrite is a client's own write state: the source of its masking
// keys, so that a frame does not take one from mask.NewKey's shared pool,
// and a buffer for small frames, so that a message does not take a pooled
// chunk. Both are used under the write side. Servers neither mask nor
// keep per-connection write buffers (an idle connection holds none).
type clientWrite struct {
	keys mask.KeySource
	buf  [clientSmall]byte
}

// clientSmall is the size of a clientWrite's frame buffer: a header and
// a payload of up to clientSmall - frame.MaxHeaderSize bytes.
const clientSmall = 256

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
		c.hb.lastRecv.Store(hbNow())
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
		opts:     frozenOptions(o),
		protocol: protocol,
	}
	role := conn.Server
	if client {
		role = conn.Client
	}
	cfg := conn.Config{Role: role, MaxMessageSize: o.maxMessageSize()}
	if client {
		c.cw = new(clientWrite)
		cfg.MaskKeys = &c.cw.keys
	}
	if params != nil {
		comp, err := params.NewCompressor(!client, o.compressionLevel())
		if err != nil {
			return nil, err
		}
		c.comp = comp
		c.ztakeover = !params.CompressorResets(!client)
		c.zbits = params.CompressWindowBits(!client)
		cfg.AllowedRSV = frame.RSV1
		cfg.Inflater = params.NewDecompressor(!client)
	}
	if err := c.cc.Init(cfg); err != nil {
		return nil, err
	}
	switch {
	case len(buffered) == 0:
	case len(buffered) <= inlineRead:
		c.useInline()
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
	if needsAsyncWrite(nc) {
		c.aw = newAsyncWriter(nc)
	}
	if o.Trace != nil {
		c.tr = new(traceState)
	}
	if o.PingInterval > 0 {
		now := hbNow()
		c.hb = &heartbeat{last: now}
		c.mu.Lock()
		c.hb.timer = time.AfterFunc(time.Duration(c.hbNext(now)-now), c.heartbeat)
		c.mu.Unlock()
	}
	return c, nil
}

// Subprotocol returns the subprotocol agreed in the handshake, or "".
func (c *Conn) Subprotocol() string { return c.protocol }

// NetConn returns the underlying connection. Reading or writing it directly
// corrupts the WebSocket stream; it is meant for addresses and socket
// options.
//
// A Loop serving a server connection over TCP on Linux keeps only the
// socket's descriptor (see Loop.Add): NetConn then returns a *net.TCPConn
// on a duplicate of that descriptor, made at the first call and closed
// with the connection. Socket options set through it apply to the
// connection's socket; closing it does not close the connection.
func (c *Conn) NetConn() net.Conn {
	if lc := c.lc.Load(); lc != nil && lc.sock.taken() {
		return lc.socketConn(c)
	}
	return c.transport()
}

// transport returns c.nc, for callers that hold neither the read nor the
// write side (Loop.Add may be replacing it).
func (c *Conn) transport() net.Conn {
	c.smu.Lock()
	nc := c.nc
	c.smu.Unlock()
	return nc
}

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.transport().LocalAddr() }

// RemoteAddr returns the remote network address.
func (c *Conn) RemoteAddr() net.Addr { return c.transport().RemoteAddr() }

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
	return c.setReadDeadline(t)
}

// setReadDeadline applies the read deadline to the transport.
func (c *Conn) setReadDeadline(t time.Time) error { return c.transport().SetReadDeadline(t) }

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
	return c.setWriteDeadline(t)
}

// SetDeadline sets both deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// hbEpoch is the origin of hbNow.
var hbEpoch = time.Now()

// hbNow is the heartbeat's clock: monotonic nanoseconds, never 0 (0 means
// "none" in the heartbeat's fields).
func hbNow() int64 { return int64(time.Since(hbEpoch)) + int64(time.Second) }

// heartbeatGrid is the fraction of PingInterval that heartbeat ticks are
// rounded up to: ticks of many connections fall on the same instants of
// the clock, so their Pings go out together and their Pongs come back
// together (a Loop's poller handles the connections due at one instant in
// one batch, and reads their Pongs from one epoll wake-up). A tick is late
// by less than PingInterval/heartbeatGrid.
const heartbeatGrid = 16

// hbAlign rounds the instant at (hbNow nanoseconds) up to a multiple of
// interval/heartbeatGrid, unless that step is below a millisecond.
func hbAlign(at, interval int64) int64 {
	g := interval / heartbeatGrid
	if g < int64(time.Millisecond) {
		return at
	}
	return at + (g-at%g)%g
}

// hbNext returns when the next heartbeat tick is due, on the grid: the
// next ping, or the end of PongTimeout after an unanswered one, whichever
// is first, and at least a millisecond after now. The caller holds c.mu.
func (c *Conn) hbNext(now int64) int64 {
	h := c.hb
	interval, timeout := int64(c.opts.PingInterval), int64(c.opts.PongTimeout)
	next := h.last + interval
	if h.ping != 0 && timeout > 0 {
		next = min(next, h.ping+timeout)
	}
	return hbAlign(max(next, now+int64(time.Millisecond)), interval)
}

// hbTick is one heartbeat tick at now: it reports whether the PongTimeout
// after a ping passed without any byte from the peer (fail), else whether
// a ping is due (send), and when the next tick is due. The caller holds
// c.mu.
func (c *Conn) hbTick(now int64) (send, fail bool, next int64) {
	h := c.hb
	interval, timeout := int64(c.opts.PingInterval), int64(c.opts.PongTimeout)
	if h.ping != 0 && h.lastRecv.Load() >= h.ping {
		h.ping = 0 // answered (or anything else arrived)
	}
	if timeout > 0 && h.ping != 0 && now-h.ping >= timeout {
		return false, true, 0
	}
	if now-h.last >= interval {
		send = true
		h.last = now
		if h.ping == 0 {
			h.ping = now
		}
	}
	return send, false, c.hbNext(now)
}

// hbAct carries out a tick's decision (see hbTick), without c.mu: it
// fails the connection, or sends the ping unless a write holds the write
// side (then the write shows the peer that we are alive).
func (c *Conn) hbAct(send, fail bool) {
	if fail {
		ce := c.stateError(ErrHeartbeatTimeout)
		ce.Code, ce.Reason, ce.Initiator = frame.CloseAbnormal, "", None
		c.finish(ce)
		return
	}
	if send && c.tryLockWrite() {
		if c.closed() == nil {
			c.writeFrameLocked(frame.OpPing, 0, nil)
		}
		c.unlockWrite()
	}
}

// heartbeat runs on the connection's timer goroutine (connections no
// poller serves): one tick (see hbTick). The next tick is armed before the
// ping is written, so a ping blocked on a dead peer cannot stop the
// timeout check.
func (c *Conn) heartbeat() {
	if c.closed() != nil {
		return
	}
	c.mu.Lock()
	h := c.hb
	if h.timer == nil {
		c.mu.Unlock()
		return // a poller took the heartbeat over (Loop.Add)
	}
	now := hbNow()
	send, fail, next := c.hbTick(now)
	if !fail {
		h.timer.Reset(time.Duration(next - now))
	}
	c.mu.Unlock()
	c.hbAct(send, fail)
}
