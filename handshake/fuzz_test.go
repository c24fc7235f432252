package handshake

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzUpgrade feeds arbitrary request heads to the raw server path: it must
// not panic, must answer with a response net/http can parse, and a success
// must leave the bytes after the head in the reader.
func FuzzUpgrade(f *testing.F) {
	f.Add([]byte(rfcRequest))
	f.Add([]byte(mkRequest("Sec-WebSocket-Extensions: x; a=\"1\", x", "Connection: keep-alive, Upgrade")))
	f.Add([]byte(mkRequest("-Host", "+X: \x00")))
	f.Add([]byte("GET / HTTP/1.1\n\n"))
	o := &ServerOptions{
		Subprotocols:   []string{"chat", "superchat"},
		OriginPatterns: []string{"*.example.com"},
		Extensions:     []ServerExtension{&fakeExt{name: "x"}},
		MaxHeadBytes:   1024,
	}
	f.Fuzz(func(t *testing.T, req []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(append(req, "\r\n\r\nafter"...)), 64)
		var out bytes.Buffer
		_, err := Upgrade(br, &out, o)
		if out.Len() == 0 {
			if _, isErr := err.(*Error); isErr || err == nil {
				t.Fatalf("no response written, err %v", err)
			}
			return
		}
		resp, rerr := http.ReadResponse(bufio.NewReader(&out), nil)
		if rerr != nil {
			t.Fatalf("unparsable response %q: %v", out.String(), rerr)
		}
		if (err == nil) != (resp.StatusCode == 101) {
			t.Fatalf("err %v with status %d", err, resp.StatusCode)
		}
		if err == nil {
			if rest, _ := io.ReadAll(br); !strings.HasSuffix(string(rest), "after") {
				t.Fatalf("bytes after the head lost: %q", rest)
			}
		}
	})
}

// FuzzParseExtensions checks that ParseExtensions does not panic and that
// what it accepts round-trips through AppendExtensions.
func FuzzParseExtensions(f *testing.F) {
	for _, s := range []string{
		"permessage-deflate; client_max_window_bits",
		`permessage-deflate; server_max_window_bits="10", x`,
		`x; a="1\0"`, ", ,", "a;b=c;d",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		exts, err := ParseExtensions([]string{s})
		if err != nil {
			if !strings.HasPrefix(err.(*Error).Reason, ErrBadExtensions.Reason) {
				t.Fatalf("error %v", err)
			}
			return
		}
		again, err := ParseExtensions([]string{string(AppendExtensions(nil, exts))})
		if err != nil {
			t.Fatalf("re-parse of %q: %v", AppendExtensions(nil, exts), err)
		}
		if diff := cmp.Diff(exts, again); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

// FuzzReadResponse checks that the client never panics on a response.
func FuzzReadResponse(f *testing.F) {
	f.Add([]byte(mkResponse("Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Extensions: x; a=1")))
	f.Add([]byte("HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 99999999999\r\n\r\nx"))
	o := &ClientOptions{Subprotocols: []string{"chat"}, Extensions: []ClientExtension{&fakeExt{name: "x"}}, MaxHeadBytes: 1024}
	f.Fuzz(func(t *testing.T, resp []byte) {
		_, err := ReadResponse(bufio.NewReaderSize(bytes.NewReader(resp), 64), rfcKey, o)
		if re, ok := err.(*ResponseError); ok {
			_ = re.Error()
			if len(re.Body) > maxErrorBody {
				t.Fatalf("body of %d bytes", len(re.Body))
			}
		}
	})
}
