package conn

import (
	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/internal/utf8"
	"github.com/hybi/websocket/mask"
)

// Conn is the connection state machine. Create it with New, or embed it
// and call Init. See the package documentation for how a driver uses it.
type Conn struct {
	cfg Config
	utf utf8.Validator
	_   mask.Key
	_   frame.Header
}

// New validates cfg and returns a Conn in the open state.
func New(cfg Config) (*Conn, error) {
	c := new(Conn)
	if err := c.Init(cfg); err != nil {
		return nil, err
	}
	return c, nil
}

// Init validates cfg (before allocating anything) and puts c into the open
// state, for a Conn embedded in a larger struct.
func (c *Conn) Init(cfg Config) error { panic("todo") }

// Reset puts c back into the open state with the same Config, dropping all
// state, queued output and any message in progress.
func (c *Conn) Reset() { panic("todo") }

// Role returns the role c was configured with.
func (c *Conn) Role() Role { return c.cfg.Role }

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
func (c *Conn) Next(in []byte) (ev Event, n int, err error) { panic("todo") }

// PayloadRemaining returns how many payload bytes of the current data frame
// have not been consumed yet, when they may be read straight into their
// destination and handed to ReadPayload; it returns 0 between frames,
// inside control frames, and inside compressed messages (those go through
// Next).
func (c *Conn) PayloadRemaining() int64 { panic("todo") }

// ReadPayload takes p, the next len(p) payload bytes of the current data
// frame that the driver read directly into their destination (len(p) ≤
// PayloadRemaining()), unmasks them in place, validates text, and returns
// the data event for them (Data is p; Final set when they end the message).
// Errors are those of Next. With len(p) > PayloadRemaining() it returns an
// error and changes nothing.
func (c *Conn) ReadPayload(p []byte) (ev Event, err error) { panic("todo") }

// Pending returns the bytes the machine wants sent: Pong answers, the Close
// reply, the Close frame that fails the connection. They are whole frames;
// the driver writes them between (never inside) its own frames and reports
// progress with Advance. The slice is valid until the next call to a
// method of c. At most a few hundred bytes are ever queued: Pongs that were
// not yet started are replaced by the latest one (RFC 6455 §5.5.3).
func (c *Conn) Pending() []byte { panic("todo") }

// Advance marks the first n bytes of Pending as sent.
func (c *Conn) Advance(n int) { panic("todo") }

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
	panic("todo")
}

// AppendHeader is AppendFrame without the payload: it checks and records
// the frame like AppendFrame, appends only its header announcing length
// payload bytes, and returns the header. The caller then sends the payload,
// masked with h.Key when h.Masked (mask.Apply in as many chunks as it
// likes, e.g. while copying into its write buffer), so large payloads need
// no extra copy.
func (c *Conn) AppendHeader(dst []byte, op frame.Opcode, flags frame.Flags, length int64) ([]byte, frame.Header, error) {
	panic("todo")
}

// AppendClose appends a Close frame with code and reason (frame.CloseNoStatus:
// empty payload) and moves the closing handshake on: StateClosing with
// Initiator Local, or StateClosed when the peer's Close was received. It
// may be written while a fragmented message is open (the message is then
// abandoned). Errors: ErrWriteCloseSent if a Close frame was already sent or
// queued (the reply to the peer's Close is queued automatically), and those
// of frame.AppendClose.
func (c *Conn) AppendClose(dst []byte, code frame.CloseCode, reason string) ([]byte, error) {
	panic("todo")
}

// Fail fails the connection from the local side (RFC 6455 §7.1.7), e.g. for
// a policy violation (1008) the application detected: it queues a Close
// frame with code and reason in Pending unless one was sent, moves to
// StateClosed, makes Next return the error from now on, and returns it (a
// *frame.ProtocolError with code).
func (c *Conn) Fail(code frame.CloseCode, reason string) error { panic("todo") }

// State returns the state of the closing handshake.
func (c *Conn) State() State { panic("todo") }

// Initiator returns which side sent the first Close frame (NoInitiator while
// open).
func (c *Conn) Initiator() Initiator { panic("todo") }

// CloseSent reports whether a Close frame was sent (appended or queued),
// and its code.
func (c *Conn) CloseSent() (code frame.CloseCode, ok bool) { panic("todo") }

// CloseReceived reports whether a Close frame was received, with its code
// and reason (valid until Reset).
func (c *Conn) CloseReceived() (code frame.CloseCode, reason []byte, ok bool) { panic("todo") }

// Err returns the error that failed the connection, or nil.
func (c *Conn) Err() error { panic("todo") }

// Receiving reports whether a fragmented message is being received (its
// final frame has not arrived yet).
func (c *Conn) Receiving() bool { panic("todo") }

// Sending reports whether a fragmented message is being sent (a data frame
// with frame.More was written and its final frame was not).
func (c *Conn) Sending() bool { panic("todo") }

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
