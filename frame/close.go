package frame

import (
	"encoding/binary"
	"strconv"
	"unicode/utf8"
)

// CloseCode is the status code of a close frame (RFC 6455 §7.4).
type CloseCode uint16

// The status codes of RFC 6455 §7.4.1 and the IANA registry (§11.7).
const (
	CloseNormal             CloseCode = 1000
	CloseGoingAway          CloseCode = 1001
	CloseProtocolError      CloseCode = 1002
	CloseUnsupportedData    CloseCode = 1003
	CloseNoStatus           CloseCode = 1005 // never on the wire: the close frame had no code
	CloseAbnormal           CloseCode = 1006 // never on the wire: closed without a close frame
	CloseInvalidPayload     CloseCode = 1007
	ClosePolicyViolation    CloseCode = 1008
	CloseMessageTooBig      CloseCode = 1009
	CloseMandatoryExtension CloseCode = 1010
	CloseInternalError      CloseCode = 1011
	CloseServiceRestart     CloseCode = 1012
	CloseTryAgainLater      CloseCode = 1013
	CloseBadGateway         CloseCode = 1014
	CloseTLSHandshake       CloseCode = 1015 // never on the wire: the TLS handshake failed
)

// MaxCloseReason is the longest close reason in bytes: a control frame
// carries at most 125 bytes, two of which are the code (RFC 6455 §5.5).
const MaxCloseReason = MaxControlPayload - 2

// IsValidOnWire reports whether c may appear in a close frame: the codes
// 1000-1003 and 1007-1014 defined by RFC 6455 and the IANA registry, and
// 3000-4999 for libraries, frameworks and applications (§7.4.2). 1004 is
// reserved, and 1005, 1006 and 1015 "MUST NOT be set as a status code in a
// Close control frame by an endpoint" (§7.4.1).
func (c CloseCode) IsValidOnWire() bool {
	switch {
	case c >= 1000 && c <= 1003:
		return true
	case c >= 1007 && c <= 1014:
		return true
	case c >= 3000 && c <= 4999:
		return true
	}
	return false
}

var closeNames = [...]string{
	"normal closure", "going away", "protocol error", "unsupported data",
	"reserved (1004)", "no status received", "abnormal closure", "invalid payload data",
	"policy violation", "message too big", "mandatory extension", "internal error",
	"service restart", "try again later", "bad gateway", "TLS handshake failure",
}

// String returns the registered name of c with its number, e.g.
// "1000 (normal closure)", or just the number.
func (c CloseCode) String() string {
	n := strconv.Itoa(int(c))
	if c >= 1000 && int(c-1000) < len(closeNames) {
		return n + " (" + closeNames[c-1000] + ")"
	}
	return n
}

// ParseClose decodes the payload of a close frame, already unmasked
// (RFC 6455 §5.5.1). An empty payload means no status: it returns
// CloseNoStatus with no reason. reason aliases payload.
//
// Errors: a 1-byte payload (ErrCloseLength), a code not valid on the wire
// (ErrCloseCode), and a reason that is not UTF-8 (ErrInvalidUTF8: "the
// data is not guaranteed to be human readable" but §5.5.1 says it is UTF-8
// encoded, and a receiver fails the connection with 1007 per §8.1).
func ParseClose(payload []byte) (code CloseCode, reason []byte, err error) {
	switch len(payload) {
	case 0:
		return CloseNoStatus, nil, nil
	case 1:
		return 0, nil, ErrCloseLength
	}
	code = CloseCode(binary.BigEndian.Uint16(payload))
	if !code.IsValidOnWire() {
		return code, nil, ErrCloseCode
	}
	reason = payload[2:]
	if !utf8.Valid(reason) {
		return code, nil, ErrInvalidUTF8
	}
	return code, reason, nil
}

// AppendClose appends a close frame payload with code and reason to dst.
// CloseNoStatus appends nothing (a close frame with an empty body) and
// then reason must be empty. The code must be valid on the wire, and the
// reason at most MaxCloseReason bytes of UTF-8.
func AppendClose(dst []byte, code CloseCode, reason string) ([]byte, error) {
	if code == CloseNoStatus {
		if reason != "" {
			return dst, ErrCloseCode
		}
		return dst, nil
	}
	if !code.IsValidOnWire() {
		return dst, ErrCloseCode
	}
	if len(reason) > MaxCloseReason {
		return dst, ErrCloseReasonTooLong
	}
	if !utf8.ValidString(reason) {
		return dst, ErrInvalidUTF8
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...), nil
}
