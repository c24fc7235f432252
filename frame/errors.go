package frame

import "errors"

// ProtocolError is a violation of RFC 6455 together with the close code
// the endpoint sends when it fails the connection (§7.1.7). All sentinels
// of this package are *ProtocolError values: match one with errors.Is and
// read the code with errors.As.
type ProtocolError struct {
	Code   CloseCode
	Reason string
}

func (e *ProtocolError) Error() string { return "frame: " + e.Reason }

func protocolError(code CloseCode, reason string) *ProtocolError {
	return &ProtocolError{Code: code, Reason: reason}
}

// ErrIncomplete is returned by ParseHeader when the buffer holds only the
// beginning of a header. Nothing was consumed; call again with more bytes.
var ErrIncomplete = errors.New("frame: incomplete header")

// Violations of RFC 6455 §5, each with the close code to send.
var (
	ErrReservedOpcode     = protocolError(CloseProtocolError, "reserved opcode")
	ErrReservedBits       = protocolError(CloseProtocolError, "reserved bit set without a negotiated extension")
	ErrFragmentedControl  = protocolError(CloseProtocolError, "fragmented control frame")
	ErrControlTooLong     = protocolError(CloseProtocolError, "control frame payload longer than 125 bytes")
	ErrLengthOverflow     = protocolError(CloseProtocolError, "64-bit payload length with the most significant bit set")
	ErrNonMinimalLength   = protocolError(CloseProtocolError, "payload length not in its minimal encoding")
	ErrUnmasked           = protocolError(CloseProtocolError, "client frame is not masked")
	ErrMasked             = protocolError(CloseProtocolError, "server frame is masked")
	ErrCloseLength        = protocolError(CloseProtocolError, "close payload of 1 byte")
	ErrCloseCode          = protocolError(CloseProtocolError, "close code not valid on the wire")
	ErrCloseReasonTooLong = protocolError(CloseProtocolError, "close reason longer than 123 bytes")

	ErrUnexpectedContinuation = protocolError(CloseProtocolError, "continuation frame without a message in progress")
	ErrMessageOpen            = protocolError(CloseProtocolError, "new data frame while a fragmented message is in progress")

	ErrInvalidUTF8 = protocolError(CloseInvalidPayload, "invalid UTF-8 in text")

	ErrMessageTooBig    = protocolError(CloseMessageTooBig, "message exceeds the size limit")
	ErrFrameTooBig      = protocolError(CloseMessageTooBig, "frame exceeds the size limit")
	ErrTooManyFragments = protocolError(CloseMessageTooBig, "message has too many fragments")
)
