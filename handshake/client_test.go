package handshake

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

const rfcKey = "dGhlIHNhbXBsZSBub25jZQ=="

func TestNewKey(t *testing.T) {
	a, b := NewKey(), NewKey()
	if !validKey(a) || !validKey(b) {
		t.Errorf("NewKey() = %q, %q: not base64 of 16 bytes", a, b)
	}
	if a == b {
		t.Errorf("two NewKey() calls returned %q", a)
	}
}

func TestAppendRequest(t *testing.T) {
	x := &fakeExt{name: "x", offers: []Extension{{Name: "x", Params: []Param{{Name: "a", Value: "1", HasValue: true}}}, {Name: "x"}}}
	full := "GET /chat?room=1 HTTP/1.1\r\n" +
		"Host: example.com:8080\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + rfcKey + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"Origin: http://example.com\r\n" +
		"Sec-WebSocket-Protocol: chat, superchat\r\n" +
		"Sec-WebSocket-Extensions: x; a=1, x\r\n" +
		"Authorization: Bearer t\r\n" +
		"\r\n"
	tests := []struct {
		name string
		url  string
		opts *ClientOptions
		want string // the whole request, or only its first two lines
	}{
		{"all options", "ws://example.com:8080/chat?room=1", &ClientOptions{
			Origin:       "http://example.com",
			Subprotocols: []string{"chat", "superchat"},
			Extensions:   []ClientExtension{x},
			Header: http.Header{
				"Authorization":         {"Bearer t"},
				"Sec-Websocket-Key":     {"forged"},
				"Origin":                {"http://forged"},
				"Upgrade":               {"h2c"},
				"Sec-Websocket-Version": {"8"},
			},
		}, full},
		{"no path", "ws://example.com", nil, "GET / HTTP/1.1\r\nHost: example.com\r\n"},
		{"ws default port omitted", "ws://example.com:80/a", nil, "GET /a HTTP/1.1\r\nHost: example.com\r\n"},
		{"ws port 443 kept", "ws://example.com:443/a", nil, "GET /a HTTP/1.1\r\nHost: example.com:443\r\n"},
		{"wss default port omitted", "wss://example.com:443/a", nil, "GET /a HTTP/1.1\r\nHost: example.com\r\n"},
		{"wss port 80 kept", "wss://example.com:80/a", nil, "GET /a HTTP/1.1\r\nHost: example.com:80\r\n"},
		{"empty port", "ws://example.com:/a", nil, "GET /a HTTP/1.1\r\nHost: example.com\r\n"},
		{"ipv6 default port", "ws://[::1]:80/", nil, "GET / HTTP/1.1\r\nHost: [::1]\r\n"},
		{"ipv6 port", "ws://[::1]:8080/", nil, "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n"},
		{"escaped path and query", "ws://h/a%20b/c?q=%2F&r", nil, "GET /a%20b/c?q=%2F&r HTTP/1.1\r\nHost: h\r\n"},
		{"uppercase scheme", "WSS://h/", nil, "GET / HTTP/1.1\r\nHost: h\r\n"},
		{"Host override", "ws://127.0.0.1:9000/", &ClientOptions{Header: http.Header{"Host": {"virtual.example"}}},
			"GET / HTTP/1.1\r\nHost: virtual.example\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			b, err := AppendRequest(nil, u, rfcKey, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := string(b)
			if !strings.HasSuffix(tt.want, "\r\n\r\n") {
				got = got[:min(len(got), len(tt.want))]
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("AppendRequest (-want +got):\n%s", diff)
			}
			// Our own server accepts every request we build.
			r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b)))
			if err != nil {
				t.Fatalf("net/http cannot parse the request: %v", err)
			}
			if _, _, err := CheckRequest(r, &ServerOptions{CheckOrigin: func(string, string) bool { return true }}); err != nil {
				t.Errorf("CheckRequest: %v", err)
			}
		})
	}
}

func TestAppendRequestErrors(t *testing.T) {
	tests := []struct {
		name string
		url  string
		opts *ClientOptions
		want string
	}{
		{"http scheme", "http://h/", nil, `handshake: URL scheme "http" is not ws or wss`},
		{"no host", "ws:///chat", nil, "handshake: URL has no host"},
		{"fragment", "ws://h/chat#top", nil, "handshake: URL has a fragment"},
		{"subprotocol not a token", "ws://h/", &ClientOptions{Subprotocols: []string{"a b"}}, `handshake: subprotocol "a b" is not a token`},
		{"subprotocol twice", "ws://h/", &ClientOptions{Subprotocols: []string{"a", "b", "a"}}, `handshake: subprotocol "a" offered twice`},
		{"extension name not a token", "ws://h/", &ClientOptions{Extensions: []ClientExtension{&fakeExt{offers: []Extension{{Name: "a,b"}}}}},
			`handshake: extension name "a,b" is not a token`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			_, err = AppendRequest(nil, u, rfcKey, tt.opts)
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v, want %s", err, tt.want)
			}
		})
	}
}

// appendRequestRefuses checks that AppendRequest fails with want and leaves
// dst as it was.
func appendRequestRefuses(t *testing.T, rawURL string, o *ClientOptions, want string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	dst := []byte("prefix")
	b, err := AppendRequest(dst, u, rfcKey, o)
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
	if string(b) != "prefix" {
		t.Errorf("AppendRequest appended %q before failing", b[len("prefix"):])
	}
}

// TestAppendRequestRefusesBadFields: RFC 7230 §3.2, a field-name is a token
// and a field-value has no control character but HTAB. AppendRequest
// refuses such an Origin, Header value (Host included) or Header name
// before writing anything (fuzz finding 4: Origin "\x11" was sent and our
// server refused the request), and accepts HTAB and obs-text.
func TestAppendRequestRefusesBadFields(t *testing.T) {
	tests := []struct {
		name string
		opts *ClientOptions
		want string
	}{
		{"Origin with DC1", &ClientOptions{Origin: "\x11"}, `handshake: Origin "\x11" contains a control character`},
		{"Origin with CRLF", &ClientOptions{Origin: "http://a\r\nX: y"}, `handshake: Origin "http://a\r\nX: y" contains a control character`},
		{"Origin with NUL", &ClientOptions{Origin: "http://a\x00"}, `handshake: Origin "http://a\x00" contains a control character`},
		{"Origin with DEL", &ClientOptions{Origin: "http://a\x7f"}, `handshake: Origin "http://a\x7f" contains a control character`},
		{"Header value with LF", &ClientOptions{Header: http.Header{"X-A": {"ok", "a\nb"}}}, `handshake: header X-A value "a\nb" contains a control character`},
		{"Header value with ESC", &ClientOptions{Header: http.Header{"Authorization": {"\x1b[0m"}}}, `handshake: header Authorization value "\x1b[0m" contains a control character`},
		{"Host value with CR", &ClientOptions{Header: http.Header{"Host": {"a\rb"}}}, `handshake: Host "a\rb" contains a control character`},
		{"Header name with space", &ClientOptions{Header: http.Header{"X A": {"1"}}}, `handshake: header name "X A" is not a token`},
		{"Header name with colon", &ClientOptions{Header: http.Header{"X:A": {"1"}}}, `handshake: header name "X:A" is not a token`},
		{"Header name empty", &ClientOptions{Header: http.Header{"": {"1"}}}, `handshake: header name "" is not a token`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			appendRequestRefuses(t, "ws://h/", tt.opts, tt.want)
		})
	}
	// HTAB and obs-text are allowed, and our server takes them.
	o := &ClientOptions{Origin: "http://h\tb", Header: http.Header{"X-A": {"a\tb\x80\xff"}}}
	b, err := AppendRequest(nil, &url.URL{Scheme: "ws", Host: "h", Path: "/"}, rfcKey, o)
	if err != nil {
		t.Fatalf("HTAB and obs-text: %v", err)
	}
	for _, line := range []string{"Origin: http://h\tb\r\n", "X-A: a\tb\x80\xff\r\n"} {
		if !strings.Contains(string(b), line) {
			t.Errorf("request %q lacks %q", b, line)
		}
	}
	if _, err := Upgrade(bufio.NewReader(bytes.NewReader(b)), io.Discard, &ServerOptions{CheckOrigin: func(string, string) bool { return true }}); err != nil {
		t.Errorf("Upgrade refused %q: %v", b, err)
	}
}

// TestAppendRequestRefusesEmptyHost: RFC 6455 §3 gives ws URIs no default
// host, so a URL whose host name is empty (u.Host may still hold a port) is
// refused instead of sending an empty Host (fuzz finding 5: "ws://:").
func TestAppendRequestRefusesEmptyHost(t *testing.T) {
	for _, raw := range []string{"ws://:", "ws://:80/chat", "wss://:443", "ws:///chat"} {
		t.Run(raw, func(t *testing.T) {
			appendRequestRefuses(t, raw, nil, "handshake: URL has no host")
		})
	}
}

// TestAppendRequestRefusesBadTarget: the request-target AppendRequest
// writes passes the server's §3 check; url.Parse leaves the query
// unvalidated, so a bad %XX or a byte outside printable ASCII there is
// refused rather than sent.
func TestAppendRequestRefusesBadTarget(t *testing.T) {
	tests := []struct{ url, want string }{
		{"ws://h/chat?a=%zz", `handshake: URL gives a bad request-target: bad percent-encoding in "/chat?a=%zz"`},
		{"ws://h/?a=%4", `handshake: URL gives a bad request-target: bad percent-encoding in "/?a=%4"`},
		{"ws://h/?q=\u00e9", "handshake: URL gives a bad request-target: byte that is not printable ASCII in \"/?q=\u00e9\""},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			appendRequestRefuses(t, tt.url, nil, tt.want)
		})
	}
}

// mkResponse builds a 101 response for rfcKey, modified like mkRequest.
func mkResponse(mods ...string) string {
	lines := []string{
		"HTTP/1.1 101 Switching Protocols",
		"Upgrade: websocket",
		"Connection: Upgrade",
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
	}
	for _, m := range mods {
		switch {
		case strings.HasPrefix(m, "HTTP/") || strings.HasPrefix(m, "!"):
			lines[0] = strings.TrimPrefix(m, "!")
		case strings.HasPrefix(m, "-"):
			for i, l := range lines {
				if strings.HasPrefix(l, m[1:]+":") {
					lines = append(lines[:i], lines[i+1:]...)
					break
				}
			}
		case strings.HasPrefix(m, "+"):
			lines = append(lines, m[1:])
		default:
			name, _, _ := strings.Cut(m, ":")
			replaced := false
			for i, l := range lines {
				if strings.HasPrefix(l, name+":") {
					lines[i], replaced = m, true
					break
				}
			}
			if !replaced {
				lines = append(lines, m)
			}
		}
	}
	return strings.Join(lines, "\r\n") + "\r\n\r\n"
}

func TestReadResponseChecks(t *testing.T) {
	opts := &ClientOptions{
		Subprotocols: []string{"chat", "superchat"},
		Extensions:   []ClientExtension{&fakeExt{name: "x", offers: []Extension{{Name: "x"}}}},
	}
	tests := []struct {
		name     string
		resp     string
		res      Result
		sentinel error  // nil: success
		status   int    // ResponseError.StatusCode
		msg      string // the error's message
	}{
		{name: "minimal", resp: mkResponse()},
		{name: "tokens case-insensitive", resp: mkResponse("Upgrade: WebSocket", "Connection: keep-alive, upgrade")},
		{name: "subprotocol", resp: mkResponse("Sec-WebSocket-Protocol: superchat"), res: Result{Subprotocol: "superchat"}},
		{name: "extension", resp: mkResponse("Sec-WebSocket-Extensions: x; a=1"),
			res: Result{Extensions: []Extension{{Name: "x", Params: []Param{{Name: "a", Value: "1", HasValue: true}}}}}},
		{name: "LF line endings", resp: strings.ReplaceAll(mkResponse(), "\r\n", "\n")},

		{name: "403 with reason", resp: "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n\r\norigin not allowed\n",
			sentinel: ErrNotSwitching, status: 403, msg: "handshake: server answered 403 Forbidden: origin not allowed"},
		{name: "200 without body", resp: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
			sentinel: ErrNotSwitching, status: 200, msg: "handshake: server answered 200 OK"},
		{name: "missing Upgrade", resp: mkResponse("-Upgrade"), sentinel: ErrResponseUpgrade, status: 101,
			msg: "handshake: server answered 101 Switching Protocols but Upgrade is not websocket"},
		{name: "Upgrade h2c", resp: mkResponse("Upgrade: h2c"), sentinel: ErrResponseUpgrade, status: 101,
			msg: "handshake: server answered 101 Switching Protocols but Upgrade is not websocket"},
		{name: "missing Connection", resp: mkResponse("-Connection"), sentinel: ErrResponseConnection, status: 101,
			msg: "handshake: server answered 101 Switching Protocols but Connection does not contain Upgrade"},
		{name: "Connection keep-alive", resp: mkResponse("Connection: keep-alive"), sentinel: ErrResponseConnection, status: 101,
			msg: "handshake: server answered 101 Switching Protocols but Connection does not contain Upgrade"},
		{name: "missing accept", resp: mkResponse("-Sec-WebSocket-Accept"), sentinel: ErrBadAccept, status: 101,
			msg: "handshake: server answered 101 Switching Protocols but Sec-WebSocket-Accept does not match the key"},
		{name: "wrong accept", resp: mkResponse("Sec-WebSocket-Accept: dGhlIHNhbXBsZSBub25jZQ=="), sentinel: ErrBadAccept, status: 101,
			msg: "handshake: server answered 101 Switching Protocols but Sec-WebSocket-Accept does not match the key"},
		{name: "two accepts", resp: mkResponse("+Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), sentinel: ErrBadAccept, status: 101,
			msg: "handshake: server answered 101 Switching Protocols but Sec-WebSocket-Accept does not match the key"},
		{name: "subprotocol not offered", resp: mkResponse("Sec-WebSocket-Protocol: mqtt"), sentinel: ErrUnofferedSubprotocol, status: 101,
			msg: `handshake: server answered 101 Switching Protocols but subprotocol was not offered: "mqtt"`},
		{name: "subprotocol list", resp: mkResponse("Sec-WebSocket-Protocol: chat, superchat"), sentinel: ErrUnofferedSubprotocol, status: 101,
			msg: `handshake: server answered 101 Switching Protocols but subprotocol was not offered: "chat, superchat"`},
		{name: "subprotocol twice", resp: mkResponse("Sec-WebSocket-Protocol: chat", "+Sec-WebSocket-Protocol: chat"), sentinel: ErrUnofferedSubprotocol, status: 101,
			msg: `handshake: server answered 101 Switching Protocols but subprotocol was not offered: "chat, chat"`},
		{name: "extension not offered", resp: mkResponse("Sec-WebSocket-Extensions: y"), sentinel: ErrUnofferedExtension, status: 101,
			msg: `handshake: server answered 101 Switching Protocols but extension was not offered: "y"`},
		{name: "extension response rejected", resp: mkResponse("Sec-WebSocket-Extensions: x; bad"), sentinel: errBadParam, status: 101,
			msg: "handshake: server answered 101 Switching Protocols but extension response rejected: x: fake: bad parameter"},
		{name: "extension twice", resp: mkResponse("Sec-WebSocket-Extensions: x, x"), sentinel: ErrExtensionRejected, status: 101,
			msg: `handshake: server answered 101 Switching Protocols but extension response rejected: "x" accepted twice`},
		{name: "malformed extensions", resp: mkResponse("Sec-WebSocket-Extensions: x;"), sentinel: ErrMalformedResponse, status: 101,
			msg: "handshake: server answered 101 Switching Protocols but malformed response: malformed Sec-WebSocket-Extensions: expected parameter name at end of value"},
		{name: "malformed status line", resp: "HTTP/1.1 1O1 Switching\r\n\r\n", sentinel: ErrMalformedResponse,
			msg: `handshake: malformed response: status line "HTTP/1.1 1O1 Switching"`},
		{name: "HTTP 2 status line", resp: mkResponse("!HTTP/2.0 101 Switching Protocols"), sentinel: ErrMalformedResponse,
			msg: `handshake: malformed response: status line "HTTP/2.0 101 Switching Protocols"`},
		{name: "not HTTP", resp: "SSH-2.0-OpenSSH\r\n\r\n", sentinel: ErrMalformedResponse,
			msg: `handshake: malformed response: status line "SSH-2.0-OpenSSH"`},
		{name: "malformed field", resp: mkResponse("+Bad Field: x"), sentinel: ErrMalformedResponse,
			msg: `handshake: malformed response: header field "Bad Field: x"`},
		{name: "head too large", resp: mkResponse("X-Big: " + strings.Repeat("a", 9000)), sentinel: ErrResponseTooLarge,
			msg: "handshake: response head too large"},
		{name: "too many fields", resp: mkResponse(strings.Split(strings.Repeat("+X-A: 1\n", 64), "\n")[:64]...), sentinel: ErrResponseTooLarge,
			msg: "handshake: response head too large: more than 64 header fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []io.Reader{strings.NewReader(tt.resp + "\x81\x00"), iotest.OneByteReader(strings.NewReader(tt.resp + "\x81\x00"))} {
				br := bufio.NewReader(r)
				res, err := ReadResponse(br, rfcKey, opts)
				if tt.sentinel == nil {
					if err != nil {
						t.Fatalf("unexpected error: %v", err)
					}
					// The 101's status and header come back with the result.
					if res.StatusCode != 101 || res.Status != "101 Switching Protocols" || res.Header.Get("Sec-WebSocket-Accept") != AcceptKey(rfcKey) {
						t.Errorf("response %d %q, Sec-WebSocket-Accept %q; want the 101 and %q", res.StatusCode, res.Status, res.Header.Get("Sec-WebSocket-Accept"), AcceptKey(rfcKey))
					}
					res.StatusCode, res.Status, res.Header = 0, "", nil
					if diff := cmp.Diff(tt.res, res); diff != "" {
						t.Errorf("Result (-want +got):\n%s", diff)
					}
					if rest, _ := io.ReadAll(br); string(rest) != "\x81\x00" {
						t.Errorf("bytes after the 101 response: %q, want %q", rest, "\x81\x00")
					}
					continue
				}
				var re *ResponseError
				if !errors.As(err, &re) {
					t.Fatalf("err = %v, want *ResponseError", err)
				}
				if !errors.Is(err, tt.sentinel) {
					t.Errorf("errors.Is(%v, %v) = false", err, tt.sentinel)
				}
				if re.StatusCode != tt.status {
					t.Errorf("StatusCode = %d, want %d", re.StatusCode, tt.status)
				}
				if diff := cmp.Diff(tt.msg, err.Error()); diff != "" {
					t.Errorf("message (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestResponseErrorBody(t *testing.T) {
	long := strings.Repeat("x", 2000)
	tests := []struct {
		name   string
		resp   string
		body   string
		header http.Header
	}{
		{"content-length", "HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope\nmore", "nope\n", http.Header{"Content-Length": {"5"}}},
		{"content-length over 1 KiB", "HTTP/1.1 400 Bad Request\r\nContent-Length: 2000\r\n\r\n" + long, long[:1024], http.Header{"Content-Length": {"2000"}}},
		{"chunked", "HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world",
			http.Header{"Transfer-Encoding": {"chunked"}}},
		{"until close", "HTTP/1.1 404 Not Found\r\nX-A: 1\r\n\r\nmissing", "missing", http.Header{"X-A": {"1"}}},
		{"bad content-length", "HTTP/1.1 404 Not Found\r\nContent-Length: -1\r\n\r\nmissing", "", http.Header{"Content-Length": {"-1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadResponse(bufio.NewReader(strings.NewReader(tt.resp)), rfcKey, nil)
			var re *ResponseError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want *ResponseError", err)
			}
			if diff := cmp.Diff(tt.body, string(re.Body)); diff != "" {
				t.Errorf("Body (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.header, re.Header); diff != "" {
				t.Errorf("Header (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadResponseIOErrors(t *testing.T) {
	tests := []struct {
		name string
		r    io.Reader
		want error
	}{
		{"closed without answer", strings.NewReader(""), io.ErrUnexpectedEOF},
		{"stops mid-head", strings.NewReader("HTTP/1.1 101 Switching Protocols\r\n"), io.ErrUnexpectedEOF},
		{"read error", iotest.ErrReader(errBadParam), errBadParam},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ReadResponse(bufio.NewReader(tt.r), rfcKey, nil); err != tt.want {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestDialPreservesBytesAfter101 runs Dial against a scripted server whose
// 101 response and first frame arrive in one read.
func TestDialPreservesBytesAfter101(t *testing.T) {
	var req bytes.Buffer
	u, _ := url.Parse("ws://example.com/chat")
	// The key is random, so answer through a reader that computes the
	// response from the request once it has been written.
	resp := &lazyReader{f: func() string {
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(req.Bytes())))
		if err != nil {
			return ""
		}
		_, accept, err := CheckRequest(r, nil)
		if err != nil {
			return ""
		}
		return string(AppendResponse(nil, accept, Result{}, nil)) + "\x81\x05hello"
	}}
	br := bufio.NewReader(resp)
	if _, err := Dial(&req, br, u, nil); err != nil {
		t.Fatal(err)
	}
	if rest, _ := io.ReadAll(br); string(rest) != "\x81\x05hello" {
		t.Errorf("bytes after 101: %q, want %q", rest, "\x81\x05hello")
	}
}

type lazyReader struct {
	f func() string
	r io.Reader
}

func (l *lazyReader) Read(p []byte) (int, error) {
	if l.r == nil {
		l.r = strings.NewReader(l.f())
	}
	return l.r.Read(p)
}

func TestResponseErrorZeroValue(t *testing.T) {
	tests := []struct {
		name string
		err  *ResponseError
		want string
	}{
		{"zero", &ResponseError{}, "handshake: malformed response"},
		{"101 without Err", &ResponseError{StatusCode: 101, Status: "101 Switching Protocols"},
			"handshake: server answered 101 Switching Protocols but malformed response"},
		{"binary body", &ResponseError{StatusCode: 500, Status: "500 Internal Server Error", Body: []byte("\x00\x01")},
			"handshake: server answered 500 Internal Server Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.err.Error()); diff != "" {
				t.Errorf("Error() (-want +got):\n%s", diff)
			}
		})
	}
	crlf := &ResponseError{StatusCode: 403, Status: "403 Forbidden", Body: []byte("origin not allowed: \"x\"\r\n")}
	if !errors.Is(crlf, ErrOriginNotAllowed) {
		t.Errorf("errors.Is(%v, ErrOriginNotAllowed) = false with a CRLF body", crlf)
	}
	if errors.Is(crlf, ErrBadMethod) {
		t.Errorf("errors.Is(%v, ErrBadMethod) = true", crlf)
	}
}
