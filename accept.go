package websocket

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hybi/websocket/deflate"
	"github.com/hybi/websocket/handshake"
)

// Accept upgrades an HTTP/1.1 request received by net/http to a WebSocket
// connection (RFC 6455 §4.2): it checks the request, hijacks the
// connection and writes the 101 response. A refused request gets its HTTP
// error response (400, 403, 426…) and Accept returns the *handshake.Error.
// Bytes the client sent after its request head are kept for the Conn.
func Accept(w http.ResponseWriter, r *http.Request, opts *AcceptOptions) (*Conn, error) {
	if opts == nil {
		opts = &AcceptOptions{}
	}
	res, accept, err := handshake.CheckRequest(r, opts.server())
	if err != nil {
		handshake.WriteError(w, err)
		return nil, err
	}
	if opts.OnRequest != nil {
		if re, err := checkHTTP(r, opts, &res); re != nil {
			handshake.WriteRefusal(w, re.Status, re.Header, []byte(re.Body))
			return nil, fmt.Errorf("websocket: accept: %w", err)
		}
	}
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		if !errors.Is(err, http.ErrNotSupported) {
			return nil, fmt.Errorf("websocket: accept: %w", err)
		}
		if r.ProtoMajor >= 2 {
			http.Error(w, "websocket: HTTP/1.1 required", http.StatusHTTPVersionNotSupported)
			return nil, fmt.Errorf("websocket: accept: the request came over HTTP/%d, whose connections cannot be hijacked (WebSocket over HTTP/2, RFC 8441, is not supported): %w", r.ProtoMajor, err)
		}
		// HTTP/1.x, yet no Hijack: a middleware wrapped the
		// ResponseWriter in a type that hides it. That is the server's
		// fault, not the client's.
		http.Error(w, "websocket: the server cannot take over this connection", http.StatusInternalServerError)
		return nil, fmt.Errorf("websocket: accept: the http.ResponseWriter (%T) cannot be hijacked: a middleware that wraps it needs an Unwrap() http.ResponseWriter method (http.ResponseController follows it) or a Hijack method: %w", w, err)
	}
	// The http.Server may have set deadlines for the request; the
	// WebSocket connection has none unless the application sets them.
	nc.SetDeadline(time.Time{})
	b := handshake.AppendResponse(nil, accept, res, opts.Header)
	if _, err := nc.Write(b); err != nil {
		nc.Close()
		return nil, fmt.Errorf("websocket: accept: %w", err)
	}
	var buffered []byte
	if brw != nil && brw.Reader.Buffered() > 0 {
		buffered, _ = brw.Reader.Peek(brw.Reader.Buffered())
	}
	params, err := negotiated(res, deflate.ParseResponse)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("websocket: accept: %w", err)
	}
	c, err := newConn(nc, false, buffered, &opts.Options, res.Subprotocol, params)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// Upgrade performs the server side of the opening handshake on a raw
// connection without net/http: it reads the request from br (which must
// read from nc), writes the 101 response or, on refusal, the error
// response, and returns the Conn. Bytes after the request head already in
// br are used by the Conn, not lost. On error the caller closes nc.
func Upgrade(nc net.Conn, br *bufio.Reader, opts *AcceptOptions) (*Conn, error) {
	if opts == nil {
		opts = &AcceptOptions{}
	}
	if br == nil {
		// A pooled reader: the Conn copies what follows the head and
		// keeps no reference to it.
		br = headReaders.Get().(*bufio.Reader)
		br.Reset(nc)
		defer func() {
			br.Reset(nil)
			headReaders.Put(br)
		}()
	}
	var res handshake.Result
	var err error
	if opts.OnRequest != nil {
		res, err = hookedUpgrade(nc, br, opts.server(), opts.OnRequest)
	} else {
		res, err = handshake.Upgrade(br, nc, opts.server())
	}
	if err != nil {
		return nil, fmt.Errorf("websocket: upgrade: %w", err)
	}
	params, err := negotiated(res, deflate.ParseResponse)
	if err != nil {
		return nil, fmt.Errorf("websocket: upgrade: %w", err)
	}
	buffered, _ := br.Peek(br.Buffered())
	return newConn(nc, false, buffered, &opts.Options, res.Subprotocol, params)
}

// headReaders hold the readers Upgrade reads request heads with when the
// caller passes none. 1 KiB holds a typical browser request; a larger head
// still works (package handshake then copies it).
var headReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 1024) }}
