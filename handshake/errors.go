package handshake

import (
	"net/http"
	"strconv"
	"strings"
)

// Error is a failed handshake: the HTTP status the server sent (or would
// send) and a one-line reason. The server entry points return it for every
// request they refuse; the reason is also the text/plain body of the error
// response.
type Error struct {
	Status int    // HTTP status: 400, 403, 405, 426, 431 or 500 from the checks, any from ServerOptions.Check
	Reason string // one line, no trailing period; the text/plain body of the refusal
}

// Error returns "handshake: <reason> (<status> <status text>)".
func (e *Error) Error() string {
	return "handshake: " + e.Reason + " (" + strconv.Itoa(e.Status) + " " + http.StatusText(e.Status) + ")"
}

// Is reports whether target is an *Error with the same Status whose Reason
// equals e.Reason or is a prefix of it followed by ": ". So a detailed error
// such as {400, "malformed Sec-WebSocket-Extensions: unterminated
// quoted-string"} matches the sentinel ErrBadExtensions.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || t == nil || e == nil || t.Status != e.Status {
		return false
	}
	return e.Reason == t.Reason || strings.HasPrefix(e.Reason, t.Reason+": ")
}

// newError returns a detailed copy of the sentinel s.
func newError(s *Error, detail string) *Error {
	return &Error{Status: s.Status, Reason: s.Reason + ": " + detail}
}

// Sentinel errors of the server checks (RFC 6455 §4.2.1, §4.2.2), matched with
// errors.Is. Detailed variants (reason "<sentinel reason>: <detail>") match too.
var (
	ErrMalformedRequest = &Error{http.StatusBadRequest, "malformed request line"}
	ErrBadMethod        = &Error{http.StatusMethodNotAllowed, "method must be GET"}
	ErrBadHTTPVersion   = &Error{http.StatusBadRequest, "HTTP version must be 1.1 or later"}
	ErrBadRequestTarget = &Error{http.StatusBadRequest, "request-target is not a resource name or absolute URI"}
	ErrMalformedHeader  = &Error{http.StatusBadRequest, "malformed header field"}
	ErrHeadTooLarge     = &Error{http.StatusRequestHeaderFieldsTooLarge, "request head too large"}
	ErrTooManyHeaders   = &Error{http.StatusRequestHeaderFieldsTooLarge, "too many header fields"}
	ErrMissingHost      = &Error{http.StatusBadRequest, "missing Host header"}
	ErrDuplicateHost    = &Error{http.StatusBadRequest, "more than one Host header"}
	ErrBadUpgrade       = &Error{http.StatusBadRequest, "Upgrade header must contain the token websocket"}
	ErrBadConnection    = &Error{http.StatusBadRequest, "Connection header must contain the token Upgrade"}
	ErrBadVersion       = &Error{http.StatusUpgradeRequired, "Sec-WebSocket-Version must be 13"}
	ErrBadKey           = &Error{http.StatusBadRequest, "Sec-WebSocket-Key must be one base64 value of 16 bytes"}
	ErrOriginNotAllowed = &Error{http.StatusForbidden, "origin not allowed"}
	ErrBadSubprotocols  = &Error{http.StatusBadRequest, "malformed Sec-WebSocket-Protocol"}
	ErrBadExtensions    = &Error{http.StatusBadRequest, "malformed Sec-WebSocket-Extensions"}
	ErrBadSelection     = &Error{http.StatusInternalServerError, "selected subprotocol was not offered"}
)
