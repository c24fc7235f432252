package autobahn

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"unicode/utf8"
)

// Verdict is the outcome of one case, spelled as the Autobahn testsuite
// spells it in its reports.
type Verdict string

// The verdicts of the Autobahn testsuite. Behavior takes OK, NON-STRICT,
// FAILED, INFORMATIONAL or UNIMPLEMENTED; behaviorClose takes OK, FAILED,
// WRONG CODE, UNCLEAN, FAILED BY CLIENT or INFORMATIONAL.
const (
	OK             Verdict = "OK"
	NonStrict      Verdict = "NON-STRICT"
	Failed         Verdict = "FAILED"
	WrongCode      Verdict = "WRONG CODE"
	Unclean        Verdict = "UNCLEAN"
	FailedByClient Verdict = "FAILED BY CLIENT"
	Informational  Verdict = "INFORMATIONAL"
	Unimplemented  Verdict = "UNIMPLEMENTED"
)

// Passing reports whether v is acceptable for a strict conformance gate:
// only OK and INFORMATIONAL are.
func (v Verdict) Passing() bool { return v == OK || v == Informational }

// event is one observation the fuzzer records during a case: an echoed
// message, a pong, or a timeout marker the case script inserts when it
// waited and the connection was still open.
type event struct {
	Kind   string // "message", "pong" or "timeout"
	Data   []byte // payload of a message or pong
	Binary bool   // message only: opcode was binary
	Tag    string // timeout only: which wait elapsed ("A", "B")
}

// message is an expected or observed data message.
func message(payload []byte, binary bool) event {
	return event{Kind: "message", Data: payload, Binary: binary}
}

// text is an expected text message.
func text(s string) event { return message([]byte(s), false) }

// pong is an expected or observed pong.
func pong(payload []byte) event { return event{Kind: "pong", Data: payload} }

// timeout is the marker a case records when a wait elapsed with the
// connection still open.
func timeout(tag string) event { return event{Kind: "timeout", Tag: tag} }

func (e event) equal(o event) bool {
	if e.Kind != o.Kind || e.Tag != o.Tag || e.Binary != o.Binary {
		return false
	}
	return bytes.Equal(e.Data, o.Data)
}

func eventsEqual(a, b []event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].equal(b[i]) {
			return false
		}
	}
	return true
}

// logData renders a payload for a report the way the testsuite does: the
// text itself when it is UTF-8 (cut to about 64 bytes), hex otherwise.
func logData(p []byte) string {
	const maxLen = 64
	const ell = " ..."
	if len(p) > maxLen-len(ell) {
		cut := p[:min(maxLen, len(p))]
		if utf8.Valid(p) {
			for len(cut) > 0 && !utf8.Valid(cut) {
				cut = cut[:len(cut)-1]
			}
			return string(cut) + ell
		}
		return "0x" + hex.EncodeToString(cut) + ell
	}
	if utf8.Valid(p) {
		return string(p)
	}
	return "0x" + hex.EncodeToString(p)
}

// MarshalJSON renders an event as the testsuite's report tuples:
// ["message", payload, binary], ["pong", payload], ["timeout", tag].
func (e event) MarshalJSON() ([]byte, error) {
	switch e.Kind {
	case "message":
		return json.Marshal([]any{e.Kind, logData(e.Data), e.Binary})
	case "timeout":
		return json.Marshal([]any{e.Kind, e.Tag})
	default:
		return json.Marshal([]any{e.Kind, logData(e.Data)})
	}
}

// expectedClose is what a case expects of the closing of the connection.
type expectedClose struct {
	// ClosedByMe: the fuzzer is expected to send the first close frame.
	ClosedByMe bool `json:"closedByMe"`
	// CloseCodes the peer may send (a close without a code is always fine).
	CloseCodes []int `json:"closeCode"`
	// RequireClean: the full closing handshake must happen, and the server
	// must close TCP.
	RequireClean bool `json:"requireClean"`
	// WrongEndpointFatal: if the wrong endpoint started the close, the case
	// fails outright (the peer did not detect invalid UTF-8 at all).
	WrongEndpointFatal bool `json:"closedByWrongEndpointIsFatal,omitempty"`
}

// expectation is one acceptable event sequence and the verdict it earns.
type expectation struct {
	Verdict Verdict
	Events  []event
}
