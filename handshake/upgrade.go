package handshake

import (
	"bufio"
	"errors"
	"io"
	"iter"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Upgrade performs the server side of the opening handshake on a raw
// connection, without net/http: it reads the request head from br, checks it
// (RFC 6455 §4.2.1) against o (nil means the zero ServerOptions) and writes
// the 101 response (§4.2.2) or, on refusal, the error response to w.
//
// On success the bytes after the request head stay in br for the
// connection. A refused request returns an *Error after its response was
// written (the caller should then close the connection); an I/O error is
// returned unchanged (io.EOF if the client sent nothing, io.ErrUnexpectedEOF
// if it stopped mid-head). Header values are parsed in place in br's buffer:
// a successful upgrade allocates nothing unless the head is larger than br's
// buffer or o uses Extensions, Check, CheckOrigin or SelectSubprotocol.
//
// Set a read deadline on the underlying connection (or ServerOptions.Timeout)
// so a client that sends its head slowly cannot hold the connection.
func Upgrade(br *bufio.Reader, w io.Writer, o *ServerOptions) (Result, error) {
	if o != nil && o.Timeout > 0 {
		if d, ok := w.(interface{ SetReadDeadline(time.Time) error }); ok {
			if err := d.SetReadDeadline(time.Now().Add(o.Timeout)); err == nil {
				defer d.SetReadDeadline(time.Time{})
			}
		}
	}
	res, err := readRequest(br, o)
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	e, isErr := err.(*Error)
	switch {
	case err == nil:
		// res carries the accept key in acceptBuf.
		b := appendResponse((*bp)[:0], res.accept[:], res.Result, headerOf(o))
		*bp = b[:0]
		if _, err := w.Write(b); err != nil {
			return Result{}, err
		}
		return res.Result, nil
	case isErr:
		b := AppendErrorResponse((*bp)[:0], e)
		*bp = b[:0]
		_, _ = w.Write(b) // the refusal is the error that matters
		return Result{}, e
	default:
		return Result{}, err
	}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func headerOf(o *ServerOptions) http.Header {
	if o == nil {
		return nil
	}
	return o.Header
}

type rawResult struct {
	Result
	accept [28]byte
}

// readRequest reads and checks a request head from br.
func readRequest(br *bufio.Reader, o *ServerOptions) (rawResult, error) {
	var res rawResult
	limit, maxFields := DefaultMaxHeadBytes, DefaultMaxHeaders
	if o != nil && o.MaxHeadBytes > 0 {
		limit = o.MaxHeadBytes
	}
	if o != nil && o.MaxHeaders > 0 {
		maxFields = o.MaxHeaders
	}
	head, err := readHead(br, limit, ErrHeadTooLarge)
	if err != nil {
		return res, err
	}
	var r request[[]byte]
	if e := parseRequest(head, maxFields, &r); e != nil {
		return res, e
	}
	var e *Error
	res.Result, e = r.check(o)
	if e != nil {
		return res, e
	}
	if o != nil && o.Check != nil {
		h := RequestHead{head: head, subprotocol: res.Subprotocol}
		if e := o.Check(&h); e != nil {
			return res, e
		}
		if h.subprotocol != res.Subprotocol {
			if h.subprotocol != "" && !r.offered(h.subprotocol) {
				return res, newError(ErrBadSelection, strconv.Quote(h.subprotocol))
			}
			res.Subprotocol = h.subprotocol
		}
	}
	appendAcceptKey(res.accept[:0], r.key)
	return res, nil
}

// RequestHead is a read-only view of a request head read by Upgrade, for
// ServerOptions.Check. Its slices alias the bufio.Reader's buffer: copy what
// must outlive the call.
type RequestHead struct {
	head        []byte
	subprotocol string
}

// Subprotocol returns the subprotocol the 101 response will name: the one
// ServerOptions chose, or the last SelectSubprotocol.
func (h *RequestHead) Subprotocol() string { return h.subprotocol }

// SelectSubprotocol makes name the subprotocol of the 101 response,
// replacing ServerOptions' choice; "" names none. A name the client did
// not offer fails the handshake with ErrBadSelection (500).
func (h *RequestHead) SelectSubprotocol(name string) { h.subprotocol = name }

// Fields returns the head's header fields in order, names as sent and
// values trimmed of whitespace, both aliasing the head.
func (h *RequestHead) Fields() iter.Seq2[[]byte, []byte] {
	return func(yield func(name, value []byte) bool) {
		_, rest := nextLine(h.head)
		for {
			var line []byte
			line, rest = nextLine(rest)
			if len(line) == 0 {
				return
			}
			if n, v, ok := parseField(line); ok && !yield(n, v) {
				return
			}
		}
	}
}

// Method returns the request method (always "GET" in Check).
func (h *RequestHead) Method() []byte {
	line, _ := nextLine(h.head)
	return line[:indexByte(line, ' ')]
}

// RequestURI returns the request target, e.g. "/chat?room=1".
func (h *RequestHead) RequestURI() []byte {
	line, _ := nextLine(h.head)
	line = line[indexByte(line, ' ')+1:]
	return line[:indexByte(line, ' ')]
}

// Header returns the value of the first header field named name (ASCII
// case-insensitive), trimmed of whitespace, or nil.
func (h *RequestHead) Header(name string) []byte {
	_, rest := nextLine(h.head)
	for {
		var line []byte
		line, rest = nextLine(rest)
		if len(line) == 0 {
			return nil
		}
		if n, v, ok := parseField(line); ok && equalFold(n, name) {
			return v
		}
	}
}

// Bytes returns the whole head, request line through the empty line.
func (h *RequestHead) Bytes() []byte { return h.head }

// parseRequest parses a request head (RFC 7230 §3) into r.
func parseRequest(head []byte, maxFields int, r *request[[]byte]) *Error {
	line, rest := nextLine(head)
	// request-line = method SP request-target SP HTTP-version
	sp1 := indexByte(line, ' ')
	if sp1 <= 0 {
		return ErrMalformedRequest
	}
	sp2 := sp1 + 1 + indexByte(line[sp1+1:], ' ')
	if sp2 <= sp1+1 {
		return ErrMalformedRequest
	}
	r.method = line[:sp1]
	r.target = line[sp1+1 : sp2]
	if !isToken(r.method) {
		return ErrMalformedRequest
	}
	for _, c := range line[sp1+1 : sp2] {
		if c <= ' ' || c == 0x7f {
			return ErrMalformedRequest
		}
	}
	var ok bool
	if r.major, r.minor, ok = parseHTTPVersion(line[sp2+1:]); !ok {
		return ErrMalformedRequest
	}
	for n := 0; ; n++ {
		line, rest = nextLine(rest)
		if len(line) == 0 {
			return nil
		}
		if n == maxFields {
			return ErrTooManyHeaders
		}
		if line[0] == ' ' || line[0] == '\t' {
			return newError(ErrMalformedHeader, "obsolete line folding")
		}
		name, value, ok := parseField(line)
		if !ok {
			return newError(ErrMalformedHeader, sanitizeQuote(clip(line)))
		}
		switch len(name) {
		case len("Host"):
			if equalFold(name, "Host") {
				r.host = value
				r.nHost++
			}
		case len("Upgrade"):
			if equalFold(name, "Upgrade") && hasToken(value, "websocket") {
				r.upgradeOK = true
			}
		case len("Connection"):
			if equalFold(name, "Connection") && hasToken(value, "Upgrade") {
				r.connOK = true
			}
		case len("Sec-WebSocket-Key"):
			if equalFold(name, "Sec-WebSocket-Key") {
				r.key = value
				r.nKey++
			}
		case len("Sec-WebSocket-Version"):
			if equalFold(name, "Sec-WebSocket-Version") {
				r.version = value
				r.nVersion++
			}
		case len("Origin"):
			if equalFold(name, "Origin") {
				r.origin = value
				r.nOrigin++
			}
		case len("Sec-WebSocket-Protocol"):
			if equalFold(name, "Sec-WebSocket-Protocol") {
				if r.nProtocols == maxListLines {
					return newError(ErrBadSubprotocols, "too many header lines")
				}
				r.protocols[r.nProtocols] = value
				r.nProtocols++
			}
		case len("Sec-WebSocket-Extensions"):
			if equalFold(name, "Sec-WebSocket-Extensions") {
				if r.nExts == maxListLines {
					return newError(ErrBadExtensions, "too many header lines")
				}
				r.extensions[r.nExts] = value
				r.nExts++
			}
		}
	}
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// CheckRequest checks a request received by net/http (RFC 6455 §4.2.1)
// against o (nil means the zero ServerOptions) without writing anything. On
// success it returns what was negotiated and the Sec-WebSocket-Accept value;
// the caller hijacks the connection and writes AppendResponse's bytes. On
// refusal it returns an *Error for WriteError.
func CheckRequest(r *http.Request, o *ServerOptions) (res Result, accept string, err error) {
	var q request[string]
	q.method = r.Method
	// net/http keeps the request-target as sent in RequestURI; a request
	// built by hand has only URL.
	q.target = r.RequestURI
	if q.target == "" && r.URL != nil {
		q.target = r.URL.RequestURI()
	}
	q.major, q.minor = r.ProtoMajor, r.ProtoMinor
	if r.Host != "" {
		q.host, q.nHost = r.Host, 1
	}
	for _, v := range r.Header["Upgrade"] {
		q.upgradeOK = q.upgradeOK || hasToken(v, "websocket")
	}
	for _, v := range r.Header["Connection"] {
		q.connOK = q.connOK || hasToken(v, "Upgrade")
	}
	vs := r.Header["Sec-Websocket-Version"]
	if q.nVersion = len(vs); len(vs) > 0 {
		q.version = trimOWS(vs[0])
	}
	vs = r.Header["Sec-Websocket-Key"]
	if q.nKey = len(vs); len(vs) > 0 {
		q.key = trimOWS(vs[0])
	}
	vs = r.Header["Origin"]
	if q.nOrigin = len(vs); len(vs) > 0 {
		q.origin = trimOWS(vs[0])
	}
	vs = r.Header["Sec-Websocket-Protocol"]
	if len(vs) > maxListLines {
		return res, "", newError(ErrBadSubprotocols, "too many header lines")
	}
	q.nProtocols = copy(q.protocols[:], vs)
	vs = r.Header["Sec-Websocket-Extensions"]
	if len(vs) > maxListLines {
		return res, "", newError(ErrBadExtensions, "too many header lines")
	}
	q.nExts = copy(q.extensions[:], vs)
	res, e := q.check(o)
	if e != nil {
		return Result{}, "", e
	}
	return res, AcceptKey(q.key), nil
}

// WriteError writes the refusal err to w: for an *Error its status and
// one-line text/plain reason, "Allow: GET" on 405 and, on 426,
// "Sec-WebSocket-Version: 13" (RFC 6455 §4.2.2 step 4); any other error is a
// 500.
func WriteError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Reason: "internal error"}
	} else if e.Status < 400 || e.Status > 599 {
		e = &Error{Status: http.StatusInternalServerError, Reason: e.Reason}
	}
	h := w.Header()
	switch e.Status {
	case http.StatusMethodNotAllowed:
		h.Set("Allow", "GET")
	case http.StatusUpgradeRequired:
		h.Set("Sec-WebSocket-Version", "13")
		h.Set("Upgrade", "websocket")
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Status)
	_, _ = w.Write(append(appendHeaderValue(make([]byte, 0, len(e.Reason)+1), e.Reason), '\n'))
}
