package handshake

import (
	"bufio"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// BenchmarkUpgrade is the raw path in memory: the RFC 6455 §1.2 request
// (Origin and subprotocol checks included) read from a bufio.Reader and the
// 101 response written to an io.Writer.
func BenchmarkUpgrade(b *testing.B) {
	o := &ServerOptions{Subprotocols: []string{"superchat"}}
	sr := strings.NewReader(rfcRequest)
	br := bufio.NewReader(sr)
	b.ReportAllocs()
	b.SetBytes(int64(len(rfcRequest)))
	for b.Loop() {
		sr.Reset(rfcRequest)
		br.Reset(sr)
		if _, err := Upgrade(br, io.Discard, o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpgradeFirefox is the raw path with a browser-sized request
// (User-Agent, cookies, permessage-deflate offer the server does not use).
func BenchmarkUpgradeFirefox(b *testing.B) {
	req := mkRequest("Connection: keep-alive, Upgrade",
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
		"Accept: */*", "Accept-Language: en-US,en;q=0.5", "Accept-Encoding: gzip, deflate, br, zstd",
		"Origin: http://server.example.com", "Sec-WebSocket-Extensions: permessage-deflate",
		"Sec-Fetch-Dest: empty", "Sec-Fetch-Mode: websocket", "Sec-Fetch-Site: same-origin",
		"Pragma: no-cache", "Cache-Control: no-cache", "Cookie: session=0123456789abcdef0123456789abcdef")
	sr := strings.NewReader(req)
	br := bufio.NewReader(sr)
	b.ReportAllocs()
	b.SetBytes(int64(len(req)))
	for b.Loop() {
		sr.Reset(req)
		br.Reset(sr)
		if _, err := Upgrade(br, io.Discard, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNetHTTPPath is the net/http path in memory: CheckRequest on a
// parsed *http.Request and AppendResponse into a reused buffer (what
// websocket.Accept does after net/http parsed the request).
func BenchmarkNetHTTPPath(b *testing.B) {
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(rfcRequest)))
	if err != nil {
		b.Fatal(err)
	}
	o := &ServerOptions{Subprotocols: []string{"superchat"}}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	b.SetBytes(int64(len(rfcRequest)))
	for b.Loop() {
		res, accept, err := CheckRequest(r, o)
		if err != nil {
			b.Fatal(err)
		}
		buf = AppendResponse(buf[:0], accept, res, nil)
	}
}

// BenchmarkNetHTTPPathWithParse adds net/http's own request parsing, for
// comparison with BenchmarkUpgrade.
func BenchmarkNetHTTPPathWithParse(b *testing.B) {
	o := &ServerOptions{Subprotocols: []string{"superchat"}}
	sr := strings.NewReader(rfcRequest)
	br := bufio.NewReader(sr)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	b.SetBytes(int64(len(rfcRequest)))
	for b.Loop() {
		sr.Reset(rfcRequest)
		br.Reset(sr)
		r, err := http.ReadRequest(br)
		if err != nil {
			b.Fatal(err)
		}
		res, accept, err := CheckRequest(r, o)
		if err != nil {
			b.Fatal(err)
		}
		buf = AppendResponse(buf[:0], accept, res, nil)
	}
}

func BenchmarkAcceptKey(b *testing.B) {
	key := []byte(rfcKey)
	buf := make([]byte, 0, 28)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendAcceptKey(buf[:0], key)
	}
}

// BenchmarkClient builds a request and checks the 101 response.
func BenchmarkClient(b *testing.B) {
	u, _ := url.Parse("ws://server.example.com/chat")
	o := &ClientOptions{Subprotocols: []string{"chat"}}
	resp := mkResponse("Sec-WebSocket-Protocol: chat")
	sr := strings.NewReader(resp)
	br := bufio.NewReader(sr)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendRequest(buf[:0], u, rfcKey, o); err != nil {
			b.Fatal(err)
		}
		sr.Reset(resp)
		br.Reset(sr)
		if _, err := ReadResponse(br, rfcKey, o); err != nil {
			b.Fatal(err)
		}
	}
}
