package websocket

import (
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/hybi/websocket/conn"
	"github.com/hybi/websocket/frame"
)

// Initiator says which side started the end of a connection. It is the
// state machine's type (package conn), so there is one.
type Initiator = conn.Initiator

const (
	// None: no closing handshake was started by either side; the transport
	// failed (EOF, connection reset, heartbeat timeout, CloseNow on a
	// connection that had not started closing). The code is 1006.
	None = conn.None
	// Local: this endpoint started the closing handshake (Close) or failed
	// the connection because the peer broke the protocol (RFC 6455 §7.1.7).
	Local = conn.Local
	// Peer: the peer sent the first Close frame.
	Peer = conn.Peer
)

// CloseFrames records which Close frames crossed the wire and in which
// order (RFC 6455 §7.1.2-§7.1.4).
type CloseFrames uint8

const (
	// NoCloseFrames: neither side's Close frame was exchanged.
	NoCloseFrames CloseFrames = iota
	// SentOnly: we sent a Close frame and never received the peer's.
	SentOnly
	// ReceivedOnly: the peer's Close frame arrived, ours was never sent.
	ReceivedOnly
	// SentThenReceived: we sent first and the peer answered (or both sides
	// sent at the same time: a simultaneous close looks like this on both
	// ends).
	SentThenReceived
	// ReceivedThenSent: the peer sent first and we echoed it.
	ReceivedThenSent
)

func (f CloseFrames) String() string {
	switch f {
	case NoCloseFrames:
		return "no close frames"
	case SentOnly:
		return "close sent, none received"
	case ReceivedOnly:
		return "close received, none sent"
	case SentThenReceived:
		return "close sent, then received"
	case ReceivedThenSent:
		return "close received, then sent"
	}
	return "CloseFrames(" + strconv.Itoa(int(f)) + ")"
}

// ErrHeartbeatTimeout is the Err of the *CloseError a connection ends with
// when PongTimeout passed after a heartbeat ping without any frame from the
// peer.
var ErrHeartbeatTimeout = errors.New("websocket: heartbeat timeout: no frame from the peer within PongTimeout after a ping")

// ErrCloseTimeout is the Err of the *CloseError when the closing handshake
// was started but the peer did not complete it within CloseTimeout.
var ErrCloseTimeout = errors.New("websocket: closing handshake timed out")

// CloseError describes how a connection ended. Every method of a closed Conn
// returns the same *CloseError.
//
//	cause                        Code        Initiator  Err
//	local Close(code, reason)    code        Local      nil
//	peer sent Close              peer's code Peer       nil
//	simultaneous close           our code    Local      nil
//	peer broke the protocol      1002/1007/… Local      *frame.ProtocolError
//	peer vanished (EOF)          1006        None       io.ErrUnexpectedEOF
//	connection reset             1006        None       the syscall error (ECONNRESET)
//	heartbeat timeout            1006        None       ErrHeartbeatTimeout
//	CloseNow                     1006        Local      net.ErrClosed
//
// Err is nil when the closing handshake completed normally.
type CloseError struct {
	// Code is the status code of the Close frame that started the closing
	// handshake: ours when Initiator is Local, the peer's when Peer.
	// CloseNoStatus (1005) if that frame had no code; CloseAbnormal (1006)
	// when no Close frame was exchanged.
	Code CloseCode
	// Reason is the reason text of that Close frame.
	Reason string
	// Initiator says who started the end of the connection.
	Initiator Initiator
	// Frames says which Close frames were sent and received, in order.
	Frames CloseFrames
	// Err is the underlying cause when the connection did not end with a
	// completed closing handshake, or nil.
	Err error
}

func (e *CloseError) Error() string {
	b := make([]byte, 0, 96)
	b = append(b, "websocket: closed by "...)
	b = append(b, e.Initiator.String()...)
	b = append(b, ": "...)
	b = append(b, e.Code.String()...)
	if e.Reason != "" {
		b = append(b, " "...)
		b = strconv.AppendQuote(b, e.Reason)
	}
	b = append(b, " ("...)
	b = append(b, e.Frames.String()...)
	b = append(b, ')')
	if e.Err != nil {
		b = append(b, ": "...)
		b = append(b, e.Err.Error()...)
	}
	return string(b)
}

// Unwrap returns Err, so errors.Is(err, io.ErrUnexpectedEOF),
// errors.Is(err, ErrHeartbeatTimeout) and errors.As(err, **frame.ProtocolError)
// see the cause.
func (e *CloseError) Unwrap() error { return e.Err }

// Is reports whether target is a *CloseError with the same Code, so
// errors.Is(err, &websocket.CloseError{Code: frame.CloseNormal}) matches
// any normal closure.
func (e *CloseError) Is(target error) bool {
	t, ok := target.(*CloseError)
	return ok && t.Code == e.Code
}

// CloseStatus returns the Code of the *CloseError in err's chain, or 0 when
// there is none (for example a timeout, which never closes a connection).
func CloseStatus(err error) CloseCode {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}

// ErrCloseSent is returned by a write of a data message (or Ping) after
// this side's Close frame went out (Close, a reply to the peer's Close, or
// a protocol failure) but before the connection ended: RFC 6455 §5.5.1
// allows no data after a Close frame. Once the connection ended, writes
// return its *CloseError instead.
var ErrCloseSent = conn.ErrWriteCloseSent

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
	c.endPings()
	c.mu.Lock()
	if c.hb != nil && c.hb.timer != nil {
		c.hb.timer.Stop()
	}
	c.mu.Unlock()
	c.io().closeTransport(c, ce)
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
func (c *Conn) Close(code CloseCode, reason string) error {
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
	if !c.sendClose(code, reason, deadline, timer.C) {
		return c.closeResult()
	}

	// 2. Wait for the peer's Close frame: either the active reader gets
	// it, or we read ourselves (see driver.awaitClose).
	c.io().awaitClose(c, deadline, timer.C)
	return c.closeResult()
}

// sendClose is the first step of Close: send our Close frame (unless one
// went out already: a reply to the peer's Close, or a failure). It reports
// whether the handshake goes on; if not, the connection has ended.
func (c *Conn) sendClose(code CloseCode, reason string, deadline time.Time, timer <-chan time.Time) bool {
	if !c.g.acquire(lockW, timer) {
		if c.closed() == nil {
			c.finish(c.stateError(ErrCloseTimeout))
		}
		return false
	}
	c.setWriteDeadline(deadline)
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
			if _, err = c.netWrite(b); err == nil {
				c.closeOnWire.Store(true)
			}
		}
		putChunk(buf)
	}
	c.unlockWrite()
	if err != nil {
		c.finish(c.stateError(err))
		return false
	}
	return true
}

// endBy ends the connection with ErrCloseTimeout at deadline unless it
// ended before: the bound of a closing handshake nobody waits for. The
// timer holds no goroutine until it fires.
func (c *Conn) endBy(deadline time.Time) {
	time.AfterFunc(time.Until(deadline), func() {
		if c.closed() == nil {
			c.finish(c.stateError(ErrCloseTimeout))
		}
	})
}

// closeNoWait starts the closing handshake like Close with a valid code
// and reason, but returns once the Close frame is sent: the reader (a Loop)
// completes the handshake, bounded by CloseTimeout.
func (c *Conn) closeNoWait(code CloseCode, reason string) {
	if c.closed() != nil || !c.closeCalled.CompareAndSwap(false, true) {
		return
	}
	deadline := time.Now().Add(c.opts.closeTimeout())
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	if c.sendClose(code, reason, deadline, timer.C) {
		c.endBy(deadline)
	}
}

func (c *Conn) closeResult() error {
	ce := c.closed()
	if ce == nil || ce.Err == nil {
		return nil
	}
	return ce
}
