package handshake

import (
	"net/http"
	"strconv"
	"time"
)

// ServerOptions configure the server side of the handshake. The zero value
// (or a nil *ServerOptions) accepts same-origin and Origin-less requests with
// no subprotocol and no extension.
type ServerOptions struct {
	// Subprotocols lists the subprotocols the server speaks, in its order of
	// preference: the first one the client also offered is chosen (RFC 6455
	// §4.2.2 step 5.5). Names compare case-sensitively.
	Subprotocols []string
	// SelectSubprotocol, if set, replaces Subprotocols: it gets the client's
	// offers in the client's order and returns one of them or "" for none.
	// Returning a name the client did not offer fails the handshake with
	// ErrBadSelection (500).
	SelectSubprotocol func(offered []string) string

	// Origin policy (RFC 6455 §4.2.2 step 4, §10.2). A request without Origin
	// (a non-browser client) is always allowed. Otherwise, in this order:
	// CheckOrigin, if set, decides alone; else the origin is allowed when
	// its host equals the Host header (same origin, default ports 80/443
	// implied by the Origin's scheme) or matches one of OriginPatterns.
	// A refusal is ErrOriginNotAllowed (403).
	//
	// A pattern is a host glob compared ASCII case-insensitively, where "*"
	// matches any run of characters: "*.example.com" matches
	// "a.b.example.com" but not "example.com"; "*" allows every origin. A
	// pattern without ':' is matched against the origin's host name; a
	// pattern with ':' against host:port as written in the Origin header.
	OriginPatterns []string
	// CheckOrigin gets the Origin and Host header values and reports whether
	// the origin may connect.
	CheckOrigin func(origin, host string) bool

	// Extensions negotiate the extensions offered in Sec-WebSocket-Extensions
	// (RFC 6455 §9.1). Offers of unknown extensions are ignored. When it is
	// empty the header is not even parsed.
	Extensions []ServerExtension

	// Header holds extra header fields for the 101 response. Fields the
	// handshake writes itself (Upgrade, Connection, Sec-WebSocket-*), the
	// framing fields Content-Length and Transfer-Encoding, and names that
	// are not tokens are skipped; CR, LF and NUL in values become spaces.
	Header http.Header

	// Check, if set, is called on the raw path (Upgrade) after every
	// protocol check passed and before the response is written, with a view
	// of the request head (valid only during the call), so a server can route
	// on the request target or authenticate on a header. A non-nil *Error
	// refuses the request with its status (4xx or 5xx; anything else
	// becomes 500) and reason. The net/http path has
	// no such hook: the caller holds the *http.Request.
	Check func(h *RequestHead) *Error

	// MaxHeadBytes bounds the request head (request line, fields and the
	// final empty line) on the raw path; 0 means DefaultMaxHeadBytes.
	// Exceeding it is ErrHeadTooLarge (431).
	MaxHeadBytes int
	// MaxHeaders bounds the number of header field lines on the raw path;
	// 0 means DefaultMaxHeaders. Exceeding it is ErrTooManyHeaders (431).
	MaxHeaders int

	// Timeout, if positive, bounds reading the request head on the raw path
	// (Upgrade): when its io.Writer also has a SetReadDeadline method (a
	// net.Conn does) the read deadline is set to now+Timeout before reading
	// and cleared before Upgrade returns, so a slow client (slowloris)
	// cannot hold the connection. With another writer the caller must set a
	// deadline itself; writes are never bounded here.
	Timeout time.Duration
}

// maxListLines bounds how many Sec-WebSocket-Protocol and
// Sec-WebSocket-Extensions header lines a request may carry.
const maxListLines = 8

// request holds what the checks need from a request, as strings (net/http)
// or as slices of the raw head (no copies).
type request[T text] struct {
	method                T
	target                T // request-target as sent (RFC 7230 §5.3)
	major, minor          int
	host                  T
	nHost                 int
	upgradeOK, connOK     bool
	version               T
	nVersion              int
	key                   T
	nKey                  int
	origin                T
	nOrigin               int
	protocols, extensions [maxListLines]T
	nProtocols, nExts     int
}

// check runs every check of RFC 6455 §4.2.1 and §4.2.2 and negotiates the
// subprotocol and extensions.
func (r *request[T]) check(o *ServerOptions) (Result, *Error) {
	var res Result
	// §4.2.1 item 1: "An HTTP/1.1 or higher GET request".
	if string(r.method) != "GET" {
		return res, ErrBadMethod
	}
	if r.major < 1 || r.major == 1 && r.minor < 1 {
		return res, ErrBadHTTPVersion
	}
	// §4.2.1 item 1 goes on: "including a "Request-URI" [RFC2616] that
	// should be interpreted as a /resource name/ defined in Section 3 (or an
	// absolute HTTP/HTTPS URI containing the /resource name/)", and a
	// handshake that does not match gets "an HTTP response with an
	// appropriate error code (such as 400 Bad Request)".
	authority, problem := checkTarget(r.target)
	if problem != "" {
		return res, newError(ErrBadRequestTarget, problem)
	}
	// §4.2.1 item 2: "A |Host| header field containing the server's
	// authority." RFC 7230 §5.4: 400 when missing or repeated.
	if r.nHost == 0 || len(r.host) == 0 {
		return res, ErrMissingHost
	}
	if r.nHost > 1 {
		return res, ErrDuplicateHost
	}
	// §4.2.1 item 3: "An |Upgrade| header field containing the value
	// "websocket", treated as an ASCII case-insensitive value."
	if !r.upgradeOK {
		return res, ErrBadUpgrade
	}
	// §4.2.1 item 4: "A |Connection| header field that includes the token
	// "Upgrade", treated as an ASCII case-insensitive value."
	if !r.connOK {
		return res, ErrBadConnection
	}
	// §4.2.1 item 6 and §4.2.2 step 4 (version): "If this version does not
	// match a version understood by the server, the server MUST abort ...
	// and instead send an appropriate HTTP error code (such as 426 Upgrade
	// Required) and a |Sec-WebSocket-Version| header field".
	if r.nVersion != 1 || string(r.version) != "13" {
		return res, ErrBadVersion
	}
	// §4.2.1 item 5: "A |Sec-WebSocket-Key| header field with a
	// base64-encoded value that, when decoded, is 16 bytes in length."
	// §11.3.1: it MUST NOT appear more than once in a request.
	switch {
	case r.nKey == 0:
		return res, newError(ErrBadKey, "missing")
	case r.nKey > 1:
		return res, newError(ErrBadKey, "repeated")
	case !validKey(r.key):
		return res, newError(ErrBadKey, "got "+sanitizeQuote(clip(r.key)))
	}
	if r.nOrigin > 1 {
		return res, newError(ErrOriginNotAllowed, "repeated Origin header")
	}
	if r.nOrigin == 1 {
		// RFC 7230 §5.5: the authority of an absolute-form target, not
		// the Host header, is the request's host (net/http does the same
		// for CheckRequest's r.Host).
		host := r.host
		if len(authority) > 0 {
			host = authority
		}
		if e := checkOrigin(r.origin, host, o); e != nil {
			return res, e
		}
	}
	if e := r.selectSubprotocol(o, &res); e != nil {
		return res, e
	}
	if e := r.negotiateExtensions(o, &res); e != nil {
		return res, e
	}
	return res, nil
}

// checkTarget checks a request-target (RFC 7230 §5.3) against RFC 6455 §3
// and §4.2.1 item 1. It accepts the origin-form of a /resource name/, "/"
// path [ "?" query ], and the absolute-form of an http, https, ws or wss URI
// with a non-empty host (and no userinfo: RFC 7230 §2.7.1), whose authority
// it returns. Either way every byte is printable ASCII, every "%" starts a
// valid %XX escape (RFC 3986 §2.1) and there is no fragment: §3 "Fragment
// identifiers are meaningless in the context of WebSocket URIs and MUST NOT
// be used on these URIs", and RFC 7230 §5.3 has none in a request-target
// either. It returns what is wrong, or "" and allocates nothing.
func checkTarget[T text](t T) (authority T, problem string) {
	rest := t
	if len(t) == 0 || t[0] != '/' {
		i := 0
		for i < len(t) && t[i] != ':' && t[i] != '/' {
			i++
		}
		scheme := t[:i]
		if i+2 >= len(t) || t[i] != ':' || t[i+1] != '/' || t[i+2] != '/' ||
			!equalFold(scheme, "http") && !equalFold(scheme, "https") &&
				!equalFold(scheme, "ws") && !equalFold(scheme, "wss") {
			return authority, sanitizeQuote(clip(t)) + ` is neither a "/" path nor an http, https, ws or wss URI`
		}
		rest = t[i+3:]
		j := 0
		for j < len(rest) && rest[j] != '/' && rest[j] != '?' {
			j++
		}
		authority, rest = rest[:j], rest[j:]
		if !validAuthority(authority) {
			return authority, "no valid host in " + sanitizeQuote(clip(t))
		}
	}
	for i := 0; i < len(rest); i++ {
		switch c := rest[i]; {
		case c == '#':
			return authority, "fragment in " + sanitizeQuote(clip(t))
		case c == '%':
			if i+2 >= len(rest) || !isHex(rest[i+1]) || !isHex(rest[i+2]) {
				return authority, "bad percent-encoding in " + sanitizeQuote(clip(t))
			}
			i += 2
		case c <= ' ' || c >= 0x7f:
			return authority, "byte that is not printable ASCII in " + sanitizeQuote(clip(t))
		}
	}
	return authority, ""
}

// validAuthority reports whether a is host [ ":" port ] (RFC 3986 §3.2.2,
// §3.2.3) with a non-empty host that is an IP-literal in brackets or a
// reg-name of unreserved and sub-delims characters (no percent-encoding),
// and a port of digits only.
func validAuthority[T text](a T) bool {
	host, port := splitHostPort(a)
	if len(host) == 0 {
		return false
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return false
		}
	}
	if host[0] == '[' {
		if len(host) < 3 || host[len(host)-1] != ']' {
			return false
		}
		for i := 1; i < len(host)-1; i++ {
			if c := host[i]; !isHex(c) && c != ':' && c != '.' {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(host); i++ {
		if !isRegNameChar(host[i]) {
			return false
		}
	}
	return true
}

// isRegNameChar reports whether c is unreserved or a sub-delim (RFC 3986
// §2.2, §2.3).
func isRegNameChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=':
		return true
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func clip[T text](s T) T {
	if len(s) > 40 {
		return s[:40]
	}
	return s
}

// selectSubprotocol implements §4.2.2 step 5.5: "Either a single value
// representing the subprotocol the server is ready to use or null. The
// value chosen MUST be derived from the client's handshake".
// offered reports whether the client offered subprotocol p.
func (r *request[T]) offered(p string) bool {
	for _, line := range r.protocols[:r.nProtocols] {
		for e, rest, ok := nextListElement(line); ok; e, rest, ok = nextListElement(rest) {
			if string(e) == p {
				return true
			}
		}
	}
	return false
}

func (r *request[T]) selectSubprotocol(o *ServerOptions, res *Result) *Error {
	if r.nProtocols == 0 {
		return nil
	}
	// §4.1 / §11.3.4: the elements are tokens.
	for _, line := range r.protocols[:r.nProtocols] {
		for e, rest, ok := nextListElement(line); ok; e, rest, ok = nextListElement(rest) {
			if len(e) > 0 && !isToken(e) {
				return newError(ErrBadSubprotocols, sanitizeQuote(clip(e))+" is not a token")
			}
		}
	}
	if o == nil {
		return nil
	}
	if o.SelectSubprotocol != nil {
		var offered []string
		for _, line := range r.protocols[:r.nProtocols] {
			for e, rest, ok := nextListElement(line); ok; e, rest, ok = nextListElement(rest) {
				if len(e) > 0 {
					offered = append(offered, string(e))
				}
			}
		}
		p := o.SelectSubprotocol(offered)
		if p == "" {
			return nil
		}
		for _, q := range offered {
			if q == p {
				res.Subprotocol = p
				return nil
			}
		}
		return newError(ErrBadSelection, strconv.Quote(p))
	}
	for _, p := range o.Subprotocols {
		for _, line := range r.protocols[:r.nProtocols] {
			for e, rest, ok := nextListElement(line); ok; e, rest, ok = nextListElement(rest) {
				if string(e) == p {
					res.Subprotocol = p
					return nil
				}
			}
		}
	}
	return nil
}

// negotiateExtensions parses the offers (§9.1) and hands every extension the
// server knows all its offers, in the client's order (§9.1: "the order of the
// elements is significant as it specifies the client's preference").
func (r *request[T]) negotiateExtensions(o *ServerOptions, res *Result) *Error {
	if o == nil || len(o.Extensions) == 0 || r.nExts == 0 {
		return nil
	}
	values := make([]string, r.nExts)
	for i, v := range r.extensions[:r.nExts] {
		values[i] = string(v)
	}
	offers, err := ParseExtensions(values)
	if err != nil {
		return err.(*Error)
	}
	for i, first := range offers {
		seen := false
		for _, prev := range offers[:i] {
			if equalFold(prev.Name, first.Name) {
				seen = true
				break
			}
		}
		if seen {
			continue
		}
		for _, se := range o.Extensions {
			name := se.Name()
			if !equalFold(name, first.Name) {
				continue
			}
			var same []Extension
			for _, e := range offers[i:] {
				if equalFold(e.Name, name) {
					same = append(same, e)
				}
			}
			if resp, ok := se.Negotiate(same); ok {
				if resp.Name == "" {
					resp.Name = name
				}
				res.Extensions = append(res.Extensions, resp)
			}
			break
		}
	}
	return nil
}

// checkOrigin applies the origin policy of o (see ServerOptions).
func checkOrigin[T text](origin, host T, o *ServerOptions) *Error {
	if o != nil && o.CheckOrigin != nil {
		if o.CheckOrigin(string(origin), string(host)) {
			return nil
		}
		return newError(ErrOriginNotAllowed, sanitizeQuote(clip(origin)))
	}
	scheme, authority, ok := splitOrigin(origin)
	if !ok {
		return newError(ErrOriginNotAllowed, sanitizeQuote(clip(origin)))
	}
	oh, op := splitHostPort(authority)
	hh, hp := splitHostPort(host)
	if equalFold(oh, hh) {
		def := defaultPort(scheme)
		if string(op) == string(hp) || len(op) == 0 && string(hp) == def || len(hp) == 0 && string(op) == def {
			return nil
		}
	}
	if o != nil {
		for _, p := range o.OriginPatterns {
			subject := oh
			for i := 0; i < len(p); i++ {
				if p[i] == ':' {
					subject = authority
					break
				}
			}
			if globMatch(p, subject) {
				return nil
			}
		}
	}
	return newError(ErrOriginNotAllowed, sanitizeQuote(clip(origin)))
}

// defaultPort returns the port an Origin's scheme implies.
func defaultPort[T text](scheme T) string {
	switch {
	case equalFold(scheme, "http"), equalFold(scheme, "ws"):
		return "80"
	case equalFold(scheme, "https"), equalFold(scheme, "wss"):
		return "443"
	}
	return ""
}

// splitOrigin splits a serialized origin "scheme://host[:port]" (RFC 6454
// §6.2). "null" and anything with a path are not origins.
func splitOrigin[T text](origin T) (scheme, authority T, ok bool) {
	for i := 0; i+2 < len(origin); i++ {
		if origin[i] == ':' {
			if origin[i+1] != '/' || origin[i+2] != '/' || i == 0 {
				return scheme, authority, false
			}
			scheme, authority = origin[:i], origin[i+3:]
			if len(authority) > 0 && authority[len(authority)-1] == '/' {
				authority = authority[:len(authority)-1]
			}
			for j := 0; j < len(authority); j++ {
				if c := authority[j]; c == '/' || c == '?' || c == '#' || c == '@' {
					return scheme, authority, false
				}
			}
			return scheme, authority, len(authority) > 0
		}
	}
	return scheme, authority, false
}

// splitHostPort splits "host[:port]", "[v6]:port" or "[v6]".
func splitHostPort[T text](s T) (host, port T) {
	if len(s) > 0 && s[0] == '[' {
		for i := 1; i < len(s); i++ {
			if s[i] == ']' {
				if i+1 < len(s) && s[i+1] == ':' {
					return s[:i+1], s[i+2:]
				}
				return s[:i+1], s[len(s):]
			}
		}
		return s, s[len(s):]
	}
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ':' {
			return s[:i], s[i+1:]
		}
	}
	return s, s[len(s):]
}

// globMatch reports whether s matches pattern, where '*' matches any run of
// bytes and other bytes compare ASCII case-insensitively.
func globMatch[T text](pattern string, s T) bool {
	p, i := 0, 0
	starP, starI := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			starP, starI = p, i
			p++
		case p < len(pattern) && lower(pattern[p]) == lower(s[i]):
			p++
			i++
		case starP >= 0:
			starI++
			p, i = starP+1, starI
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// skipResponseHeader reports whether an extra header field must not be
// written because the handshake writes it itself or the name is invalid.
func skipResponseHeader(name string) bool {
	if !isToken(name) {
		return true
	}
	for _, n := range [...]string{"Upgrade", "Connection", "Sec-WebSocket-Accept",
		"Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions", "Sec-WebSocket-Version",
		"Sec-WebSocket-Key", "Content-Length", "Transfer-Encoding"} {
		if equalFold(name, n) {
			return true
		}
	}
	return false
}

// appendHeaderValue appends v with CR, LF and NUL replaced by spaces.
func appendHeaderValue(dst []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || c == '\n' || c == 0 {
			c = ' '
		}
		dst = append(dst, c)
	}
	return dst
}

// AppendResponse appends the 101 Switching Protocols response of RFC 6455
// §4.2.2 step 5 to dst: Upgrade, Connection, Sec-WebSocket-Accept (accept,
// from AcceptKey), Sec-WebSocket-Protocol when res has a subprotocol,
// Sec-WebSocket-Extensions when res has extensions, then the fields of extra
// (see ServerOptions.Header) and the empty line.
func AppendResponse(dst []byte, accept string, res Result, extra http.Header) []byte {
	return appendResponse(dst, accept, res, extra)
}

func appendResponse[T text](dst []byte, accept T, res Result, extra http.Header) []byte {
	dst = append(dst, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	dst = append(dst, accept...)
	dst = append(dst, "\r\n"...)
	if res.Subprotocol != "" {
		dst = append(dst, "Sec-WebSocket-Protocol: "...)
		dst = appendHeaderValue(dst, res.Subprotocol)
		dst = append(dst, "\r\n"...)
	}
	if len(res.Extensions) > 0 {
		dst = append(dst, "Sec-WebSocket-Extensions: "...)
		dst = AppendExtensions(dst, res.Extensions)
		dst = append(dst, "\r\n"...)
	}
	dst = appendExtraHeader(dst, extra, skipResponseHeader)
	return append(dst, "\r\n"...)
}

func appendExtraHeader(dst []byte, h http.Header, skip func(string) bool) []byte {
	for name, values := range h {
		if skip(name) {
			continue
		}
		for _, v := range values {
			dst = append(dst, name...)
			dst = append(dst, ": "...)
			dst = appendHeaderValue(dst, v)
			dst = append(dst, "\r\n"...)
		}
	}
	return dst
}

// AppendRefusal appends a refusal chosen by the application: the status
// line (a status outside 300-599 becomes 500), header's fields (the
// framing fields Content-Length, Transfer-Encoding and Connection and
// names that are not tokens are skipped; CR, LF and NUL in values become
// spaces), Content-Type text/plain unless header sets one, Connection:
// close, and body.
func AppendRefusal(dst []byte, status int, header http.Header, body []byte) []byte {
	status = refusalStatus(status)
	text := http.StatusText(status)
	if text == "" {
		text = "Error"
	}
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, text...)
	dst = append(dst, "\r\n"...)
	dst = appendExtraHeader(dst, header, skipRefusalHeader)
	if header.Get("Content-Type") == "" {
		dst = append(dst, "Content-Type: text/plain; charset=utf-8\r\n"...)
	}
	dst = append(dst, "Connection: close\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	dst = append(dst, "\r\n\r\n"...)
	return append(dst, body...)
}

// WriteRefusal is AppendRefusal through net/http: the same status, fields
// and body, with the same fields skipped.
func WriteRefusal(w http.ResponseWriter, status int, header http.Header, body []byte) {
	h := w.Header()
	for name, values := range header {
		if !skipRefusalHeader(name) {
			h[http.CanonicalHeaderKey(name)] = values
		}
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	h.Set("Connection", "close")
	w.WriteHeader(refusalStatus(status))
	_, _ = w.Write(body)
}

// refusalStatus is status, or 500 when it is not a refusal (300-599).
func refusalStatus(status int) int {
	if status < 300 || status > 599 {
		return http.StatusInternalServerError
	}
	return status
}

func skipRefusalHeader(name string) bool {
	return !isToken(name) || equalFold(name, "Content-Length") ||
		equalFold(name, "Transfer-Encoding") || equalFold(name, "Connection")
}

// AppendErrorResponse appends the HTTP response refusing a handshake with e:
// its status, a one-line text/plain body with the reason, "Connection:
// close", "Allow: GET" on 405 and, on 426, "Sec-WebSocket-Version: 13" (RFC
// 6455 §4.2.2 step 4) with "Upgrade: websocket" (RFC 7231 §6.5.15).
func AppendErrorResponse(dst []byte, e *Error) []byte {
	if e.Status < 400 || e.Status > 599 {
		e = &Error{Status: http.StatusInternalServerError, Reason: e.Reason}
	}
	text := http.StatusText(e.Status)
	if text == "" {
		text = "Error"
	}
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(e.Status), 10)
	dst = append(dst, ' ')
	dst = append(dst, text...)
	dst = append(dst, "\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n"...)
	switch e.Status {
	case http.StatusMethodNotAllowed:
		dst = append(dst, "Allow: GET\r\n"...)
	case http.StatusUpgradeRequired:
		dst = append(dst, "Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n"...)
	}
	if e.Status != http.StatusUpgradeRequired {
		dst = append(dst, "Connection: close\r\n"...)
	}
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(e.Reason)+1), 10)
	dst = append(dst, "\r\n\r\n"...)
	dst = appendHeaderValue(dst, e.Reason)
	return append(dst, '\n')
}
