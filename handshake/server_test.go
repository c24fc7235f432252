package handshake

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// rfcRequest is the client handshake of RFC 6455 §1.2 (with version 13).
const rfcRequest = "GET /chat HTTP/1.1\r\n" +
	"Host: server.example.com\r\n" +
	"Upgrade: websocket\r\n" +
	"Connection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
	"Origin: http://server.example.com\r\n" +
	"Sec-WebSocket-Protocol: chat, superchat\r\n" +
	"Sec-WebSocket-Version: 13\r\n\r\n"

// mkRequest builds a request head from the base handshake and mods: "Name: v"
// replaces the field Name, "-Name" deletes it, "+Name: v" adds a line, and a
// mod containing " HTTP/" or starting with "!" replaces the request line.
func mkRequest(mods ...string) string {
	lines := []string{
		"GET /chat HTTP/1.1",
		"Host: server.example.com",
		"Upgrade: websocket",
		"Connection: Upgrade",
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
		"Sec-WebSocket-Version: 13",
	}
	for _, m := range mods {
		switch {
		case strings.Contains(m, " HTTP/") || strings.HasPrefix(m, "!"):
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

// fakeExt is a ServerExtension and ClientExtension for tests: the server
// accepts the first offer with its parameters; the client rejects a
// response with a parameter named "bad".
type fakeExt struct {
	name   string
	offers []Extension
	got    [][]Extension
}

func (f *fakeExt) Name() string { return f.name }
func (f *fakeExt) Negotiate(offers []Extension) (Extension, bool) {
	f.got = append(f.got, offers)
	for _, o := range offers {
		if len(o.Params) == 0 || o.Params[0].Name != "decline" {
			return Extension{Params: o.Params}, true
		}
	}
	return Extension{}, false
}
func (f *fakeExt) Offers() []Extension { return f.offers }
func (f *fakeExt) Accept(r Extension) error {
	for _, p := range r.Params {
		if p.Name == "bad" {
			return errBadParam
		}
	}
	return nil
}

var errBadParam = errors.New("fake: bad parameter")

type serverCase struct {
	name     string
	req      string
	opts     *ServerOptions
	want     *Error // nil: success
	sentinel *Error
	res      Result
	rawOnly  bool // net/http rejects or rewrites this request itself
}

var serverCases = []serverCase{
	{name: "rfc example", req: rfcRequest, opts: &ServerOptions{Subprotocols: []string{"superchat", "chat"}},
		res: Result{Subprotocol: "superchat"}},
	{name: "minimal", req: mkRequest()},
	{name: "Firefox Connection list", req: mkRequest("Connection: keep-alive, Upgrade")},
	{name: "tokens case-insensitive", req: mkRequest("Connection: UPGRADE", "Upgrade: WebSocket")},
	{name: "Upgrade list", req: mkRequest("Upgrade: h2c, websocket")},
	{name: "Connection on two lines", req: mkRequest("Connection: keep-alive", "+Connection: upgrade")},
	{name: "HTTP 1.2", req: mkRequest("GET /chat HTTP/1.2")},
	{name: "key with surrounding spaces", req: mkRequest("Sec-WebSocket-Key:   dGhlIHNhbXBsZSBub25jZQ==  ")},
	{name: "header names case-insensitive", req: mkRequest("-Sec-WebSocket-Key", "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==")},
	{name: "LF line endings", req: strings.ReplaceAll(mkRequest(), "\r\n", "\n"), rawOnly: true},

	// §4.2.1 item 1.
	{name: "method POST", req: mkRequest("POST /chat HTTP/1.1"), want: ErrBadMethod, sentinel: ErrBadMethod},
	{name: "method lowercase get", req: mkRequest("get /chat HTTP/1.1"), want: ErrBadMethod, sentinel: ErrBadMethod},
	{name: "HTTP 1.0", req: mkRequest("GET /chat HTTP/1.0"), want: ErrBadHTTPVersion, sentinel: ErrBadHTTPVersion},
	{name: "HTTP 0.9", req: mkRequest("GET /chat HTTP/0.9"), want: ErrBadHTTPVersion, sentinel: ErrBadHTTPVersion, rawOnly: true},
	{name: "no version in request line", req: mkRequest("!GET /chat"), want: ErrMalformedRequest, sentinel: ErrMalformedRequest, rawOnly: true},
	{name: "garbage version", req: mkRequest("!GET /chat HTTX/1.1"), want: ErrMalformedRequest, sentinel: ErrMalformedRequest, rawOnly: true},
	{name: "empty request target", req: mkRequest("GET  HTTP/1.1"), want: ErrMalformedRequest, sentinel: ErrMalformedRequest, rawOnly: true},
	{name: "empty request line", req: "\r\n" + mkRequest(), want: ErrMalformedRequest, sentinel: ErrMalformedRequest, rawOnly: true},
	// §4.2.1 item 1 and §3: a /resource name/ or an absolute URI.
	{name: "target with query and escapes", req: mkRequest("GET /chat/%E2%82%AC?room=1&to=a%2Fb HTTP/1.1")},
	{name: "target empty path segments", req: mkRequest("GET //chat/ HTTP/1.1")},
	{name: "target absolute ws", req: mkRequest("GET ws://server.example.com/chat HTTP/1.1")},
	{name: "target absolute HTTPS with port, no path", req: mkRequest("GET HTTPS://server.example.com:8443?x=1 HTTP/1.1")},
	{name: "target absolute IPv6", req: mkRequest("GET http://[::1]:80/chat HTTP/1.1")},
	{name: "target absolute host is the origin's host", req: mkRequest("GET http://a.example/chat HTTP/1.1", "Origin: http://a.example")},
	{name: "target bad percent-encoding", req: mkRequest("GET /%zz HTTP/1.1"),
		want: &Error{400, ErrBadRequestTarget.Reason + `: bad percent-encoding in "/%zz"`}, sentinel: ErrBadRequestTarget, rawOnly: true},
	{name: "target truncated percent-encoding in query", req: mkRequest("GET /chat?a=%2 HTTP/1.1"),
		want: &Error{400, ErrBadRequestTarget.Reason + `: bad percent-encoding in "/chat?a=%2"`}, sentinel: ErrBadRequestTarget},
	{name: "target fragment", req: mkRequest("GET /chat#frag HTTP/1.1"),
		want: &Error{400, ErrBadRequestTarget.Reason + `: fragment in "/chat#frag"`}, sentinel: ErrBadRequestTarget},
	{name: "target absolute with fragment", req: mkRequest("GET ws://server.example.com/#f HTTP/1.1"),
		want: &Error{400, ErrBadRequestTarget.Reason + `: fragment in "ws://server.example.com/#f"`}, sentinel: ErrBadRequestTarget},
	{name: "target relative path", req: mkRequest("GET chat HTTP/1.1"),
		want: &Error{400, ErrBadRequestTarget.Reason + `: "chat" is neither a "/" path nor an http, https, ws or wss URI`}, sentinel: ErrBadRequestTarget, rawOnly: true},
	{name: "target asterisk", req: mkRequest("GET * HTTP/1.1"),
		want: &Error{400, ErrBadRequestTarget.Reason + `: "*" is neither a "/" path nor an http, https, ws or wss URI`}, sentinel: ErrBadRequestTarget},
	{name: "target ftp scheme", req: mkRequest("GET ftp://server.example.com/chat HTTP/1.1"),
		want: &Error{400, ErrBadRequestTarget.Reason + `: "ftp://server.example.com/chat" is neither a "/" path nor an http, https, ws or wss URI`}, sentinel: ErrBadRequestTarget},
	{name: "target non-ASCII byte", req: mkRequest("GET /\x80 HTTP/1.1"),
		want: &Error{400, ErrBadRequestTarget.Reason + `: byte that is not printable ASCII in "/\x80"`}, sentinel: ErrBadRequestTarget},
	{name: "target absolute without host", req: mkRequest("GET http:///chat HTTP/1.1"),
		want: &Error{400, ErrBadRequestTarget.Reason + `: no valid host in "http:///chat"`}, sentinel: ErrBadRequestTarget},
	{name: "target absolute with port only", req: mkRequest("GET ws://:80/chat HTTP/1.1"),
		want: &Error{400, ErrBadRequestTarget.Reason + `: no valid host in "ws://:80/chat"`}, sentinel: ErrBadRequestTarget},
	{name: "target absolute with userinfo", req: mkRequest("GET http://u@server.example.com/ HTTP/1.1"),
		want: &Error{400, ErrBadRequestTarget.Reason + `: no valid host in "http://u@server.example.com/"`}, sentinel: ErrBadRequestTarget},
	{name: "target absolute with bad port", req: mkRequest("GET ws://server.example.com:8x/ HTTP/1.1"),
		want: &Error{400, ErrBadRequestTarget.Reason + `: no valid host in "ws://server.example.com:8x/"`}, sentinel: ErrBadRequestTarget, rawOnly: true},
	// RFC 7230 §3.2.
	{name: "field without colon", req: mkRequest("+Bogus"), want: &Error{400, `malformed header field: "Bogus"`}, sentinel: ErrMalformedHeader, rawOnly: true},
	{name: "space before colon", req: mkRequest("+Bogus : x"), want: &Error{400, `malformed header field: "Bogus : x"`}, sentinel: ErrMalformedHeader, rawOnly: true},
	{name: "obsolete line folding", req: mkRequest("+X-A: 1", "+ 2"), want: &Error{400, "malformed header field: obsolete line folding"}, sentinel: ErrMalformedHeader, rawOnly: true},
	{name: "control character in value", req: mkRequest("+X-A: a\x01b"), want: &Error{400, `malformed header field: "X-A: a\x01b"`}, sentinel: ErrMalformedHeader, rawOnly: true},
	// §4.2.1 item 2.
	{name: "missing Host", req: mkRequest("-Host"), want: ErrMissingHost, sentinel: ErrMissingHost},
	{name: "empty Host", req: mkRequest("Host: "), want: ErrMissingHost, sentinel: ErrMissingHost},
	{name: "two Host lines", req: mkRequest("+Host: other.example.com"), want: ErrDuplicateHost, sentinel: ErrDuplicateHost, rawOnly: true},
	// §4.2.1 item 3.
	{name: "missing Upgrade", req: mkRequest("-Upgrade"), want: ErrBadUpgrade, sentinel: ErrBadUpgrade},
	{name: "Upgrade h2c", req: mkRequest("Upgrade: h2c"), want: ErrBadUpgrade, sentinel: ErrBadUpgrade},
	{name: "Upgrade websocket substring", req: mkRequest("Upgrade: websockets"), want: ErrBadUpgrade, sentinel: ErrBadUpgrade},
	// §4.2.1 item 4.
	{name: "missing Connection", req: mkRequest("-Connection"), want: ErrBadConnection, sentinel: ErrBadConnection},
	{name: "Connection keep-alive only", req: mkRequest("Connection: keep-alive"), want: ErrBadConnection, sentinel: ErrBadConnection},
	{name: "Connection Upgrade2", req: mkRequest("Connection: Upgrade2"), want: ErrBadConnection, sentinel: ErrBadConnection},
	// §4.2.1 item 6, §4.2.2 step 4.
	{name: "missing version", req: mkRequest("-Sec-WebSocket-Version"), want: ErrBadVersion, sentinel: ErrBadVersion},
	{name: "version 8", req: mkRequest("Sec-WebSocket-Version: 8"), want: ErrBadVersion, sentinel: ErrBadVersion},
	{name: "version list", req: mkRequest("Sec-WebSocket-Version: 13, 8"), want: ErrBadVersion, sentinel: ErrBadVersion},
	{name: "version twice", req: mkRequest("+Sec-WebSocket-Version: 13"), want: ErrBadVersion, sentinel: ErrBadVersion},
	// §4.2.1 item 5, §11.3.1.
	{name: "missing key", req: mkRequest("-Sec-WebSocket-Key"), want: &Error{400, ErrBadKey.Reason + ": missing"}, sentinel: ErrBadKey},
	{name: "key twice", req: mkRequest("+Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="), want: &Error{400, ErrBadKey.Reason + ": repeated"}, sentinel: ErrBadKey},
	{name: "key of 15 bytes", req: mkRequest("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j"), want: &Error{400, ErrBadKey.Reason + `: got "dGhlIHNhbXBsZSBub25j"`}, sentinel: ErrBadKey},
	{name: "key not base64", req: mkRequest("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j*Q=="), want: &Error{400, ErrBadKey.Reason + `: got "dGhlIHNhbXBsZSBub25j*Q=="`}, sentinel: ErrBadKey},
	// §4.2.2 step 4 (origin), §10.2.
	{name: "cross origin", req: mkRequest("Origin: http://evil.example"), want: &Error{403, `origin not allowed: "http://evil.example"`}, sentinel: ErrOriginNotAllowed},
	{name: "origin null", req: mkRequest("Origin: null"), want: &Error{403, `origin not allowed: "null"`}, sentinel: ErrOriginNotAllowed},
	{name: "origin twice", req: mkRequest("Origin: http://server.example.com", "+Origin: http://server.example.com"), want: &Error{403, "origin not allowed: repeated Origin header"}, sentinel: ErrOriginNotAllowed},
	{name: "same origin", req: mkRequest("Origin: https://server.example.com")},
	// §4.2.1 item 8 / §11.3.4.
	{name: "subprotocol not a token", req: mkRequest("Sec-WebSocket-Protocol: chat, a/b"), want: &Error{400, `malformed Sec-WebSocket-Protocol: "a/b" is not a token`}, sentinel: ErrBadSubprotocols},
	{name: "no common subprotocol", req: mkRequest("Sec-WebSocket-Protocol: chat"), opts: &ServerOptions{Subprotocols: []string{"mqtt"}}},
	{name: "subprotocols case-sensitive", req: mkRequest("Sec-WebSocket-Protocol: Chat"), opts: &ServerOptions{Subprotocols: []string{"chat"}}},
	{name: "subprotocol on second line", req: mkRequest("Sec-WebSocket-Protocol: a", "+Sec-WebSocket-Protocol: b, mqtt"),
		opts: &ServerOptions{Subprotocols: []string{"mqtt", "a"}}, res: Result{Subprotocol: "mqtt"}},
	{name: "select callback", req: mkRequest("Sec-WebSocket-Protocol: a, b"),
		opts: &ServerOptions{Subprotocols: []string{"a"}, SelectSubprotocol: func(o []string) string { return o[len(o)-1] }}, res: Result{Subprotocol: "b"}},
	{name: "select callback picks unoffered", req: mkRequest("Sec-WebSocket-Protocol: a"),
		opts: &ServerOptions{SelectSubprotocol: func([]string) string { return "z" }}, want: &Error{500, `selected subprotocol was not offered: "z"`}, sentinel: ErrBadSelection},
	// §9.1.
	{name: "malformed extensions", req: mkRequest("Sec-WebSocket-Extensions: x; a=\"1"),
		opts: &ServerOptions{Extensions: []ServerExtension{&fakeExt{name: "x"}}},
		want: &Error{400, "malformed Sec-WebSocket-Extensions: unterminated quoted-string in parameter a"}, sentinel: ErrBadExtensions},
	{name: "extensions ignored when none configured", req: mkRequest("Sec-WebSocket-Extensions: x; a=\"1")},
	{name: "extension negotiated", req: mkRequest("Sec-WebSocket-Extensions: y, x; decline, x; a=1", "+Sec-WebSocket-Extensions: x"),
		opts: &ServerOptions{Extensions: []ServerExtension{&fakeExt{name: "x"}}},
		res:  Result{Extensions: []Extension{{Name: "x", Params: []Param{{Name: "a", Value: "1", HasValue: true}}}}}},
	{name: "extension declined", req: mkRequest("Sec-WebSocket-Extensions: x; decline"),
		opts: &ServerOptions{Extensions: []ServerExtension{&fakeExt{name: "x"}}}},
}

func TestUpgradeChecks(t *testing.T) {
	for _, tt := range serverCases {
		t.Run(tt.name, func(t *testing.T) {
			br := bufio.NewReader(strings.NewReader(tt.req + "after"))
			var out bytes.Buffer
			res, err := Upgrade(br, &out, tt.opts)
			checkOutcome(t, tt, res, err)
			resp, rerr := http.ReadResponse(bufio.NewReader(&out), nil)
			if rerr != nil {
				t.Fatalf("reading the written response: %v\n%s", rerr, out.String())
			}
			if tt.want == nil {
				if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != AcceptKey("dGhlIHNhbXBsZSBub25jZQ==") {
					t.Errorf("response: %d, Sec-WebSocket-Accept %q", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Accept"))
				}
				if rest, _ := io.ReadAll(br); string(rest) != "after" {
					t.Errorf("bytes after the head: %q, want %q", rest, "after")
				}
				return
			}
			body, _ := io.ReadAll(resp.Body)
			checkErrorResponse(t, tt.want, resp.StatusCode, resp.Header, string(body))
			if !resp.Close {
				t.Errorf("response does not close the connection: %q", out.String())
			}
		})
	}
}

// TestCheckRequest runs the same table through net/http's request parser
// and the net/http entry points CheckRequest and WriteError.
func TestCheckRequest(t *testing.T) {
	for _, tt := range serverCases {
		if tt.rawOnly {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(tt.req)))
			if err != nil {
				t.Fatalf("net/http cannot parse the request: %v", err)
			}
			res, accept, err := CheckRequest(r, tt.opts)
			checkOutcome(t, tt, res, err)
			if tt.want == nil {
				if accept != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
					t.Errorf("accept = %q", accept)
				}
				return
			}
			rec := httptest.NewRecorder()
			WriteError(rec, err)
			checkErrorResponse(t, tt.want, rec.Code, rec.Header(), rec.Body.String())
		})
	}
}

func checkOutcome(t *testing.T, tt serverCase, res Result, err error) {
	t.Helper()
	if tt.want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		if diff := cmp.Diff(tt.res, res); diff != "" {
			t.Errorf("Result (-want +got):\n%s", diff)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v, want *Error", err)
	}
	if diff := cmp.Diff(tt.want, e); diff != "" {
		t.Errorf("*Error (-want +got):\n%s", diff)
	}
	if !errors.Is(err, tt.sentinel) {
		t.Errorf("errors.Is(%v, %v) = false", err, tt.sentinel)
	}
}

func checkErrorResponse(t *testing.T, want *Error, status int, h http.Header, body string) {
	t.Helper()
	if status != want.Status || body != want.Reason+"\n" {
		t.Errorf("response %d %q, want %d %q", status, body, want.Status, want.Reason+"\n")
	}
	if ct := h.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if got, want := h.Get("Allow"), map[bool]string{true: "GET"}[status == 405]; got != want {
		t.Errorf("Allow: %q, want %q", got, want)
	}
	if got, want := h.Get("Sec-WebSocket-Version"), map[bool]string{true: "13"}[status == 426]; got != want {
		t.Errorf("Sec-WebSocket-Version: %q, want %q", got, want)
	}
}

func TestErrorIs(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"same pointer", ErrBadMethod, ErrBadMethod, true},
		{"equal value", &Error{405, "method must be GET"}, ErrBadMethod, true},
		{"detailed", &Error{400, ErrBadKey.Reason + ": missing"}, ErrBadKey, true},
		{"other reason", &Error{400, "missing Host header"}, ErrBadKey, false},
		{"prefix without colon", &Error{400, ErrBadKey.Reason + "s"}, ErrBadKey, false},
		{"other status", &Error{403, ErrBadKey.Reason}, ErrBadKey, false},
		{"other type", errors.New("x"), ErrBadKey, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.target); got != tt.want {
				t.Errorf("errors.Is(%v, %v) = %v, want %v", tt.err, tt.target, got, tt.want)
			}
		})
	}
	if got, want := ErrBadVersion.Error(), "handshake: Sec-WebSocket-Version must be 13 (426 Upgrade Required)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestOriginPolicy(t *testing.T) {
	tests := []struct {
		name   string
		origin string
		host   string
		opts   *ServerOptions
		want   bool
	}{
		{"same host", "http://example.com", "example.com", nil, true},
		{"same host different case", "http://EXAMPLE.com", "example.COM", nil, true},
		{"same host and port", "http://example.com:8080", "example.com:8080", nil, true},
		{"default http port in Host", "http://example.com", "example.com:80", nil, true},
		{"default https port in Origin", "https://example.com:443", "example.com", nil, true},
		{"https origin, Host port 80", "https://example.com", "example.com:80", nil, false},
		{"different port", "http://example.com:8080", "example.com:9090", nil, false},
		{"different host", "http://evil.com", "example.com", nil, false},
		{"suffix attack", "http://example.com.evil.com", "example.com", nil, false},
		{"ipv6", "http://[::1]:8080", "[::1]:8080", nil, true},
		{"null", "null", "example.com", nil, false},
		{"origin with path", "http://example.com/x", "example.com", nil, false},
		{"origin with userinfo", "http://a@example.com", "example.com", nil, false},
		{"pattern subdomain", "https://a.b.example.com", "api.other.com", &ServerOptions{OriginPatterns: []string{"*.example.com"}}, true},
		{"pattern does not match apex", "https://example.com", "api.other.com", &ServerOptions{OriginPatterns: []string{"*.example.com"}}, false},
		{"pattern case-insensitive", "https://A.Example.COM", "x", &ServerOptions{OriginPatterns: []string{"*.example.com"}}, true},
		{"pattern ignores port", "https://a.example.com:8443", "x", &ServerOptions{OriginPatterns: []string{"*.example.com"}}, true},
		{"pattern with port", "https://a.example.com:8443", "x", &ServerOptions{OriginPatterns: []string{"*.example.com:8443"}}, true},
		{"pattern with other port", "https://a.example.com:9443", "x", &ServerOptions{OriginPatterns: []string{"*.example.com:8443"}}, false},
		{"star allows all", "https://anything.test", "x", &ServerOptions{OriginPatterns: []string{"*"}}, true},
		{"same origin still allowed with patterns", "http://x", "x", &ServerOptions{OriginPatterns: []string{"*.example.com"}}, true},
		{"callback allows", "http://evil.com", "example.com", &ServerOptions{CheckOrigin: func(o, h string) bool { return o == "http://evil.com" && h == "example.com" }}, true},
		{"callback refuses same origin", "http://example.com", "example.com", &ServerOptions{CheckOrigin: func(o, h string) bool { return false }}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := mkRequest("Host: "+tt.host, "Origin: "+tt.origin)
			_, err := Upgrade(bufio.NewReader(strings.NewReader(req)), io.Discard, tt.opts)
			if got := err == nil; got != tt.want {
				t.Errorf("allowed = %v (err %v), want %v", got, err, tt.want)
			}
			if err != nil && !errors.Is(err, ErrOriginNotAllowed) {
				t.Errorf("err = %v, want ErrOriginNotAllowed", err)
			}
		})
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbbd", false},
		{"*.x", "a.x", true},
		{"*.x", ".x", true},
		{"*.x", "x", false},
		{"a**b", "ab", true},
		{"", "", true},
		{"", "a", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"~"+tt.s, func(t *testing.T) {
			if got := globMatch(tt.pattern, tt.s); got != tt.want {
				t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
			}
		})
	}
}

// TestUpgradeOneByteReader reads every request of the table one byte at a
// time.
func TestUpgradeOneByteReader(t *testing.T) {
	for _, tt := range serverCases {
		t.Run(tt.name, func(t *testing.T) {
			for _, size := range []int{16, 4096} {
				br := bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(tt.req+"after")), size)
				res, err := Upgrade(br, io.Discard, tt.opts)
				checkOutcome(t, tt, res, err)
				if err == nil {
					if rest, _ := io.ReadAll(br); string(rest) != "after" {
						t.Errorf("bufio size %d: bytes after the head %q", size, rest)
					}
				}
			}
		})
	}
}

func TestUpgradeLimits(t *testing.T) {
	big := mkRequest("X-Big: " + strings.Repeat("a", 5000))
	many := mkRequest(strings.Split(strings.Repeat("+X-A: 1\n", 70), "\n")[:70]...)
	tests := []struct {
		name    string
		req     string
		bufSize int
		opts    *ServerOptions
		want    error
	}{
		{"head of 5 KiB in a 4 KiB buffer", big, 4096, nil, nil},
		{"head of 5 KiB in a 16-byte buffer", big, 16, nil, nil},
		{"head above MaxHeadBytes", big, 4096, &ServerOptions{MaxHeadBytes: 4096}, ErrHeadTooLarge},
		{"head above MaxHeadBytes, small limit", big, 4096, &ServerOptions{MaxHeadBytes: 100}, ErrHeadTooLarge},
		{"head above MaxHeadBytes, buffer larger", big, 16384, &ServerOptions{MaxHeadBytes: 5000}, ErrHeadTooLarge},
		{"head exactly MaxHeadBytes", big, 4096, &ServerOptions{MaxHeadBytes: len(big)}, nil},
		{"head one above MaxHeadBytes", big, 4096, &ServerOptions{MaxHeadBytes: len(big) - 1}, ErrHeadTooLarge},
		{"head above default limit", mkRequest("X-Big: " + strings.Repeat("a", 9000)), 4096, nil, ErrHeadTooLarge},
		{"endless head", mkRequest("X-Big: " + strings.Repeat("a", 1<<20)), 4096, nil, ErrHeadTooLarge},
		{"75 fields above default 64", many, 4096, nil, ErrTooManyHeaders},
		{"75 fields within MaxHeaders", many, 4096, &ServerOptions{MaxHeaders: 75}, nil},
		{"75 fields above MaxHeaders 74", many, 4096, &ServerOptions{MaxHeaders: 74}, ErrTooManyHeaders},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(tt.req+"after"), tt.bufSize)
			var out bytes.Buffer
			_, err := Upgrade(br, &out, tt.opts)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err != nil {
				if !strings.HasPrefix(out.String(), "HTTP/1.1 431 ") {
					t.Errorf("response %q, want 431", out.String())
				}
				return
			}
			if rest, _ := io.ReadAll(br); string(rest) != "after" {
				t.Errorf("bytes after the head %q", rest)
			}
		})
	}
}

func TestUpgradeIOErrors(t *testing.T) {
	tests := []struct {
		name string
		r    io.Reader
		want error
	}{
		{"nothing sent", strings.NewReader(""), io.EOF},
		{"stops mid-head", strings.NewReader("GET / HTTP/1.1\r\nHost: x\r\n"), io.ErrUnexpectedEOF},
		{"read error", iotest.ErrReader(errBadParam), errBadParam},
		{"timeout mid-head", iotest.TimeoutReader(strings.NewReader(mkRequest())), iotest.ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := Upgrade(bufio.NewReaderSize(tt.r, 16), &out, nil)
			if err != tt.want {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("wrote %q after an I/O error", out.String())
			}
		})
	}
}

// deadlineWriter records SetReadDeadline calls.
type deadlineWriter struct {
	bytes.Buffer
	deadlines []time.Time
}

func (d *deadlineWriter) SetReadDeadline(t time.Time) error {
	d.deadlines = append(d.deadlines, t)
	return nil
}

func TestUpgradeTimeout(t *testing.T) {
	var w deadlineWriter
	before := time.Now()
	if _, err := Upgrade(bufio.NewReader(strings.NewReader(mkRequest())), &w, &ServerOptions{Timeout: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if len(w.deadlines) != 2 || w.deadlines[0].Before(before.Add(time.Hour)) || !w.deadlines[1].IsZero() {
		t.Errorf("deadlines %v, want now+1h then zero", w.deadlines)
	}
	w.deadlines = nil
	if _, err := Upgrade(bufio.NewReader(strings.NewReader(mkRequest())), &w, nil); err != nil {
		t.Fatal(err)
	}
	if len(w.deadlines) != 0 {
		t.Errorf("deadlines %v without Timeout, want none", w.deadlines)
	}
}

func TestAppendResponse(t *testing.T) {
	got := string(AppendResponse(nil, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", Result{
		Subprotocol: "chat",
		Extensions:  []Extension{{Name: "permessage-deflate", Params: []Param{{Name: "server_no_context_takeover"}}}},
	}, http.Header{
		"X-Server":             {"hybi\r\nInjected: 1"},
		"Sec-Websocket-Accept": {"forged"},
		"Bad Name":             {"x"},
	}))
	want := "HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
		"Sec-WebSocket-Protocol: chat\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n" +
		"X-Server: hybi  Injected: 1\r\n" +
		"\r\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AppendResponse (-want +got):\n%s", diff)
	}
}

func TestErrorResponseStatusBounds(t *testing.T) {
	for _, status := range []int{0, 101, 302, 600} {
		e := &Error{Status: status, Reason: "custom"}
		if got := string(AppendErrorResponse(nil, e)); !strings.HasPrefix(got, "HTTP/1.1 500 Internal Server Error\r\n") {
			t.Errorf("status %d: response %q, want 500", status, got)
		}
		rec := httptest.NewRecorder()
		WriteError(rec, e)
		if rec.Code != 500 || rec.Body.String() != "custom\n" {
			t.Errorf("status %d: WriteError wrote %d %q", status, rec.Code, rec.Body.String())
		}
	}
	rec := httptest.NewRecorder()
	WriteError(rec, io.ErrUnexpectedEOF)
	if rec.Code != 500 || rec.Body.String() != "internal error\n" {
		t.Errorf("non-*Error: WriteError wrote %d %q", rec.Code, rec.Body.String())
	}
}

func TestAppendErrorResponse(t *testing.T) {
	got := string(AppendErrorResponse(nil, ErrBadVersion))
	want := "HTTP/1.1 426 Upgrade Required\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"X-Content-Type-Options: nosniff\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade, close\r\n" +
		"Content-Length: 33\r\n" +
		"\r\n" +
		"Sec-WebSocket-Version must be 13\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AppendErrorResponse (-want +got):\n%s", diff)
	}
}

// TestUpgradeAllocs pins the raw path's allocation budget: a successful
// in-memory upgrade (RFC example request, subprotocol and origin checks)
// allocates nothing, a refusal at most once.
func TestUpgradeAllocs(t *testing.T) {
	o := &ServerOptions{Subprotocols: []string{"superchat"}}
	for _, tt := range []struct {
		name string
		req  string
		max  float64
	}{
		{"success", rfcRequest, 0},
		{"refused", mkRequest("-Upgrade"), 0},
		{"browser-sized request", mkRequest("Connection: keep-alive, Upgrade", "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0)",
			"Origin: http://server.example.com", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
			"Sec-WebSocket-Protocol: chat, superchat", "Cookie: a=b"), 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sr := strings.NewReader(tt.req)
			br := bufio.NewReader(sr)
			n := testing.AllocsPerRun(200, func() {
				sr.Reset(tt.req)
				br.Reset(sr)
				_, _ = Upgrade(br, io.Discard, o)
			})
			if n > tt.max {
				t.Errorf("Upgrade allocates %v times per run, want at most %v", n, tt.max)
			}
		})
	}
}

func TestUpgradeCheckHook(t *testing.T) {
	var uri, method, token, missing string
	o := &ServerOptions{Check: func(h *RequestHead) *Error {
		uri, method = string(h.RequestURI()), string(h.Method())
		token, missing = string(h.Header("authorization")), string(h.Header("X-Missing"))
		if !strings.HasPrefix(string(h.Bytes()), "GET /chat?room=1 HTTP/1.1\r\n") {
			t.Errorf("Bytes() = %q", h.Bytes())
		}
		if token != "Bearer good" {
			return &Error{Status: http.StatusUnauthorized, Reason: "bad token"}
		}
		return nil
	}}
	tests := []struct {
		name  string
		auth  string
		want  *Error
		token string
	}{
		{"allowed", "Bearer good", nil, "Bearer good"},
		{"refused", "Bearer bad", &Error{Status: 401, Reason: "bad token"}, "Bearer bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := Upgrade(bufio.NewReader(strings.NewReader(mkRequest("GET /chat?room=1 HTTP/1.1", "Authorization:  "+tt.auth+" "))), &out, o)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if diff := cmp.Diff([]string{"/chat?room=1", "GET", tt.token, ""}, []string{uri, method, token, missing}); diff != "" {
				t.Errorf("RequestHead views (-want +got):\n%s", diff)
			}
			if tt.want != nil && !strings.HasPrefix(out.String(), "HTTP/1.1 401 Unauthorized\r\n") {
				t.Errorf("response %q", out.String())
			}
		})
	}
}
