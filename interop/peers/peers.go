// Package peers adapts independent Go WebSocket libraries (gorilla/websocket,
// coder/websocket, gobwas/ws, lxzan/gws) to one small blocking interface, so
// that the interop tests can run the same scenarios against each of them in
// both roles, and cmd/peerecho can serve each library's echo server.
//
// The code here is ours, written from each library's documentation; the
// libraries are used the way their documentation shows, with the one
// exception noted on each adapter.
//
// The scenario protocol is shared with the Node, Python and browser peers
// (interop/node, interop/python, interop/browser): the same paths, payloads,
// close codes and scenario names. See docs/interop.md.
package peers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The constants of the scenario protocol, shared by every peer.
const (
	// Subprotocol is the only subprotocol every server supports; clients
	// offer "nope" first, then Subprotocol.
	Subprotocol = "interop.v1"
	// PeerPing is the payload a peer pings hybi with; HybiPing the payload
	// hybi pings a peer with.
	PeerPing = "peer-ping"
	HybiPing = "hybi-ping"
	// PongOK is the text message a side sends once it got the Pong that
	// echoes its Ping's payload exactly.
	PongOK = "pong-ok"
	// HeartbeatOK is what hybi sends on /heartbeat once its heartbeat got
	// HeartbeatPongs Pongs.
	HeartbeatOK    = "heartbeat-ok"
	HeartbeatPongs = 5
	// LateMessage is sent LateDelay after the connection opens on
	// /deadline (read-timeout scenario), while the other side reads with
	// short deadlines.
	LateMessage = "late"
	LateDelay   = 300 * time.Millisecond
	// RejectBody is the body of the 403 answer on /reject.
	RejectBody = "interop: rejected"
	// PeerCloseCode and PeerCloseReason: the Close a peer starts.
	PeerCloseCode   = 4001
	PeerCloseReason = "peer-bye"
	// HybiCloseCode and HybiCloseReason: the Close hybi starts.
	HybiCloseCode   = 4000
	HybiCloseReason = "hybi-bye"
	// FragmentedSize is the size of the text message a side sends in
	// several frames (send-fragmented, and on /fragments), and FragmentSize
	// the payload of each frame where the library lets us choose.
	FragmentedSize = 10000
	FragmentSize   = 1000
	// DeflateSize is the size of the compressible text message of the
	// compression scenarios.
	DeflateSize = 64 << 10
)

// Payload returns the deterministic payload of n bytes every peer uses:
// text is 'a'..'z' repeated, binary is byte(i*31+7), which covers every
// byte value.
func Payload(binary bool, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		if binary {
			p[i] = byte(i*31 + 7)
		} else {
			p[i] = byte('a' + i%26)
		}
	}
	return p
}

// UTF8Unit is repeated UTF8Repeat times to make the text of the
// utf8-fragmented scenario: 2-, 3- and 4-byte code points, 9 bytes a unit,
// so that FragmentSize frames cut code points in the middle (RFC 6455 §8.1:
// the whole message, not each frame, must be valid UTF-8).
const (
	UTF8Unit   = "é€😀"
	UTF8Repeat = 1111
)

// UTF8Payload returns the text of the utf8-fragmented scenario.
func UTF8Payload() []byte { return []byte(strings.Repeat(UTF8Unit, UTF8Repeat)) }

// Sizes are the echo sizes of every pair: the 7-bit, 16-bit and 64-bit
// length encodings of RFC 6455 §5.2 and their boundaries.
var Sizes = []int{0, 125, 126, 64 << 10, 1 << 20}

// Scenarios lists the peer-client scenarios in order: each is run against
// hybi serving, and reported as one Result.
func Scenarios() []string {
	var s []string
	for _, kind := range []string{"text", "binary"} {
		for _, n := range Sizes {
			s = append(s, "echo-"+kind+"-"+strconv.Itoa(n))
		}
	}
	return append(s,
		"send-fragmented", "recv-fragmented", "utf8-fragmented",
		"ping", "hybi-ping", "heartbeat", "read-timeout",
		"close-peer", "close-hybi",
		"subprotocol",
		"compression", "no-compression",
		"reject")
}

// ParseEcho splits "echo-text-125" into binary=false, n=125.
func ParseEcho(scenario string) (binary bool, n int, ok bool) {
	rest, found := strings.CutPrefix(scenario, "echo-")
	if !found {
		return false, 0, false
	}
	kind, num, found := strings.Cut(rest, "-")
	if !found || (kind != "text" && kind != "binary") {
		return false, 0, false
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return false, 0, false
	}
	return kind == "binary", n, true
}

// Result is what a peer client reports for one scenario (one JSON line from
// the Node, Python and browser drivers).
type Result struct {
	Scenario string `json:"scenario"`
	// OK is the peer's own verdict: the bytes it got back were the bytes it
	// expected. The test also checks the fields below.
	OK bool `json:"ok"`
	// Unsupported is set when the peer library cannot do the scenario at
	// all (for example a browser cannot send a Ping); Detail says why.
	Unsupported bool   `json:"unsupported,omitempty"`
	Error       string `json:"error,omitempty"`
	Detail      string `json:"detail,omitempty"`
	// Code and Reason of the Close frame the peer received.
	Code   int    `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Subprotocol and Extensions the handshake agreed on, as the peer saw
	// them.
	Subprotocol string `json:"subprotocol,omitempty"`
	Extensions  string `json:"extensions,omitempty"`
	// Status is the HTTP status of a refused handshake.
	Status int `json:"status,omitempty"`
	// Headers are a refused handshake's response header fields, names in
	// lower case, for the peers whose API shows them (Node ws, Python
	// websockets).
	Headers map[string]string `json:"headers,omitempty"`
}

// Event is what a peer server reports about a connection it served (one
// JSON line on the stdout of the Node and Python servers).
type Event struct {
	// Scenario is the connection's "s" query parameter.
	Scenario string `json:"scenario"`
	// Event is "close" (the peer received a Close frame: Code, Reason) or
	// "error" (Detail).
	Event  string `json:"event"`
	Code   int    `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// closeError is the close status a Conn reports when the peer's Close frame
// arrived.
type closeError struct {
	code   int
	reason string
}

func (e *closeError) Error() string {
	return fmt.Sprintf("peers: close %d %q", e.code, e.reason)
}

// CloseStatus returns the code and reason of the Close frame received, as
// reported by a Conn's Recv error.
func CloseStatus(err error) (code int, reason string, ok bool) {
	var ce *closeError
	if errors.As(err, &ce) {
		return ce.code, ce.reason, true
	}
	return 0, "", false
}

// Message is one data message.
type Message struct {
	Binary bool
	Data   []byte
}

// Conn is a connection made by one library, adapted to blocking calls.
// Recv is called by one goroutine; the other methods by one other goroutine.
type Conn interface {
	// Recv returns the next data message; after the peer's Close frame it
	// returns an error for which CloseStatus reports ok.
	Recv(ctx context.Context) (Message, error)
	Send(ctx context.Context, m Message) error
	// SendFragmented sends m in several frames (FragmentSize bytes each
	// where the library lets us choose).
	SendFragmented(ctx context.Context, m Message) error
	// PingWait sends a Ping carrying payload and waits for the Pong that
	// echoes it; it needs a concurrent Recv. It returns a description of
	// what was checked.
	PingWait(ctx context.Context, payload string) (string, error)
	// Close sends a Close frame with code and reason (the library then
	// finishes the closing handshake its own way).
	Close(ctx context.Context, code int, reason string) error
	Subprotocol() string
	Extensions() string
	// Abort tears the connection down.
	Abort()
}

// DialOptions and AcceptOptions are what the scenarios vary.
type DialOptions struct {
	Subprotocols []string
	Deflate      bool
}

// Lib is one Go library, in both roles.
type Lib struct {
	Name string
	// Dial connects; on a refused handshake it returns the HTTP status
	// (0 if the library does not expose it) and the body or reason it saw.
	Dial func(ctx context.Context, url string, o DialOptions) (c Conn, status int, reason string, err error)
	// Upgrade accepts a connection on an HTTP request with Subprotocol
	// supported and, when deflate is set and the library has it,
	// permessage-deflate.
	Upgrade func(w http.ResponseWriter, r *http.Request, deflate bool) (Conn, error)
	// Echo is the library's plain echo handler, for cmd/peerecho and the
	// Autobahn cross-check.
	Echo http.Handler
	// Deflate says whether the library has permessage-deflate.
	Deflate bool
}

// Libs returns the four Go peers.
func Libs() []Lib {
	return []Lib{gorillaLib(), coderLib(), gobwasLib(), gwsLib()}
}

// ByName returns the library called name.
func ByName(name string) (Lib, bool) {
	for _, l := range Libs() {
		if l.Name == name {
			return l, true
		}
	}
	return Lib{}, false
}
