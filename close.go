package websocket

import (
	"errors"
	"strconv"

	"github.com/hybi/websocket/frame"
)

// Initiator says which side started the end of a connection.
type Initiator uint8

const (
	// None: no closing handshake was started by either side; the transport
	// failed (EOF, connection reset, heartbeat timeout, CloseNow on a
	// connection that had not started closing). The code is 1006.
	None Initiator = iota
	// Local: this endpoint started the closing handshake (Close) or failed
	// the connection because the peer broke the protocol (RFC 6455 §7.1.7).
	Local
	// Peer: the peer sent the first Close frame.
	Peer
)

func (i Initiator) String() string {
	switch i {
	case None:
		return "none"
	case Local:
		return "local"
	case Peer:
		return "peer"
	}
	return "Initiator(" + strconv.Itoa(int(i)) + ")"
}

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
	Code frame.CloseCode
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
func CloseStatus(err error) frame.CloseCode {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}
