package websocket

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/hybi/websocket/handshake"
)

// Request is what AcceptOptions.OnRequest sees of an opening handshake, on
// both server paths (Accept and Upgrade), after the protocol checks passed
// and before the 101 response is written.
type Request struct {
	Method     string      // always GET: other methods are refused before
	URL        *url.URL    // the request target: Path, RawQuery (URL.Query())
	Header     http.Header // the request's header fields, keys canonical
	RemoteAddr string      // the client's address, host:port

	// Subprotocols are the subprotocols the client offered, in its order
	// of preference.
	Subprotocols []string
	// Subprotocol is the one the 101 response will name: on entry the
	// choice of AcceptOptions.Subprotocols ("" for none). The hook may set
	// it to another offered one, or to "" for none; a name the client did
	// not offer fails the handshake with 500.
	Subprotocol string
}

// RejectError is the refusal of a handshake by AcceptOptions.OnRequest:
// the client gets exactly this status, these header fields and this body
// (text/plain unless Header sets a Content-Type), and the connection is
// closed. Accept and Upgrade return it (wrapped).
type RejectError struct {
	Status int         // 300 to 599; anything else is sent as 500
	Header http.Header // extra fields, e.g. WWW-Authenticate or Retry-After
	Body   string
}

// Reject returns a *RejectError for OnRequest to return: for example
// Reject(401, http.Header{"WWW-Authenticate": {`Bearer realm="chat"`}},
// "token required").
func Reject(status int, header http.Header, body string) error {
	return &RejectError{Status: status, Header: header, Body: body}
}

func (e *RejectError) Error() string {
	return "websocket: handshake refused by OnRequest: " + strconv.Itoa(e.Status) + " " + http.StatusText(e.Status)
}

// refusal turns what OnRequest returned (or its panic) into the response
// and the error Accept and Upgrade return. A *RejectError is sent as it
// is; any other error is a 403 whose body does not show the error (it may
// hold internals); a panic is a 500.
func refusal(err error) (*RejectError, error) {
	var re *RejectError
	if errors.As(err, &re) {
		return re, err
	}
	if p, ok := err.(hookPanic); ok {
		return &RejectError{Status: http.StatusInternalServerError, Body: "internal error\n"},
			fmt.Errorf("websocket: OnRequest panicked: %v", p.v)
	}
	return &RejectError{Status: http.StatusForbidden, Body: "forbidden\n"},
		fmt.Errorf("websocket: handshake refused (403) by OnRequest: %w", err)
}

type hookPanic struct{ v any }

func (hookPanic) Error() string { return "OnRequest panicked" }

// runHook calls the hook, turning a panic into an error: bad input must
// not take the server down through an application's handler.
func runHook(hook func(*Request) error, r *Request) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = hookPanic{p}
		}
	}()
	return hook(r)
}

// offeredSubprotocols splits Sec-WebSocket-Protocol values (comma lists,
// already checked to be tokens).
func offeredSubprotocols(values []string) []string {
	var out []string
	for _, v := range values {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.Trim(p, " \t"); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// checkHTTP runs opts.OnRequest for Accept. It reports the refusal to
// write (nil when accepted) and the error to return.
func checkHTTP(r *http.Request, opts *AcceptOptions, res *handshake.Result) (*RejectError, error) {
	req := &Request{
		Method:       r.Method,
		URL:          r.URL,
		Header:       r.Header,
		RemoteAddr:   r.RemoteAddr,
		Subprotocols: offeredSubprotocols(r.Header.Values("Sec-WebSocket-Protocol")),
		Subprotocol:  res.Subprotocol,
	}
	if err := runHook(opts.OnRequest, req); err != nil {
		return refusal(err)
	}
	if req.Subprotocol != res.Subprotocol {
		if req.Subprotocol != "" && !slices.Contains(req.Subprotocols, req.Subprotocol) {
			return &RejectError{Status: http.StatusInternalServerError, Body: "internal error\n"},
				fmt.Errorf("websocket: OnRequest chose subprotocol %q, which the client did not offer", req.Subprotocol)
		}
		res.Subprotocol = req.Subprotocol
	}
	return nil, nil
}

// hookedUpgrade is Upgrade with AcceptOptions.OnRequest set: the hook runs as the
// handshake's Check on the raw head, and a refusal it chose replaces the
// response package handshake would write.
func hookedUpgrade(nc net.Conn, br *bufio.Reader, so *handshake.ServerOptions, hook func(*Request) error) (handshake.Result, error) {
	var re *RejectError
	var hookErr error
	so.Check = func(h *handshake.RequestHead) *handshake.Error {
		req := &Request{
			Method:      string(h.Method()),
			Header:      make(http.Header),
			Subprotocol: h.Subprotocol(),
		}
		if a := nc.RemoteAddr(); a != nil {
			req.RemoteAddr = a.String()
		}
		for n, v := range h.Fields() {
			req.Header.Add(string(n), string(v))
		}
		req.Subprotocols = offeredSubprotocols(req.Header.Values("Sec-WebSocket-Protocol"))
		u, err := url.ParseRequestURI(string(h.RequestURI()))
		if err != nil {
			// The target passed the handshake's checks; what url cannot
			// parse is refused as the malformed request it is.
			re, hookErr = &RejectError{Status: http.StatusBadRequest, Body: "bad request target\n"},
				fmt.Errorf("websocket: upgrade: request target: %w", err)
			return errHookRefused
		}
		req.URL = u
		if err := runHook(hook, req); err != nil {
			re, hookErr = refusal(err)
			return errHookRefused
		}
		h.SelectSubprotocol(req.Subprotocol)
		return nil
	}
	// The refusal replaces handshake's error response, so handshake
	// writes through a filter that drops it.
	w := &refusingConn{Conn: nc, drop: &re}
	res, err := handshake.Upgrade(br, w, so)
	if re != nil {
		_, _ = nc.Write(handshake.AppendRefusal(nil, re.Status, re.Header, []byte(re.Body)))
		return res, hookErr
	}
	return res, err
}

var errHookRefused = &handshake.Error{Status: http.StatusForbidden, Reason: "refused by OnRequest"}

// refusingConn drops writes once the hook refused.
type refusingConn struct {
	net.Conn
	drop **RejectError
}

func (c *refusingConn) Write(p []byte) (int, error) {
	if *c.drop != nil {
		return len(p), nil
	}
	return c.Conn.Write(p)
}
