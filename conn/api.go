package conn

import (
	"errors"

	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/mask"
)

// Role says which end of the connection a Conn is (RFC 6455 §5.1, §5.3).
type Role uint8

const (
	// Client: outgoing frames are masked, incoming frames must not be.
	Client Role = iota + 1
	// Server: incoming frames must be masked, outgoing frames are not.
	Server
)

// String returns "client", "server" or "role(N)".
func (r Role) String() string {
	switch r {
	case Client:
		return "client"
	case Server:
		return "server"
	}
	return "role(" + itoa(int(r)) + ")"
}

// Defaults for the limits in Config.
const (
	// DefaultMaxMessageSize bounds a message's payload (after
	// decompression when an Inflater is set): 32 MiB.
	DefaultMaxMessageSize = 32 << 20
	// DefaultMaxFragments bounds the number of frames in one message:
	// 1<<17 (enough for a 4 MiB message sent in 64-byte fragments, as the
	// Autobahn testsuite does).
	DefaultMaxFragments = 1 << 17
	// DefaultInflateBufferSize is the size of the buffer decompressed data
	// is delivered from when Config.Inflater is set: 4 KiB.
	DefaultInflateBufferSize = 4 << 10
)

// Config configures a Conn. The zero value of every field but Role selects
// its documented default; a negative limit means "no limit".
type Config struct {
	// Role is Client or Server; required.
	Role Role

	// MaxMessageSize bounds the payload of one message in bytes, counted
	// after decompression (default DefaultMaxMessageSize, negative: no
	// limit). Exceeding it fails the connection with 1009
	// (frame.ErrMessageTooBig). Uncompressed messages are rejected as soon
	// as a frame header announces a length that would exceed it.
	MaxMessageSize int64

	// MaxFrameSize bounds the payload length of one data frame as
	// announced in its header (default: MaxMessageSize; negative: no
	// limit). Exceeding it fails the connection with 1009
	// (frame.ErrFrameTooBig).
	MaxFrameSize int64

	// MaxFragments bounds the number of frames in one message (default
	// DefaultMaxFragments, negative: no limit). Exceeding it fails the
	// connection with 1009 (frame.ErrTooManyFragments).
	MaxFragments int

	// AllowedRSV lists the RSV bits a negotiated extension owns (only
	// frame.RSV1, frame.RSV2 and frame.RSV3 may be set). Frames with other
	// RSV bits fail the connection with 1002 (RFC 6455 §5.2), and
	// AppendFrame refuses them. RSV1 is the per-message bit of
	// permessage-deflate (RFC 7692 §6): only the first frame of a data
	// message may carry it. RSV2 and RSV3, when granted, may appear on any
	// frame and are reported in Event.RSV.
	AllowedRSV frame.Flags

	// Inflater, when set, decompresses messages whose first frame has
	// RSV1 (AllowedRSV must include frame.RSV1). Nil: such messages are
	// delivered as they are, with frame.RSV1 in Event.RSV.
	Inflater Inflater

	// InflateBufferSize is the size of the buffer decompressed data is
	// delivered from (default DefaultInflateBufferSize); it is allocated
	// once, by New/Init, only when Inflater is set.
	InflateBufferSize int

	// MaskKeys, in the client role, is where the masking keys of the
	// frames c builds come from (nil: mask.NewKey). A KeySource is not
	// safe for concurrent use: give each Conn its own, which it then uses
	// only while the caller serializes its calls, as it must anyway. It
	// saves NewKey's shared pool per frame.
	MaskKeys *mask.KeySource
}

// Inflater decompresses the payload of compressed messages (RFC 7692 §7.2.2),
// push style. deflate.Decompressor, what package websocket plugs in for
// permessage-deflate, implements it and MessageEnder.
//
// Inflate decompresses from in into out and reports how many bytes it wrote
// and consumed. When it returns nOut == len(out), more output may be pending
// and Conn calls it again (with the input that is left, possibly none)
// before anything else; when nOut < len(out) it must have consumed all of in.
// At the end of each compressed message Conn feeds it the four bytes
// 00 00 ff ff (RFC 7692 §7.2.2) the sender removed, then, if the Inflater
// also implements MessageEnder, calls EndMessage. An error fails the
// connection with 1007 unless it is a *frame.ProtocolError (then its Code).
type Inflater interface {
	Inflate(out, in []byte) (nOut, nIn int, err error)
}

// MessageEnder is implemented by an Inflater that wants to know where a
// compressed message ends (for example to reset its window when context
// takeover is off, RFC 7692 §7.1.1). Conn calls EndMessage after the tail of
// a message has been inflated and all its output produced. An error it
// returns (a message that did not end at a DEFLATE block boundary, say)
// fails that message right there: 1007, or the code of a
// *frame.ProtocolError.
type MessageEnder interface {
	EndMessage() error
}

// EventKind says what an Event reports.
type EventKind uint8

const (
	// EventNone: no event (see Next).
	EventNone EventKind = iota
	// EventData: a chunk of a Text or Binary message.
	EventData
	// EventPing: a Ping frame; the Pong answer is already queued in
	// Pending (unless a Close frame was sent).
	EventPing
	// EventPong: a Pong frame (solicited or not; RFC 6455 §5.5.3 says an
	// unsolicited Pong needs no response).
	EventPong
	// EventClose: a Close frame. If we had not sent a Close frame yet, the
	// reply echoing Code is already queued in Pending (RFC 6455 §5.5.1).
	EventClose
)

// String returns the kind's name, e.g. "data".
func (k EventKind) String() string {
	switch k {
	case EventNone:
		return "none"
	case EventData:
		return "data"
	case EventPing:
		return "ping"
	case EventPong:
		return "pong"
	case EventClose:
		return "close"
	}
	return "event(" + itoa(int(k)) + ")"
}

// Event is something the peer sent.
//
// Data aliases the caller's input buffer (or, for control frames and
// decompressed data, a buffer inside Conn) and is valid until the next call
// of Next or ReadPayload.
type Event struct {
	Kind EventKind

	// Opcode: for EventData, the message's opcode (frame.OpText or
	// frame.OpBinary, never frame.OpContinuation); for control events,
	// frame.OpPing, frame.OpPong or frame.OpClose.
	Opcode frame.Opcode

	// First is set on the first EventData of a message, Final on its last.
	// Every message ends with exactly one event with Final set (its Data
	// may be empty); only that event may have empty Data.
	First, Final bool

	// RSV holds the RSV bits of the frame the event came from (for
	// EventData with an Inflater, Data is already decompressed).
	RSV frame.Flags

	// Data: message payload chunk (EventData), the Ping or Pong payload, or
	// the Close reason (valid UTF-8, at most 123 bytes).
	Data []byte

	// Code: for EventClose, the status code, frame.CloseNoStatus when the
	// Close frame had no payload.
	Code frame.CloseCode
}

// State is the state of the closing handshake (RFC 6455 §7).
type State uint8

const (
	// StateOpen: no Close frame sent or received.
	StateOpen State = iota
	// StateClosing: one side sent a Close frame (see Conn.Initiator).
	StateClosing
	// StateClosed: Close frames went both ways, or the connection failed;
	// the driver flushes Pending and closes the transport (the server
	// first, RFC 6455 §7.1.1).
	StateClosed
)

// String returns "open", "closing" or "closed".
func (s State) String() string {
	switch s {
	case StateOpen:
		return "open"
	case StateClosing:
		return "closing"
	case StateClosed:
		return "closed"
	}
	return "state(" + itoa(int(s)) + ")"
}

// Initiator says which side sent the first Close frame.
type Initiator uint8

const (
	// None: no Close frame was sent or received yet. For a connection
	// that ended, the transport failed before any was (code 1006).
	None Initiator = iota
	// Local: we sent (queued) the first Close frame, also when failing the
	// connection.
	Local
	// Peer: the peer's Close frame came first.
	Peer
)

// String returns "none", "local" or "peer".
func (i Initiator) String() string {
	switch i {
	case None:
		return "none"
	case Local:
		return "local"
	case Peer:
		return "peer"
	}
	return "initiator(" + itoa(int(i)) + ")"
}

// Errors of the sending side: AppendFrame, AppendHeader and AppendClose
// return them before producing any byte, and the Conn stays usable.
var (
	ErrWriteMessageOpen       = errors.New("conn: data frame while a fragmented message is open (send a continuation)")
	ErrWriteNoMessage         = errors.New("conn: continuation frame with no fragmented message open")
	ErrWriteFragmentedControl = errors.New("conn: control frame with FIN clear (frame.More)")
	ErrWriteControlTooLong    = errors.New("conn: control frame payload longer than 125 bytes")
	ErrWriteReservedOpcode    = errors.New("conn: reserved opcode")
	ErrWriteRSV               = errors.New("conn: RSV bit not granted by a negotiated extension")
	ErrWriteMaskFlag          = errors.New("conn: frame.Mask flag given; masking follows the role")
	ErrWriteCloseSent         = errors.New("conn: a close frame was already sent")
	ErrWriteBadClose          = errors.New("conn: close frames are written with AppendClose")
	ErrWriteLength            = errors.New("conn: negative payload length")
)

// ErrReadPayload is returned by ReadPayload when it is given more bytes than
// PayloadRemaining; nothing changes and the Conn stays usable.
var ErrReadPayload = errors.New("conn: ReadPayload beyond the current frame's payload")

// Errors of New, Init and Fail.
var (
	ErrBadRole   = errors.New("conn: Config.Role must be Client or Server")
	ErrBadConfig = errors.New("conn: invalid Config")
)
