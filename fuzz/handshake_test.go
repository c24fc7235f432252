package fuzz

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hybi/websocket/handshake"
)

func init() {
	addSeeds("FuzzServerRequest",
		seed{"rfc-1.3", []any{[]byte(rfcRequest), []byte{}}},
		seed{"rfc-1.3-byte-at-a-time", []any{[]byte(rfcRequest), []byte{0}}},
		seed{"deflate-offers", []any{[]byte(strings.Replace(rfcRequest, "\r\n\r\n",
			"\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, permessage-deflate; server_no_context_takeover\r\n"+
				"Sec-WebSocket-Extensions: x-test; a=\"b\"\r\n\r\n", 1)), []byte{7, 30}}},
		seed{"bare-lf-and-trailing-bytes", []any{[]byte(strings.ReplaceAll(rfcRequest, "\r\n", "\n") + "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"), []byte{}}},
		seed{"foreign-origin", []any{[]byte(strings.Replace(rfcRequest, "http://example.com", "http://evil.test", 1)), []byte{}}},
		seed{"bad-version", []any{[]byte(strings.Replace(rfcRequest, "Version: 13", "Version: 8", 1)), []byte{}}},
		seed{"post", []any{[]byte(strings.Replace(rfcRequest, "GET", "POST", 1)), []byte{}}},
		seed{"obs-fold", []any{[]byte(strings.Replace(rfcRequest, "Upgrade: websocket\r\n", "Upgrade:\r\n websocket\r\n", 1)), []byte{}}},
		seed{"truncated", []any{[]byte(rfcRequest[:40]), []byte{}}},
	)
	addSeeds("FuzzClientResponse",
		seed{"rfc-1.3", []any{[]byte(rfcResponse), []byte{}}},
		seed{"rfc-1.3-split", []any{[]byte(rfcResponse + "\x81\x05Hello"), []byte{0, 5, 200}}},
		seed{"deflate", []any{[]byte(strings.Replace(rfcResponse, "\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n", 1)), []byte{}}},
		seed{"unoffered-extension", []any{[]byte(strings.Replace(rfcResponse, "\r\n\r\n", "\r\nSec-WebSocket-Extensions: x-other\r\n\r\n", 1)), []byte{}}},
		seed{"wrong-accept", []any{[]byte(strings.Replace(rfcResponse, "s3pP", "s3pQ", 1)), []byte{}}},
		seed{"403-with-body", []any{[]byte("HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\n\r\nforbidden"), []byte{}}},
		seed{"chunked-body", []any{[]byte("HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), []byte{}}},
	)
	addSeeds("FuzzExtensions",
		seed{"deflate", []any{"permessage-deflate; client_max_window_bits", ""}},
		seed{"two-lines", []any{"permessage-deflate; client_max_window_bits=10; server_no_context_takeover", "permessage-deflate"}},
		seed{"quoted", []any{`foo; bar="baz", x-y ; z = "15"`, " , "}},
		seed{"quoted-escape", []any{`foo; bar="b\az"`, ""}},
		seed{"bad-quoted", []any{`foo; bar="a b"`, ""}},
		seed{"unterminated", []any{`foo; bar="abc`, `def"`}},
		seed{"empty-elements", []any{",,,", "a,,b"}},
	)
}

// chunkReader returns data in reads of the sizes chunks(len, splits) gives.
type chunkReader struct {
	data  []byte
	sizes []int
}

func newChunkReader(data, splits []byte) *chunkReader {
	return &chunkReader{data: data, sizes: chunks(len(data), splits)}
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.sizes[0], len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	if r.sizes[0] -= n; r.sizes[0] == 0 {
		r.sizes = r.sizes[1:]
	}
	return n, nil
}

// echoExtension accepts the client's first offer as it is, on either side;
// a parameter named "reject" makes the client refuse a response.
type echoExtension struct{ name string }

func (e echoExtension) Name() string { return e.name }
func (e echoExtension) Negotiate(offers []handshake.Extension) (handshake.Extension, bool) {
	return offers[0], true
}
func (e echoExtension) Offers() []handshake.Extension {
	return []handshake.Extension{{Name: e.name}}
}
func (e echoExtension) Accept(r handshake.Extension) error {
	for _, p := range r.Params {
		if p.Name == "reject" {
			return errors.New("rejected")
		}
	}
	return nil
}

const fuzzMaxHead = 1024

func serverOptions() *handshake.ServerOptions {
	return &handshake.ServerOptions{
		Subprotocols:   []string{"superchat", "chat"},
		OriginPatterns: []string{"*.example.com", "example.com"},
		Extensions:     []handshake.ServerExtension{echoExtension{"permessage-deflate"}, echoExtension{"x-test"}},
		MaxHeadBytes:   fuzzMaxHead,
		MaxHeaders:     16,
	}
}

type upgradeOutcome struct {
	Res      handshake.Result
	Err      string
	Wrote    string
	Leftover string
}

func runUpgrade(req, splits []byte, bufSize int) upgradeOutcome {
	br := bufio.NewReaderSize(newChunkReader(req, splits), bufSize)
	var w bytes.Buffer
	res, err := handshake.Upgrade(br, &w, serverOptions())
	left, _ := io.ReadAll(br)
	o := upgradeOutcome{Res: res, Wrote: w.String()}
	if err != nil {
		// After a failure the connection is closed: what is left unread
		// does not matter (and legitimately depends on the buffering).
		o.Err = err.Error()
	} else {
		o.Leftover = string(left)
	}
	return o
}

// FuzzServerRequest: Upgrade (the raw-path server handshake, RFC 6455
// §4.2) on arbitrary bytes, read whole through a 4 KiB bufio.Reader and in
// chunks from splits through a 64-byte one (its slow path), gives the same
// verdict, response and leftover bytes both ways. A success means net/http
// parses the same request, CheckRequest agrees, the response is a valid 101
// with the right Sec-WebSocket-Accept, extensions were offered, and the head
// consumed was within MaxHeadBytes. A refusal is a *handshake.Error with a
// 4xx/500 status that was written as a parseable HTTP response.
func FuzzServerRequest(f *testing.F) {
	f.Fuzz(checkServerRequest)
}

func checkServerRequest(t *testing.T, req, splits []byte) {
	{
		whole := runUpgrade(req, nil, 4096)
		split := runUpgrade(req, splits, 64)
		if diff := cmp.Diff(whole, split); diff != "" {
			t.Fatalf("Upgrade depends on chunking/buffer size (-whole +split):\n%s\nrequest %q", diff, req)
		}
		br := bufio.NewReaderSize(bytes.NewReader(req), 4096)
		var w bytes.Buffer
		res, err := handshake.Upgrade(br, &w, serverOptions())
		var he *handshake.Error
		switch {
		case err == nil:
		case errors.As(err, &he):
			switch he.Status {
			case 400, 403, 405, 426, 431, 500:
			default:
				t.Fatalf("refusal with status %d: %v", he.Status, err)
			}
			resp, rerr := http.ReadResponse(bufio.NewReader(&w), nil)
			if rerr != nil || resp.StatusCode != he.Status {
				t.Fatalf("error response %q does not parse as status %d: %v", w.String(), he.Status, rerr)
			}
			return
		case errors.Is(err, io.EOF) && len(req) == 0, errors.Is(err, io.ErrUnexpectedEOF) && len(req) > 0:
			if w.Len() != 0 {
				t.Fatalf("wrote %q after an I/O error", w.String())
			}
			return
		default:
			t.Fatalf("Upgrade(%q): unexpected error %v", req, err)
		}
		consumed := len(req) - len(whole.Leftover)
		if consumed > fuzzMaxHead {
			t.Fatalf("Upgrade consumed %d bytes, limit %d", consumed, fuzzMaxHead)
		}

		// RFC 6455 §4.2.1 item 1: the Request-URI "MUST match the
		// /resource name/ defined in Section 3 (a relative URI) or be an
		// absolute http/https URI"; §3: no fragment. A request that does not
		// match gets 400 (§4.2.1).
		head := req[:consumed]
		line, _, _ := bytes.Cut(head, []byte("\n"))
		if f := bytes.Fields(line); len(f) == 3 && !validRequestTarget(string(f[1])) {
			t.Fatalf("Upgrade accepted request-target %q (RFC 6455 §4.2.1, §3)", f[1])
		}
		hreq, herr := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
		if herr != nil {
			t.Fatalf("Upgrade accepted %q, net/http does not parse it: %v", req[:consumed], herr)
		}
		hres, accept, cerr := handshake.CheckRequest(hreq, serverOptions())
		if cerr != nil {
			t.Fatalf("Upgrade accepted %q, CheckRequest refuses: %v", req[:consumed], cerr)
		}
		if diff := cmp.Diff(res, hres); diff != "" {
			t.Fatalf("Upgrade and CheckRequest disagree (-Upgrade +CheckRequest):\n%s", diff)
		}
		if want := handshake.AcceptKey(hreq.Header.Get("Sec-WebSocket-Key")); accept != want {
			t.Fatalf("CheckRequest accept %q, want %q", accept, want)
		}
		resp, rerr := http.ReadResponse(bufio.NewReader(&w), hreq)
		if rerr != nil {
			t.Fatalf("101 response %q does not parse: %v", w.String(), rerr)
		}
		if resp.StatusCode != 101 || !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") ||
			!strings.EqualFold(resp.Header.Get("Connection"), "Upgrade") ||
			resp.Header.Get("Sec-WebSocket-Accept") != accept ||
			resp.Header.Get("Sec-WebSocket-Protocol") != res.Subprotocol {
			t.Fatalf("bad 101 response %q for %q", whole.Wrote, req)
		}
		if len(res.Extensions) > 0 {
			offered, oerr := handshake.ParseExtensions(hreq.Header.Values("Sec-WebSocket-Extensions"))
			if oerr != nil {
				t.Fatalf("accepted extensions from an unparseable offer: %v", oerr)
			}
			got, gerr := handshake.ParseExtensions(resp.Header.Values("Sec-WebSocket-Extensions"))
			if gerr != nil {
				t.Fatalf("response extensions do not parse: %v", gerr)
			}
			if diff := cmp.Diff(res.Extensions, got); diff != "" {
				t.Fatalf("response extensions differ from Result (-Result +response):\n%s", diff)
			}
			for _, e := range res.Extensions {
				if !containsExtension(offered, e) {
					t.Fatalf("response element %v was not offered in %v", e, offered)
				}
			}
		}
		if res.Subprotocol != "" && res.Subprotocol != "chat" && res.Subprotocol != "superchat" {
			t.Fatalf("selected subprotocol %q was not configured", res.Subprotocol)
		}
	}
}

func containsExtension(list []handshake.Extension, e handshake.Extension) bool {
	for _, x := range list {
		if cmp.Equal(x, e) {
			return true
		}
	}
	return false
}

type responseOutcome struct {
	Res      handshake.Result
	Err      string
	Leftover string
}

func clientOptions() *handshake.ClientOptions {
	return &handshake.ClientOptions{
		Subprotocols: []string{"chat", "superchat"},
		Extensions:   []handshake.ClientExtension{echoExtension{"permessage-deflate"}},
		MaxHeadBytes: fuzzMaxHead,
		MaxHeaders:   16,
	}
}

func runReadResponse(resp, splits []byte, bufSize int) (responseOutcome, error) {
	br := bufio.NewReaderSize(newChunkReader(resp, splits), bufSize)
	res, err := handshake.ReadResponse(br, rfcKeyB64, clientOptions())
	left, _ := io.ReadAll(br)
	o := responseOutcome{Res: res}
	if err == nil {
		o.Leftover = string(left)
	}
	var re *handshake.ResponseError
	switch {
	case errors.As(err, &re):
		// The body of a refusal without Content-Length is what happens to be
		// buffered (ReadResponse does not wait for more), so it may differ
		// between chunkings: compare status, header fields and cause only.
		o.Err = fmt.Sprintf("status %d %q header %v: %v", re.StatusCode, re.Status, re.Header, re.Err)
	case err != nil:
		o.Err = err.Error()
	}
	return o, err
}

// FuzzClientResponse: ReadResponse (RFC 6455 §4.1) for the §1.3 key gives
// the same verdict and leaves the same bytes whole and chunked. A success
// means net/http parses the same head as a 101 whose Sec-WebSocket-Accept is
// the §1.3 value, Upgrade is websocket, the subprotocol and every extension
// were offered; the head consumed is within MaxHeadBytes. A failure is a
// *handshake.ResponseError with a cause and at most 1 KiB of body, or
// io.ErrUnexpectedEOF.
func FuzzClientResponse(f *testing.F) {
	f.Fuzz(func(t *testing.T, resp, splits []byte) {
		whole, err := runReadResponse(resp, nil, 4096)
		split, _ := runReadResponse(resp, splits, 64)
		if diff := cmp.Diff(whole, split); diff != "" {
			t.Fatalf("ReadResponse depends on chunking/buffer size (-whole +split):\n%s\nresponse %q", diff, resp)
		}
		var re *handshake.ResponseError
		switch {
		case err == nil:
		case errors.As(err, &re):
			if re.Err == nil || len(re.Body) > 1024 {
				t.Fatalf("ResponseError without cause or with %d body bytes: %v", len(re.Body), err)
			}
			return
		case errors.Is(err, io.ErrUnexpectedEOF):
			return
		default:
			t.Fatalf("ReadResponse(%q): unexpected error %v", resp, err)
		}
		consumed := len(resp) - len(whole.Leftover)
		if consumed > fuzzMaxHead {
			t.Fatalf("ReadResponse consumed %d bytes, limit %d", consumed, fuzzMaxHead)
		}
		hresp, herr := http.ReadResponse(bufio.NewReader(bytes.NewReader(resp[:consumed])), nil)
		if herr != nil {
			t.Fatalf("ReadResponse accepted %q, net/http does not parse it: %v", resp[:consumed], herr)
		}
		if hresp.StatusCode != 101 || hresp.Header.Get("Sec-WebSocket-Accept") != rfcAcceptB64 ||
			!strings.EqualFold(hresp.Header.Get("Upgrade"), "websocket") {
			t.Fatalf("ReadResponse accepted %q (net/http: status %d, header %v)", resp[:consumed], hresp.StatusCode, hresp.Header)
		}
		// The Result carries the 101 as net/http reads it.
		if whole.Res.StatusCode != 101 || whole.Res.Header.Get("Sec-WebSocket-Accept") != rfcAcceptB64 {
			t.Fatalf("ReadResponse(%q): Result status %d, header %v", resp[:consumed], whole.Res.StatusCode, whole.Res.Header)
		}
		if p := whole.Res.Subprotocol; p != "" && p != "chat" && p != "superchat" {
			t.Fatalf("accepted unoffered subprotocol %q", p)
		}
		for _, e := range whole.Res.Extensions {
			if !strings.EqualFold(e.Name, "permessage-deflate") {
				t.Fatalf("accepted unoffered extension %v", e)
			}
		}
	})
}

// FuzzExtensions: the Sec-WebSocket-Extensions grammar (RFC 6455 §9.1).
// Whatever ParseExtensions accepts has token names and token values,
// re-encodes with AppendExtensions to a fixpoint that parses back to the
// same list, and parses the same when its header lines are joined with a
// comma (RFC 7230 §3.2.2). Errors are 400 and match ErrBadExtensions.
func FuzzExtensions(f *testing.F) {
	f.Fuzz(func(t *testing.T, a, b string) {
		exts, err := handshake.ParseExtensions([]string{a, b})
		if err != nil {
			var he *handshake.Error
			if !errors.As(err, &he) || he.Status != 400 || !errors.Is(err, handshake.ErrBadExtensions) {
				t.Fatalf("ParseExtensions(%q, %q) error %v is not a 400 ErrBadExtensions", a, b, err)
			}
			return
		}
		for _, e := range exts {
			if !isToken(e.Name) {
				t.Fatalf("extension name %q is not a token (input %q, %q)", e.Name, a, b)
			}
			for _, p := range e.Params {
				if !isToken(p.Name) || (p.HasValue && !isToken(p.Value)) || (!p.HasValue && p.Value != "") {
					t.Fatalf("bad parameter %+v (input %q, %q)", p, a, b)
				}
			}
			if s, w := e.String(), string(handshake.AppendExtensions(nil, []handshake.Extension{e})); s != w {
				t.Fatalf("String() = %q, AppendExtensions = %q", s, w)
			}
		}
		enc := handshake.AppendExtensions(nil, exts)
		again, err := handshake.ParseExtensions([]string{string(enc)})
		if err != nil {
			t.Fatalf("ParseExtensions(AppendExtensions(...) = %q): %v", enc, err)
		}
		if diff := cmp.Diff(normExts(exts), normExts(again)); diff != "" {
			t.Fatalf("round trip of %q, %q via %q (-first +second):\n%s", a, b, enc, diff)
		}
		if enc2 := handshake.AppendExtensions(nil, again); !bytes.Equal(enc, enc2) {
			t.Fatalf("AppendExtensions is not a fixpoint: %q then %q", enc, enc2)
		}
		joined, err := handshake.ParseExtensions([]string{a + "," + b})
		if err != nil {
			t.Fatalf("lines %q and %q parse, joined with a comma they do not: %v", a, b, err)
		}
		if diff := cmp.Diff(normExts(exts), normExts(joined)); diff != "" {
			t.Fatalf("joining lines %q and %q changes the result (-lines +joined):\n%s", a, b, diff)
		}
	})
}

// normExts makes empty and nil parameter lists compare equal.
func normExts(exts []handshake.Extension) string {
	var b strings.Builder
	for _, e := range exts {
		fmt.Fprintf(&b, "%q", e.Name)
		for _, p := range e.Params {
			fmt.Fprintf(&b, ";%q=%v:%q", p.Name, p.HasValue, p.Value)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// isToken is RFC 7230 §3.2.6: token = 1*tchar.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validRequestTarget reports whether target is a /resource name/ of RFC 6455
// §3 ("/" path-abempty [ "?" query ], no fragment) or an absolute http(s) or
// ws(s) URI with a host, in printable ASCII with valid percent-encoding
// (RFC 3986).
func validRequestTarget(target string) bool {
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return false
	}
	if strings.HasPrefix(target, "/") {
		return true
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
		return u.Host != ""
	}
	return false
}
