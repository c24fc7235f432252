package handshake

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
)

// ClientOptions configure the client side of the handshake. A nil
// *ClientOptions means the zero value: no Origin, no subprotocol, no
// extension.
type ClientOptions struct {
	// Origin, if set, is sent as the Origin header (RFC 6455 §4.1 item 8;
	// browsers always send it, other clients MAY). A control character other
	// than HTAB in it is an error (RFC 7230 §3.2).
	Origin string
	// Subprotocols are offered in this order (§4.1 item 10). Each must be a
	// token.
	Subprotocols []string
	// Extensions are offered in this order (§4.1 item 11, §9.1), each
	// ClientExtension's Offers as separate list elements.
	Extensions []ClientExtension
	// Header holds extra request header fields. A Host field replaces the
	// URL's host in the Host header; fields the handshake writes itself
	// (Upgrade, Connection, Sec-WebSocket-*, and Origin when Origin is set)
	// are skipped. A name that is not a token, or a value with a control
	// character other than HTAB (CR, LF and NUL included), is an error
	// (RFC 7230 §3.2), reported before anything is written.
	Header http.Header
	// MaxHeadBytes bounds the response head; 0 means DefaultMaxHeadBytes.
	MaxHeadBytes int
	// MaxHeaders bounds the response's header field lines; 0 means
	// DefaultMaxHeaders.
	MaxHeaders int
}

// NewKey returns a fresh Sec-WebSocket-Key: 16 bytes from crypto/rand,
// base64-encoded (RFC 6455 §4.1 item 7: "The nonce MUST be selected randomly
// for each connection").
func NewKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand.Read aborts the program instead)
	return base64.StdEncoding.EncodeToString(b[:])
}

// AppendRequest appends the client's opening handshake for the ws:// or
// wss:// URL u with Sec-WebSocket-Key key (RFC 6455 §4.1): the GET request
// line with path and query, Host (with the port only when it is not the
// scheme's default 80 or 443), Upgrade, Connection, Sec-WebSocket-Key,
// Sec-WebSocket-Version: 13, then Origin, Sec-WebSocket-Protocol,
// Sec-WebSocket-Extensions and the extra fields of o. It returns an error,
// leaving dst unchanged, for a URL or options that would make a request a
// server must refuse (see ClientOptions).
func AppendRequest(dst []byte, u *url.URL, key string, o *ClientOptions) ([]byte, error) {
	if o == nil {
		o = &ClientOptions{}
	}
	var def string
	switch strings.ToLower(u.Scheme) {
	case "ws":
		def = "80"
	case "wss":
		def = "443"
	default:
		// §3: "ws" and "wss" are the only WebSocket URI schemes.
		return dst, fmt.Errorf("handshake: URL scheme %q is not ws or wss", u.Scheme)
	}
	// §3: ws-URI = "ws:" "//" host [ ":" port ] path [ "?" query ], and
	// RFC 3986 §3.2.2: "If the URI scheme defines a default for host, then
	// that default applies when the host subcomponent is undefined or when
	// the registered name is empty". ws defines none: "ws://:80" has no
	// host (u.Host is ":80").
	if u.Hostname() == "" {
		return dst, errors.New("handshake: URL has no host")
	}
	// §3: "Fragment identifiers ... MUST NOT be used on these URIs."
	if u.Fragment != "" {
		return dst, errors.New("handshake: URL has a fragment")
	}
	// §4.1 item 2: the Request-URI "MUST match the /resource name/ defined
	// in Section 3". u.RawQuery is not validated by url.Parse, so check the
	// target as our server does (a bad %XX, a space, a byte outside
	// printable ASCII).
	target := u.RequestURI()
	if _, problem := checkTarget(target); problem != "" {
		return dst, errors.New("handshake: URL gives a bad request-target: " + problem)
	}
	host := u.Host
	if p := u.Port(); p == def {
		host = strings.TrimSuffix(host, ":"+p)
	} else if p == "" {
		host = strings.TrimSuffix(host, ":")
	}
	if hs := o.Header["Host"]; len(hs) > 0 {
		host = hs[0]
	}
	// RFC 7230 §3.2: field-value = *( field-content / obs-fold ), whose
	// characters are VCHAR, obs-text, SP and HTAB: no other control
	// character. Refuse rather than rewrite, as for subprotocols below.
	if hasCTL(host) {
		return dst, fmt.Errorf("handshake: Host %q contains a control character", host)
	}
	if hasCTL(o.Origin) {
		return dst, fmt.Errorf("handshake: Origin %q contains a control character", o.Origin)
	}
	for name, values := range o.Header {
		// RFC 7230 §3.2: field-name = token.
		if !isToken(name) {
			return dst, fmt.Errorf("handshake: header name %q is not a token", name)
		}
		for _, v := range values {
			if hasCTL(v) {
				return dst, fmt.Errorf("handshake: header %s value %q contains a control character", name, v)
			}
		}
	}
	// §4.1 item 10: the elements "MUST be non-empty strings with characters
	// in the range U+0021 to U+007E not including separator characters as
	// defined in [RFC2616] and MUST all be unique strings."
	for i, p := range o.Subprotocols {
		if !isToken(p) {
			return dst, fmt.Errorf("handshake: subprotocol %q is not a token", p)
		}
		for _, q := range o.Subprotocols[:i] {
			if p == q {
				return dst, fmt.Errorf("handshake: subprotocol %q offered twice", p)
			}
		}
	}
	var offers []Extension
	for _, ce := range o.Extensions {
		for _, e := range ce.Offers() {
			if !isToken(e.Name) {
				return dst, fmt.Errorf("handshake: extension name %q is not a token", e.Name)
			}
			offers = append(offers, e)
		}
	}

	// §4.1 item 2: "The method of the request MUST be GET, and the HTTP
	// version MUST be at least 1.1."
	dst = append(dst, "GET "...)
	dst = append(dst, target...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = appendHeaderValue(dst, host)
	dst = append(dst, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "...)
	dst = appendHeaderValue(dst, key)
	dst = append(dst, "\r\nSec-WebSocket-Version: 13\r\n"...)
	if o.Origin != "" {
		dst = append(dst, "Origin: "...)
		dst = appendHeaderValue(dst, o.Origin)
		dst = append(dst, "\r\n"...)
	}
	if len(o.Subprotocols) > 0 {
		dst = append(dst, "Sec-WebSocket-Protocol: "...)
		dst = append(dst, strings.Join(o.Subprotocols, ", ")...)
		dst = append(dst, "\r\n"...)
	}
	if len(offers) > 0 {
		dst = append(dst, "Sec-WebSocket-Extensions: "...)
		dst = AppendExtensions(dst, offers)
		dst = append(dst, "\r\n"...)
	}
	dst = appendExtraHeader(dst, o.Header, func(name string) bool {
		return equalFold(name, "Host") || skipResponseHeader(name) ||
			o.Origin != "" && equalFold(name, "Origin")
	})
	return append(dst, "\r\n"...), nil
}

// hasCTL reports whether s holds a control character other than HTAB,
// which a header field value must not contain (RFC 7230 §3.2).
func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return true
		}
	}
	return false
}

// WriteRequest writes the opening handshake for u with a fresh key (NewKey)
// to w and returns the key for ReadResponse.
func WriteRequest(w io.Writer, u *url.URL, o *ClientOptions) (key string, err error) {
	key = NewKey()
	b, err := AppendRequest(make([]byte, 0, 256), u, key, o)
	if err != nil {
		return "", err
	}
	_, err = w.Write(b)
	return key, err
}

// Dial performs the client side of the opening handshake over an
// established connection: it writes the request for u to w and reads and
// checks the response from br (see ReadResponse).
func Dial(w io.Writer, br *bufio.Reader, u *url.URL, o *ClientOptions) (Result, error) {
	key, err := WriteRequest(w, u, o)
	if err != nil {
		return Result{}, err
	}
	return ReadResponse(br, key, o)
}

// Sentinel errors of the client checks (RFC 6455 §4.1), wrapped by
// *ResponseError and matched with errors.Is.
var (
	ErrMalformedResponse    = errors.New("handshake: malformed response")
	ErrResponseTooLarge     = errors.New("handshake: response head too large")
	ErrNotSwitching         = errors.New("handshake: status is not 101 Switching Protocols")
	ErrResponseUpgrade      = errors.New("handshake: Upgrade is not websocket")
	ErrResponseConnection   = errors.New("handshake: Connection does not contain Upgrade")
	ErrBadAccept            = errors.New("handshake: Sec-WebSocket-Accept does not match the key")
	ErrUnofferedSubprotocol = errors.New("handshake: subprotocol was not offered")
	ErrUnofferedExtension   = errors.New("handshake: extension was not offered")
	ErrExtensionRejected    = errors.New("handshake: extension response rejected")
)

// maxErrorBody bounds ResponseError.Body.
const maxErrorBody = 1 << 10

// ResponseError is a server response that failed the client's checks.
type ResponseError struct {
	StatusCode int         // 0 when the status line could not be parsed
	Status     string      // status code and reason phrase, e.g. "403 Forbidden"
	Header     http.Header // the response header fields
	Body       []byte      // the first bytes (at most 1 KiB) of a non-101 response's body
	Err        error       // the failed check: one of the client sentinels, possibly wrapped
}

// Error reads like "handshake: server answered 403 Forbidden: origin not
// allowed" (with the first line of the body) or "handshake: server answered
// 101 Switching Protocols but Sec-WebSocket-Accept does not match the key".
func (e *ResponseError) Error() string {
	err := e.Err
	if err == nil {
		err = ErrMalformedResponse
	}
	switch {
	case e.StatusCode == 0:
		return err.Error()
	case e.StatusCode != http.StatusSwitchingProtocols:
		s := "handshake: server answered " + e.Status
		line, _, _ := strings.Cut(string(e.Body), "\n")
		line = strings.TrimSpace(line)
		if len(line) > 200 {
			line = line[:200]
		}
		if line != "" && strings.IndexFunc(line, func(r rune) bool { return r < ' ' || r == 0x7f }) < 0 {
			s += ": " + line
		}
		return s
	default:
		return "handshake: server answered " + e.Status + " but " + strings.TrimPrefix(err.Error(), "handshake: ")
	}
}

// Unwrap returns Err.
func (e *ResponseError) Unwrap() error { return e.Err }

// Is reports whether target is an *Error (a server refusal) with e's status
// whose reason starts the body, as written by WriteError and Upgrade: so
// errors.Is(err, ErrOriginNotAllowed) holds when a hybi server refused the
// origin.
func (e *ResponseError) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || t == nil || e.StatusCode != t.Status {
		return false
	}
	line, _, _ := strings.Cut(string(e.Body), "\n")
	return (&Error{Status: e.StatusCode, Reason: strings.TrimSuffix(line, "\r")}).Is(t)
}

// ReadResponse reads the server's response from br and checks it against
// key and o (RFC 6455 §4.1): status 101, Upgrade "websocket", Connection
// containing Upgrade, Sec-WebSocket-Accept matching key, a subprotocol only
// if offered, and extensions only if offered, each accepted by its
// ClientExtension (which checks the parameters against what it offered).
// The Result carries the 101's status and header fields. Bytes after the
// 101 response stay in br for the connection. A failure is a
// *ResponseError; an I/O error is returned unchanged (io.ErrUnexpectedEOF
// when the response stops mid-head).
func ReadResponse(br *bufio.Reader, key string, o *ClientOptions) (Result, error) {
	if o == nil {
		o = &ClientOptions{}
	}
	limit, maxFields := DefaultMaxHeadBytes, DefaultMaxHeaders
	if o.MaxHeadBytes > 0 {
		limit = o.MaxHeadBytes
	}
	if o.MaxHeaders > 0 {
		maxFields = o.MaxHeaders
	}
	head, err := readHead(br, limit, &ResponseError{Err: ErrResponseTooLarge})
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // the server closed without answering
		}
		return Result{}, err
	}
	re, err := parseResponse(head, maxFields)
	if err != nil {
		return Result{}, err
	}
	if re.StatusCode != http.StatusSwitchingProtocols {
		re.Body = readErrorBody(br, re.Header)
		re.Err = ErrNotSwitching
		return Result{}, re
	}
	fail := func(err error) (Result, error) {
		re.Err = err
		return Result{}, re
	}
	h := re.Header
	// §4.1: "If the response lacks an |Upgrade| header field or the
	// |Upgrade| header field contains a value that is not an ASCII
	// case-insensitive match for the value "websocket", the client MUST
	// _Fail the WebSocket Connection_."
	if v := h["Upgrade"]; len(v) != 1 || !equalFold(v[0], "websocket") {
		return fail(ErrResponseUpgrade)
	}
	// §4.1: "If the response lacks a |Connection| header field or the
	// |Connection| header field doesn't contain a token that is an ASCII
	// case-insensitive match for the value "Upgrade", the client MUST _Fail_."
	connOK := false
	for _, v := range h["Connection"] {
		connOK = connOK || hasToken(v, "Upgrade")
	}
	if !connOK {
		return fail(ErrResponseConnection)
	}
	// §4.1: "If the response lacks a |Sec-WebSocket-Accept| header field or
	// the |Sec-WebSocket-Accept| contains a value other than the
	// base64-encoded SHA-1 of the concatenation of the |Sec-WebSocket-Key|
	// (as a string, not base64-decoded) with the string
	// "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" ... the client MUST _Fail_."
	if v := h["Sec-Websocket-Accept"]; len(v) != 1 || v[0] != AcceptKey(key) {
		return fail(ErrBadAccept)
	}
	res := Result{StatusCode: re.StatusCode, Status: re.Status, Header: h}
	// §4.1: "If the response includes a |Sec-WebSocket-Extensions| header
	// field and this header field indicates the use of an extension that
	// was not present in the client's handshake ..., the client MUST _Fail_."
	if v := h["Sec-Websocket-Extensions"]; len(v) > 0 {
		exts, err := ParseExtensions(v)
		if err != nil {
			return fail(fmt.Errorf("%w: %s", ErrMalformedResponse, err.(*Error).Reason))
		}
		for i, e := range exts {
			var ce ClientExtension
			for _, c := range o.Extensions {
				if equalFold(c.Name(), e.Name) {
					ce = c
					break
				}
			}
			if ce == nil {
				return fail(fmt.Errorf("%w: %q", ErrUnofferedExtension, e.Name))
			}
			for _, prev := range exts[:i] {
				if equalFold(prev.Name, e.Name) {
					return fail(fmt.Errorf("%w: %q accepted twice", ErrExtensionRejected, e.Name))
				}
			}
			if err := ce.Accept(e); err != nil {
				return fail(fmt.Errorf("%w: %s: %w", ErrExtensionRejected, e.Name, err))
			}
		}
		res.Extensions = exts
	}
	// §4.1: "If the response includes a |Sec-WebSocket-Protocol| header field
	// and this header field indicates the use of a subprotocol that was not
	// present in the client's handshake ..., the client MUST _Fail_."
	if v := h["Sec-Websocket-Protocol"]; len(v) > 0 {
		p := strings.TrimSpace(v[0])
		offered := false
		for _, q := range o.Subprotocols {
			offered = offered || q == p
		}
		if len(v) > 1 || !offered {
			return fail(fmt.Errorf("%w: %q", ErrUnofferedSubprotocol, strings.Join(v, ", ")))
		}
		res.Subprotocol = p
	}
	return res, nil
}

// parseResponse parses a response head into a *ResponseError carrying the
// status and header fields.
func parseResponse(head []byte, maxFields int) (*ResponseError, error) {
	malformed := func(what string, b []byte) error {
		return &ResponseError{Err: fmt.Errorf("%w: %s %s", ErrMalformedResponse, what, sanitizeQuote(clip(b)))}
	}
	line, rest := nextLine(head)
	// status-line = HTTP-version SP status-code SP reason-phrase
	major, _, ok := parseHTTPVersion(line[:min(8, len(line))])
	if !ok || major != 1 || len(line) < 12 || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return nil, malformed("status line", line)
	}
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil || code < 100 {
		return nil, malformed("status line", line)
	}
	re := &ResponseError{StatusCode: code, Status: strings.TrimSpace(string(line[9:])), Header: make(http.Header)}
	for n := 0; ; n++ {
		line, rest = nextLine(rest)
		if len(line) == 0 {
			return re, nil
		}
		if n == maxFields {
			return nil, &ResponseError{Err: fmt.Errorf("%w: more than %d header fields", ErrResponseTooLarge, maxFields)}
		}
		name, value, ok := parseField(line)
		if !ok {
			return nil, malformed("header field", line)
		}
		k := textproto.CanonicalMIMEHeaderKey(string(name))
		re.Header[k] = append(re.Header[k], string(value))
	}
}

// readErrorBody returns the first bytes of a non-101 response's body without
// waiting for more than the server announced: up to Content-Length bytes,
// else what is already buffered (decoded if chunked), at most 1 KiB.
func readErrorBody(br *bufio.Reader, h http.Header) []byte {
	if cl := h.Get("Content-Length"); cl != "" {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n < 0 {
			return nil
		}
		body := make([]byte, min(n, maxErrorBody))
		k, _ := io.ReadFull(br, body)
		return body[:k]
	}
	b, _ := br.Peek(min(br.Buffered(), 4*maxErrorBody))
	if strings.EqualFold(h.Get("Transfer-Encoding"), "chunked") {
		body, _ := io.ReadAll(io.LimitReader(httputil.NewChunkedReader(bytes.NewReader(b)), maxErrorBody))
		return body
	}
	return bytes.Clone(b[:min(len(b), maxErrorBody)])
}
