package conn

import (
	"fmt"
	"math"
	"sync"

	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/internal/utf8"
	"github.com/hybi/websocket/mask"
)

// read states
const (
	rsHeader  uint8 = iota // between frames
	rsData                 // inside a data frame's payload
	rsControl              // inside a control frame's payload
)

// outCap bounds the output queue. It holds at most one frame partly handed
// to the driver, one Pong not started yet and one Close frame, each at most
// 6+125 bytes (RFC 6455 §5.5: control payloads are ≤ 125 bytes).
const outCap = 3 * (6 + frame.MaxControlPayload)

// maxInflateBuffer bounds Config.InflateBufferSize.
const maxInflateBuffer = 16 << 20

// Conn is the connection state machine. Create it with New, or embed it
// and call Init. See the package documentation for how a driver uses it.
//
// A Conn holds about 280 bytes of fixed state, plus the inflate buffer
// when Config.Inflater is set. The buffers of control frames (about 650
// bytes) are taken from a shared pool while a control frame is received,
// queued or built, and returned once nothing in them is live, so an idle
// connection does not hold them.
type Conn struct {
	// The Config, kept as the fields used after Init (the limits are kept
	// resolved below).
	inflater  Inflater
	keys      *mask.KeySource // Config.MaskKeys
	cfgMaxMsg int64           // Config.MaxMessageSize, for SetMaxMessageSize

	maxMsg   int64 // resolved limits; math.MaxInt64 for none
	maxFrame int64
	maxFrags int
	infBuf   []byte

	// Read side.
	hdr        frame.Header // the current frame
	remaining  int64        // payload bytes of the current frame not consumed yet
	keyPos     int          // masking key index of the next payload byte
	msgOpen    bool         // a data message is being received
	msgOp      frame.Opcode // its opcode (OpText or OpBinary)
	msgFirst   bool         // the next data event is the message's first
	compressed bool         // the message is being inflated
	infPending bool         // the Inflater filled infBuf: more output may be pending
	rstate     uint8
	wantMasked bool  // incoming frames must be masked (server role)
	tailPos    int   // bytes of the deflate tail fed at message end
	msgSize    int64 // payload bytes delivered for the message
	msgFrags   int   // frames of the message so far
	utf        utf8.Validator
	// Write side (beside utf, which leaves room for it).
	wOpen  bool // a fragmented message is being sent
	role   Role
	rsv    frame.Flags // Config.AllowedRSV
	ctlLen int

	// Closing handshake (RFC 6455 §7).
	closeSent  bool
	closeRecv  bool
	initiator  Initiator
	sentCode   frame.CloseCode
	recvCode   frame.CloseCode
	recvReason []byte // aliases cold.recvBuf
	err        error

	// Output queue: out[outHead:outTail] is pending; pongAt is the offset
	// of a queued Pong no byte of which was handed out yet, or -1.
	outHead, outTail, pongAt int

	// cold holds the control-frame buffers; nil while no control frame is
	// being received, queued or built (see buffers), so that an idle
	// connection does not carry them.
	cold *coldBufs
}

// coldBufs are the buffers a Conn needs only around control frames: the
// payload being received (ctl), the peer's Close reason (recvBuf), a
// payload being built (scratch) and the output queue (out). They come from
// coldPool when needed and go back at the start of the next Next call once
// nothing in them is live, so thousands of idle connections share a few.
type coldBufs struct {
	ctl     [frame.MaxControlPayload]byte
	recvBuf [frame.MaxCloseReason]byte
	scratch [frame.MaxControlPayload]byte
	out     [outCap]byte
}

var coldPool = sync.Pool{New: func() any { return new(coldBufs) }}

// buffers returns c's control-frame buffers, taking them from the pool if
// c holds none.
func (c *Conn) buffers() *coldBufs {
	if c.cold == nil {
		c.cold = coldPool.Get().(*coldBufs)
	}
	return c.cold
}

// releaseCold returns the control-frame buffers to the pool when nothing
// in them is live: no control payload being received (the last event's
// Data was valid only until this call), nothing queued, no Close reason
// received (CloseReceived returns it until Reset).
func (c *Conn) releaseCold() {
	if c.cold != nil && c.rstate != rsControl && c.outHead == c.outTail && !c.closeRecv {
		coldPool.Put(c.cold)
		c.cold = nil
	}
}

// deflateTail is what a permessage-deflate sender strips from the end of
// every compressed message (RFC 7692 §7.2.1) and the receiver appends.
var deflateTail = [4]byte{0x00, 0x00, 0xff, 0xff}

// New validates cfg and returns a Conn in the open state.
func New(cfg Config) (*Conn, error) {
	if err := checkConfig(&cfg); err != nil {
		return nil, err
	}
	c := new(Conn)
	if err := c.Init(cfg); err != nil {
		return nil, err
	}
	return c, nil
}

func checkConfig(cfg *Config) error {
	if cfg.Role != Client && cfg.Role != Server {
		return ErrBadRole
	}
	if cfg.AllowedRSV&^(frame.RSV1|frame.RSV2|frame.RSV3) != 0 {
		return fmt.Errorf("%w: AllowedRSV holds bits other than RSV1-3", ErrBadConfig)
	}
	if cfg.Inflater != nil && cfg.AllowedRSV&frame.RSV1 == 0 {
		return fmt.Errorf("%w: Inflater set but RSV1 not in AllowedRSV", ErrBadConfig)
	}
	if cfg.InflateBufferSize < 0 || cfg.InflateBufferSize > maxInflateBuffer {
		return fmt.Errorf("%w: InflateBufferSize %d outside 0..%d", ErrBadConfig, cfg.InflateBufferSize, maxInflateBuffer)
	}
	return nil
}

// Init validates cfg (before allocating anything) and puts c into the open
// state, for a Conn embedded in a larger struct.
func (c *Conn) Init(cfg Config) error {
	if err := checkConfig(&cfg); err != nil {
		return err
	}
	c.inflater, c.keys, c.cfgMaxMsg = cfg.Inflater, cfg.MaskKeys, cfg.MaxMessageSize
	c.role, c.rsv = cfg.Role, cfg.AllowedRSV
	c.maxMsg = limit(cfg.MaxMessageSize, DefaultMaxMessageSize)
	c.maxFrame = limit(cfg.MaxFrameSize, c.maxMsg)
	c.maxFrags = int(limit(int64(cfg.MaxFragments), DefaultMaxFragments))
	c.wantMasked = cfg.Role == Server
	if cfg.Inflater != nil {
		size := cfg.InflateBufferSize
		if size == 0 {
			size = DefaultInflateBufferSize
		}
		if cap(c.infBuf) >= size {
			c.infBuf = c.infBuf[:size]
		} else {
			c.infBuf = make([]byte, size)
		}
	} else {
		c.infBuf = nil
	}
	c.Reset()
	return nil
}

// Reset puts c back into the open state with the same Config, dropping all
// state, queued output and any message in progress. The Inflater's own
// state is its owner's to reset.
func (c *Conn) Reset() {
	c.rstate = rsHeader
	c.hdr = frame.Header{}
	c.remaining, c.keyPos = 0, 0
	c.msgOpen, c.msgOp, c.msgFirst = false, 0, false
	c.compressed, c.infPending, c.tailPos = false, false, 0
	c.msgSize, c.msgFrags = 0, 0
	c.utf.Reset()
	c.ctlLen = 0
	c.closeSent, c.closeRecv, c.initiator = false, false, None
	c.sentCode, c.recvCode, c.recvReason = 0, 0, nil
	c.err = nil
	c.wOpen = false
	c.outHead, c.outTail, c.pongAt = 0, 0, -1
	if c.cold != nil {
		coldPool.Put(c.cold)
		c.cold = nil
	}
}

// limit resolves a configured bound: 0 means def, a negative value none.
func limit(v, def int64) int64 {
	switch {
	case v == 0:
		return def
	case v < 0:
		return math.MaxInt64
	}
	return v
}

// SetMaxMessageSize changes the bound on a received message's size (as
// Config.MaxMessageSize, decompressed bytes for compressed messages) from
// the next frame header or inflated byte on; n ≤ 0 restores the configured
// bound. A driver uses it for limits that change during a connection.
func (c *Conn) SetMaxMessageSize(n int64) {
	if n <= 0 {
		n = c.cfgMaxMsg
	}
	c.maxMsg = limit(n, DefaultMaxMessageSize)
}

// Role returns the role c was configured with.
func (c *Conn) Role() Role { return c.role }

// Next parses the next event from in, the bytes received next from the peer,
// unmasking payload in place. It returns the event (Kind EventNone if none),
// how many bytes of in it consumed, and, when the connection has failed, an
// error.
//
// Next returns n == 0 and no event exactly when it needs more input: the
// driver keeps the unconsumed bytes, appends what it reads next and calls
// again. n > 0 with no event means progress without an event (for example a
// frame header was consumed); call again. Data events alias in.
//
// When the peer violates RFC 6455 (or a limit), Next "fails the WebSocket
// connection" (§7.1.7): it queues a Close frame with the status code in
// Pending (unless one was sent already), moves to StateClosed and returns an
// error; errors.As gives a *frame.ProtocolError with that code. The error is
// sticky: later calls return it again. After a Close frame was received,
// further input is ignored (consumed without events, RFC 6455 §5.5.1).
func (c *Conn) Next(in []byte) (ev Event, n int, err error) {
	c.releaseCold()
	if c.err != nil {
		return Event{}, 0, c.err
	}
	for {
		if c.closeRecv {
			// RFC 6455 §5.5.1: after sending a Close frame in response, an
			// endpoint considers the connection closed; the peer "MUST NOT
			// send any more data frames after sending a Close frame", and
			// anything that still arrives is discarded.
			return Event{}, len(in), nil
		}
		switch c.rstate {
		case rsHeader:
			h, hn, err := frame.ParseHeader(in[n:])
			if err != nil {
				if err == frame.ErrIncomplete {
					return Event{}, n, nil
				}
				return Event{}, n, c.fail(err)
			}
			n += hn
			if err := c.beginFrame(h); err != nil {
				return Event{}, n, c.fail(err)
			}
			if c.rstate == rsControl && c.remaining == 0 {
				c.rstate = rsHeader
				ev, err := c.control()
				return ev, n, err
			}
			if c.rstate == rsData && c.remaining == 0 && !c.compressed {
				c.rstate = rsHeader
				if ev, err := c.endFrame(in[n:n]); err != nil || ev.Kind != EventNone {
					return ev, n, err
				}
			}
		case rsData:
			if c.compressed {
				ev, k, err := c.inflate(in[n:])
				n += k
				if err != nil || ev.Kind != EventNone {
					return ev, n, err
				}
				if c.rstate == rsData && k == 0 && c.remaining > 0 && !c.infPending {
					return Event{}, n, nil // need more input
				}
				continue
			}
			k := int(min(c.remaining, int64(len(in)-n)))
			if k == 0 {
				return Event{}, n, nil
			}
			ev, err := c.data(in[n : n+k])
			return ev, n + k, err
		case rsControl:
			k := int(min(c.remaining, int64(len(in)-n)))
			if k == 0 {
				return Event{}, n, nil
			}
			ctl := c.buffers().ctl[:]
			p := ctl[c.ctlLen : c.ctlLen+copy(ctl[c.ctlLen:], in[n:n+k])]
			if c.hdr.Masked {
				c.keyPos = mask.Apply(c.hdr.Key, c.keyPos, p)
			}
			c.ctlLen += k
			c.remaining -= int64(k)
			n += k
			if c.remaining > 0 {
				return Event{}, n, nil
			}
			c.rstate = rsHeader
			ev, err := c.control()
			return ev, n, err
		}
	}
}

// beginFrame applies the per-frame rules to a new header and sets up the
// read state for its payload.
func (c *Conn) beginFrame(h frame.Header) error {
	allowed := c.rsv
	// RFC 7692 §6: RSV1 (the "Per-Message Compressed" bit) is set on the
	// first frame of a message only; an endpoint MUST fail the connection
	// on a control frame or a continuation frame with RSV1 (§6.1).
	if h.Opcode.IsControl() || h.Opcode == frame.OpContinuation {
		allowed &^= frame.RSV1
	}
	// RFC 6455 §5.1 (masking by role), §5.2 (reserved opcodes and bits),
	// §5.5 (control frames: FIN set, payload ≤ 125).
	if err := h.Check(c.wantMasked, allowed); err != nil {
		return err
	}
	c.hdr = h
	c.keyPos = 0
	c.remaining = h.Length
	if h.Opcode.IsControl() {
		c.rstate = rsControl
		c.ctlLen = 0
		return nil
	}
	switch h.Opcode {
	case frame.OpContinuation:
		// RFC 6455 §5.4: fragments after the first are continuation frames
		// of the message in progress; with none in progress this is a
		// protocol error.
		if !c.msgOpen {
			return frame.ErrUnexpectedContinuation
		}
	default: // OpText, OpBinary (Check refused reserved opcodes)
		// RFC 6455 §5.4: "the fragments of one message MUST NOT be
		// interleaved between the fragments of another message".
		if c.msgOpen {
			return frame.ErrMessageOpen
		}
		c.msgOpen, c.msgOp, c.msgFirst = true, h.Opcode, true
		c.msgSize, c.msgFrags = 0, 0
		c.compressed = h.RSV1 && c.inflater != nil
		c.infPending, c.tailPos = false, 0
		c.utf.Reset()
	}
	// RFC 6455 §10.4: limits on frame and message size, answered with 1009
	// (§7.4.1: "a message that is too big for it to process").
	if h.Length > c.maxFrame {
		return frame.ErrFrameTooBig
	}
	c.msgFrags++
	if c.msgFrags > c.maxFrags {
		return frame.ErrTooManyFragments
	}
	if !c.compressed && h.Length > c.maxMsg-c.msgSize {
		return frame.ErrMessageTooBig
	}
	c.rstate = rsData
	return nil
}

// data delivers p, the next raw payload bytes of an uncompressed data
// frame (len(p) ≤ c.remaining), unmasking them in place.
func (c *Conn) data(p []byte) (Event, error) {
	if c.hdr.Masked {
		c.keyPos = mask.Apply(c.hdr.Key, c.keyPos, p)
	}
	c.remaining -= int64(len(p))
	c.msgSize += int64(len(p))
	// RFC 6455 §8.1: fail fast on the first byte that cannot be UTF-8.
	if c.msgOp == frame.OpText && !c.utf.Write(p) {
		return Event{}, c.fail(frame.ErrInvalidUTF8)
	}
	if c.remaining > 0 {
		ev := Event{Kind: EventData, Opcode: c.msgOp, First: c.msgFirst, RSV: c.hdr.RSV(), Data: p}
		c.msgFirst = false
		return ev, nil
	}
	c.rstate = rsHeader
	return c.endFrame(p)
}

// endFrame finishes an uncompressed data frame whose last bytes are p
// (maybe none): the event for p, Final if the frame ends the message.
func (c *Conn) endFrame(p []byte) (Event, error) {
	if !c.hdr.Fin {
		if len(p) == 0 {
			return Event{}, nil
		}
		ev := Event{Kind: EventData, Opcode: c.msgOp, First: c.msgFirst, RSV: c.hdr.RSV(), Data: p}
		c.msgFirst = false
		return ev, nil
	}
	if c.msgOp == frame.OpText && !c.utf.Complete() {
		// A code point cut off by the end of the message.
		return Event{}, c.fail(frame.ErrInvalidUTF8)
	}
	ev := Event{Kind: EventData, Opcode: c.msgOp, First: c.msgFirst, Final: true, RSV: c.hdr.RSV(), Data: p}
	c.msgOpen, c.msgFirst = false, false
	return ev, nil
}

// errInflate wraps an Inflater failure (RFC 7692 §8: a corrupt compressed
// stream makes the payload invalid, 1007).
func errInflate(err error) error {
	return &frame.ProtocolError{Code: frame.CloseInvalidPayload, Reason: "inflate: " + err.Error()}
}

// errInflater reports an Inflater that broke its contract.
var errInflater = &frame.ProtocolError{Code: frame.CloseInternalError, Reason: "conn: Inflater made no progress or reported bad counts"}

// inflate moves a compressed message on: it feeds the Inflater payload bytes
// from in (unmasking exactly the bytes it consumed), the deflate tail at the
// end of the message, or nothing to drain pending output. It returns an
// event when there is output or the message ended, and how many bytes of in
// it consumed.
func (c *Conn) inflate(in []byte) (Event, int, error) {
	var src []byte
	raw := false
	switch {
	case c.remaining > 0:
		src = in[:min(c.remaining, int64(len(in)))]
		raw = true
		if len(src) == 0 && !c.infPending {
			return Event{}, 0, nil // need more input
		}
	case c.hdr.Fin && c.tailPos < len(deflateTail):
		src = deflateTail[c.tailPos:]
	case c.infPending:
		// drain with no input
	default:
		c.rstate = rsHeader
		return Event{}, 0, nil
	}
	if raw && c.hdr.Masked {
		mask.Apply(c.hdr.Key, c.keyPos, src)
	}
	nOut, nIn, err := c.inflater.Inflate(c.infBuf, src)
	if nIn < 0 || nIn > len(src) || nOut < 0 || nOut > len(c.infBuf) ||
		(nIn == 0 && nOut == 0 && err == nil && (len(src) > 0 || !c.infPending)) {
		return Event{}, 0, c.fail(errInflater)
	}
	consumed := 0
	if raw {
		if c.hdr.Masked {
			// Put the mask back on the bytes not consumed: they are
			// offered again with the next call.
			c.keyPos = (c.keyPos + nIn) & 3
			mask.Apply(c.hdr.Key, c.keyPos, src[nIn:])
		}
		c.remaining -= int64(nIn)
		consumed = nIn
	} else if len(src) > 0 {
		c.tailPos += nIn
	}
	out := c.infBuf[:nOut]
	// The output is checked before the Inflater's error, and UTF-8 up to
	// the limit before the limit, so that the verdict is decided by the
	// first offending byte whatever the chunking of input and output.
	//
	// MaxMessageSize counts decompressed bytes (RFC 7692 §8.1 leaves the
	// limit to the implementation; a small input may inflate enormously).
	if allowed := c.maxMsg - c.msgSize; int64(nOut) > allowed {
		if c.msgOp == frame.OpText && !c.utf.Write(out[:allowed]) {
			return Event{}, consumed, c.fail(frame.ErrInvalidUTF8)
		}
		return Event{}, consumed, c.fail(frame.ErrMessageTooBig)
	}
	c.msgSize += int64(nOut)
	if c.msgOp == frame.OpText && !c.utf.Write(out) {
		return Event{}, consumed, c.fail(frame.ErrInvalidUTF8)
	}
	if err != nil {
		return Event{}, consumed, c.fail(errInflate(err))
	}
	c.infPending = nOut == len(c.infBuf)
	final := false
	if c.remaining == 0 && !c.infPending && (!c.hdr.Fin || c.tailPos == len(deflateTail)) {
		c.rstate = rsHeader
		if c.hdr.Fin {
			if c.msgOp == frame.OpText && !c.utf.Complete() {
				return Event{}, consumed, c.fail(frame.ErrInvalidUTF8)
			}
			final = true
			c.msgOpen, c.compressed = false, false
			if e, ok := c.inflater.(MessageEnder); ok {
				// An Inflater that finds the message malformed only at its
				// end reports it here; the message fails, not the next one.
				if err := e.EndMessage(); err != nil {
					return Event{}, consumed, c.fail(errInflate(err))
				}
			}
		}
	}
	if nOut == 0 && !final {
		return Event{}, consumed, nil
	}
	ev := Event{Kind: EventData, Opcode: c.msgOp, First: c.msgFirst, Final: final, RSV: c.hdr.RSV(), Data: out}
	c.msgFirst = false
	return ev, consumed, nil
}

// control handles a complete control frame, payload in c.cold.ctl[:c.ctlLen].
func (c *Conn) control() (Event, error) {
	p := c.buffers().ctl[:c.ctlLen]
	rsv := c.hdr.RSV()
	switch c.hdr.Opcode {
	case frame.OpPing:
		// RFC 6455 §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST
		// send a Pong frame in response, unless it already received a
		// Close frame. It SHOULD respond with Pong frame as soon as is
		// practical." §5.5.3: the Pong "MUST have identical Application
		// data as found in the message body of the Ping frame". After our
		// Close frame was sent nothing more is sent.
		if !c.closeSent {
			c.queue(frame.OpPong, p)
		}
		return Event{Kind: EventPing, Opcode: frame.OpPing, RSV: rsv, Data: p}, nil
	case frame.OpPong:
		// RFC 6455 §5.5.3: "A response to an unsolicited Pong frame is not
		// expected."
		return Event{Kind: EventPong, Opcode: frame.OpPong, RSV: rsv, Data: p}, nil
	}
	// OpClose. RFC 6455 §5.5.1: code (2 bytes), then a UTF-8 reason; a
	// bad payload fails the connection (1002; 1007 for a reason that is not
	// UTF-8, §8.1).
	code, reason, err := frame.ParseClose(p)
	if err != nil {
		return Event{}, c.fail(err)
	}
	c.closeRecv = true
	c.recvCode = code
	c.recvReason = c.cold.recvBuf[:copy(c.cold.recvBuf[:], reason)]
	c.msgOpen = false // a message in progress is abandoned
	if !c.closeSent {
		// RFC 6455 §5.5.1: "If an endpoint receives a Close frame and did
		// not previously send a Close frame, the endpoint MUST send a Close
		// frame in response. (When sending a Close frame in response, the
		// endpoint typically echos the status code it received.)"
		c.initiator = Peer
		c.closeSent = true
		c.sentCode = code
		var payload []byte
		if code != frame.CloseNoStatus {
			payload = append(c.buffers().scratch[:0], byte(code>>8), byte(code))
		}
		c.queue(frame.OpClose, payload)
	}
	return Event{Kind: EventClose, Opcode: frame.OpClose, RSV: rsv, Data: c.recvReason, Code: code}, nil
}

// fail "fails the WebSocket connection" (RFC 6455 §7.1.7): it queues a
// Close frame with the status code of err unless one was sent, records err
// and returns it.
func (c *Conn) fail(err error) error {
	if c.err != nil {
		return c.err
	}
	c.err = err
	code := frame.CloseProtocolError
	reason := ""
	if pe, ok := err.(*frame.ProtocolError); ok {
		code, reason = pe.Code, pe.Reason
	}
	if !c.closeSent {
		// §7.1.7: "the endpoint MAY send a Close frame (with an
		// appropriate status code)" before closing the connection.
		if c.initiator == None {
			c.initiator = Local
		}
		c.closeSent = true
		c.sentCode = code
		if len(reason) > frame.MaxCloseReason {
			reason = reason[:frame.MaxCloseReason]
		}
		payload, perr := frame.AppendClose(c.buffers().scratch[:0], code, reason)
		if perr != nil { // code not sendable or reason not UTF-8: code only
			payload, _ = frame.AppendClose(c.buffers().scratch[:0], frame.CloseProtocolError, "")
			c.sentCode = frame.CloseProtocolError
		}
		c.queue(frame.OpClose, payload)
	}
	return err
}

// queue appends a control frame to the output queue, masked in the client
// role. A Pong replaces a queued Pong none of which was handed out yet
// (RFC 6455 §5.5.3: "an endpoint MAY elect to send a Pong frame for only
// the most recently processed Ping frame").
func (c *Conn) queue(op frame.Opcode, payload []byte) {
	if op == frame.OpPong && c.pongAt >= 0 {
		c.outTail = c.pongAt // a queued Pong not started is always last
		c.pongAt = -1
	}
	if c.outHead == c.outTail {
		c.outHead, c.outTail = 0, 0
	}
	need := 6 + len(payload)
	out := c.buffers().out[:]
	if c.outTail+need > len(out) {
		n := copy(out, out[c.outHead:c.outTail])
		if c.pongAt >= 0 {
			c.pongAt -= c.outHead
		}
		c.outHead, c.outTail = 0, n
	}
	flags, key := c.masking(0)
	if op == frame.OpPong {
		c.pongAt = c.outTail
	}
	b := frame.Append(out[c.outTail:c.outTail], op, flags, key, payload)
	c.outTail += len(b)
}

// PayloadRemaining returns how many payload bytes of the current data frame
// have not been consumed yet, when they may be read straight into their
// destination and handed to ReadPayload; it returns 0 between frames,
// inside control frames, and inside compressed messages (those go through
// Next).
func (c *Conn) PayloadRemaining() int64 {
	if c.err != nil || c.closeRecv || c.rstate != rsData || c.compressed {
		return 0
	}
	return c.remaining
}

// ReadPayload takes p, the next len(p) payload bytes of the current data
// frame that the driver read directly into their destination (len(p) ≤
// PayloadRemaining()), unmasks them in place, validates text, and returns
// the data event for them (Data is p; Final set when they end the message).
// Errors are those of Next. With len(p) > PayloadRemaining() it returns
// ErrReadPayload and changes nothing.
func (c *Conn) ReadPayload(p []byte) (ev Event, err error) {
	if c.err != nil {
		return Event{}, c.err
	}
	if int64(len(p)) > c.PayloadRemaining() {
		return Event{}, ErrReadPayload
	}
	if len(p) == 0 {
		return Event{}, nil
	}
	return c.data(p)
}

// Pending returns the bytes the machine wants sent: Pong answers, the Close
// reply, the Close frame that fails the connection. They are whole frames;
// the driver writes them between (never inside) its own frames and reports
// progress with Advance; it writes Pending before the frames it appends
// with AppendFrame, AppendHeader and AppendClose (so a Close frame is
// always last). The slice is valid until the next call to a method of c. At most a few hundred bytes are ever queued: Pongs that were
// not yet started are replaced by the latest one (RFC 6455 §5.5.3).
func (c *Conn) Pending() []byte {
	if c.cold == nil {
		return nil
	}
	return c.cold.out[c.outHead:c.outTail]
}

// Advance marks the first n bytes of Pending as sent. It panics if n is
// negative or larger than len(Pending()) (a driver bug, never peer input).
func (c *Conn) Advance(n int) {
	if n < 0 || n > c.outTail-c.outHead {
		panic("conn: Advance beyond Pending")
	}
	c.outHead += n
	if c.pongAt >= 0 && c.pongAt < c.outHead {
		c.pongAt = -1 // started: it must be completed as is
	}
	if c.outHead == c.outTail {
		c.outHead, c.outTail = 0, 0
	}
}

// checkWrite applies the sending rules to a frame the application wants to
// write and records it.
func (c *Conn) checkWrite(op frame.Opcode, flags frame.Flags, length int64) error {
	const rsvBits = frame.RSV1 | frame.RSV2 | frame.RSV3
	switch {
	case flags&frame.Mask != 0:
		return ErrWriteMaskFlag
	case flags&^(rsvBits|frame.More) != 0:
		return ErrWriteRSV
	case op.IsReserved():
		// RFC 6455 §5.2: opcodes 0x3-0x7 and 0xB-0xF are "reserved for
		// further" frames.
		return ErrWriteReservedOpcode
	case op == frame.OpClose:
		return ErrWriteBadClose
	case c.closeSent:
		// RFC 6455 §5.5.1: "The application MUST NOT send any more data
		// frames after sending a Close frame."
		return ErrWriteCloseSent
	case length < 0:
		return ErrWriteLength
	case flags&rsvBits&^c.rsv != 0:
		// RFC 6455 §5.2: "MUST be 0 unless an extension is negotiated that
		// defines meanings for non-zero values".
		return ErrWriteRSV
	}
	if op.IsControl() {
		// RFC 6455 §5.5: "All control frames MUST have a payload length of
		// 125 bytes or less and MUST NOT be fragmented."
		switch {
		case flags&frame.More != 0:
			return ErrWriteFragmentedControl
		case length > frame.MaxControlPayload:
			return ErrWriteControlTooLong
		case flags&frame.RSV1 != 0: // RFC 7692 §6.1: never on control frames
			return ErrWriteRSV
		}
		return nil
	}
	if op == frame.OpContinuation {
		if !c.wOpen {
			return ErrWriteNoMessage
		}
		if flags&frame.RSV1 != 0 { // RFC 7692 §6.1: first frame only
			return ErrWriteRSV
		}
	} else if c.wOpen {
		// RFC 6455 §5.4: fragments of different messages MUST NOT be
		// interleaved.
		return ErrWriteMessageOpen
	}
	c.wOpen = flags&frame.More != 0
	return nil
}

// masking adds frame.Mask to flags and picks the frame's key in the client
// role; a server's frames are not masked (RFC 6455 §5.1).
func (c *Conn) masking(flags frame.Flags) (frame.Flags, mask.Key) {
	if c.role != Client {
		return flags, mask.Key{}
	}
	// RFC 6455 §5.3: a fresh, unpredictable key per frame.
	return flags | frame.Mask, c.newKey()
}

// newKey returns a fresh masking key, from Config.MaskKeys when set.
func (c *Conn) newKey() mask.Key {
	if c.keys != nil {
		return c.keys.Next()
	}
	return mask.NewKey()
}

// AppendFrame appends one whole frame (header and payload, masked with a
// fresh key in the client role) to dst and returns the extended slice.
//
// op is the frame's opcode: frame.OpText or frame.OpBinary to start a
// message, frame.OpContinuation to continue one, frame.OpPing or
// frame.OpPong. flags may hold frame.More (FIN clear: more fragments
// follow) and the RSV bits granted by Config.AllowedRSV; masking follows the
// role, so frame.Mask is refused. Close frames are written with AppendClose.
//
// It refuses, with an ErrWrite* error and before appending any byte: a data
// frame while a fragmented message is open, a continuation while none is,
// a control frame with frame.More or a payload over 125 bytes, reserved
// opcodes, RSV bits not granted (RSV1 only on the first frame of a
// message), and anything after a Close frame was sent (RFC 6455 §5.5.1).
func (c *Conn) AppendFrame(dst []byte, op frame.Opcode, flags frame.Flags, payload []byte) ([]byte, error) {
	if err := c.checkWrite(op, flags, int64(len(payload))); err != nil {
		return dst, err
	}
	flags, key := c.masking(flags)
	return frame.Append(dst, op, flags, key, payload), nil
}

// AppendHeader is AppendFrame without the payload: it checks and records
// the frame like AppendFrame, appends only its header announcing length
// payload bytes, and returns the header. The caller then sends the payload,
// masked with h.Key when h.Masked (mask.Apply in as many chunks as it
// likes, e.g. while copying into its write buffer), so large payloads need
// no extra copy.
func (c *Conn) AppendHeader(dst []byte, op frame.Opcode, flags frame.Flags, length int64) ([]byte, frame.Header, error) {
	if err := c.checkWrite(op, flags, length); err != nil {
		return dst, frame.Header{}, err
	}
	flags, key := c.masking(flags)
	h := frame.NewHeader(op, flags, key, length)
	return frame.AppendHeader(dst, h), h, nil
}

// AppendClose appends a Close frame with code and reason (frame.CloseNoStatus:
// empty payload) and moves the closing handshake on: StateClosing with
// Initiator Local, or StateClosed when the peer's Close was received. It
// may be written while a fragmented message is open (the message is then
// abandoned). Errors: ErrWriteCloseSent if a Close frame was already sent or
// queued (the reply to the peer's Close is queued automatically), and those
// of frame.AppendClose. A queued Pong not yet started is dropped from
// Pending; the driver writes what remains in Pending before dst.
func (c *Conn) AppendClose(dst []byte, code frame.CloseCode, reason string) ([]byte, error) {
	if c.closeSent {
		return dst, ErrWriteCloseSent
	}
	payload, err := frame.AppendClose(c.buffers().scratch[:0], code, reason)
	if err != nil {
		return dst, err
	}
	flags, key := c.masking(0)
	dst = frame.Append(dst, frame.OpClose, flags, key, payload)
	if c.pongAt >= 0 {
		// A queued Pong nobody started writing is dropped: nothing may
		// follow our Close frame.
		c.outTail, c.pongAt = c.pongAt, -1
		if c.outHead == c.outTail {
			c.outHead, c.outTail = 0, 0
		}
	}
	c.closeSent = true
	c.sentCode = code
	c.wOpen = false
	if c.initiator == None {
		c.initiator = Local
	}
	return dst, nil
}

// Fail fails the connection from the local side (RFC 6455 §7.1.7), e.g. for
// a policy violation (1008) the application detected: it queues a Close
// frame with code and reason in Pending unless one was sent, moves to
// StateClosed, makes Next return the error from now on, and returns it (a
// *frame.ProtocolError with code). If the connection had already failed,
// it returns that error and changes nothing.
func (c *Conn) Fail(code frame.CloseCode, reason string) error {
	if c.err != nil {
		return c.err
	}
	return c.fail(&frame.ProtocolError{Code: code, Reason: reason})
}

// State returns the state of the closing handshake.
func (c *Conn) State() State {
	switch {
	case c.err != nil, c.closeSent && c.closeRecv:
		return StateClosed
	case c.closeSent, c.closeRecv:
		return StateClosing
	}
	return StateOpen
}

// Initiator returns which side sent the first Close frame (None while
// open).
func (c *Conn) Initiator() Initiator { return c.initiator }

// CloseSent reports whether a Close frame was sent (appended or queued),
// and its code.
func (c *Conn) CloseSent() (code frame.CloseCode, ok bool) { return c.sentCode, c.closeSent }

// CloseReceived reports whether a Close frame was received, with its code
// and reason (valid until Reset).
func (c *Conn) CloseReceived() (code frame.CloseCode, reason []byte, ok bool) {
	return c.recvCode, c.recvReason, c.closeRecv
}

// Err returns the error that failed the connection, or nil.
func (c *Conn) Err() error { return c.err }

// Receiving reports whether a message is being received: its first frame
// arrived and its final frame's payload not yet fully.
func (c *Conn) Receiving() bool { return c.msgOpen }

// Sending reports whether a fragmented message is being sent (a data frame
// with frame.More was written and its final frame was not).
func (c *Conn) Sending() bool { return c.wOpen }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
