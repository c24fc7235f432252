package handshake_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/hybi/websocket/handshake"
)

func ExampleAcceptKey() {
	// The vector of RFC 6455 §1.3.
	fmt.Println(handshake.AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="))
	// Output: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
}

// The raw path: a server that owns its sockets reads the request off a
// bufio.Reader and writes the response itself. Here the "connection" is in
// memory.
func ExampleUpgrade() {
	req := "GET /chat HTTP/1.1\r\n" +
		"Host: server.example.com\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: keep-alive, Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		"Origin: http://server.example.com\r\n" +
		"Sec-WebSocket-Protocol: chat, superchat\r\n" +
		"Sec-WebSocket-Version: 13\r\n\r\n"
	br := bufio.NewReader(strings.NewReader(req))
	var out bytes.Buffer
	res, err := handshake.Upgrade(br, &out, &handshake.ServerOptions{Subprotocols: []string{"superchat"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("subprotocol %q\n", res.Subprotocol)
	fmt.Print(strings.ReplaceAll(out.String(), "\r\n", "\n"))
	// Output:
	// subprotocol "superchat"
	// HTTP/1.1 101 Switching Protocols
	// Upgrade: websocket
	// Connection: Upgrade
	// Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
	// Sec-WebSocket-Protocol: superchat
}

// A refused request gets a one-line reason and a matchable *Error.
func ExampleUpgrade_refused() {
	req := "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"
	var out bytes.Buffer
	_, err := handshake.Upgrade(bufio.NewReader(strings.NewReader(req)), &out, nil)
	fmt.Println(err)
	fmt.Println(errors.Is(err, handshake.ErrBadVersion))
	fmt.Print(strings.ReplaceAll(out.String(), "\r\n", "\n"))
	// Output:
	// handshake: Sec-WebSocket-Version must be 13 (426 Upgrade Required)
	// true
	// HTTP/1.1 426 Upgrade Required
	// Content-Type: text/plain; charset=utf-8
	// X-Content-Type-Options: nosniff
	// Sec-WebSocket-Version: 13
	// Upgrade: websocket
	// Connection: Upgrade, close
	// Content-Length: 33
	//
	// Sec-WebSocket-Version must be 13
}

// CheckRequest and WriteError serve a net/http handler; on success the
// handler hijacks the connection and writes AppendResponse's bytes.
func ExampleCheckRequest() {
	handler := func(w http.ResponseWriter, r *http.Request) {
		res, accept, err := handshake.CheckRequest(r, &handshake.ServerOptions{
			OriginPatterns: []string{"*.example.com"},
		})
		if err != nil {
			handshake.WriteError(w, err)
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		// brw.Reader holds any bytes the client sent after its request.
		_ = brw
		_, _ = c.Write(handshake.AppendResponse(nil, accept, res, nil))
	}

	// A browser page on another site tries to connect.
	r := httptest.NewRequest("GET", "http://api.example.com/ws", nil)
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Origin", "https://evil.test")
	w := httptest.NewRecorder()
	handler(w, r)
	fmt.Print(w.Code, " ", w.Body.String())
	// Output: 403 origin not allowed: "https://evil.test"
}

func ExampleAppendRequest() {
	u, _ := url.Parse("wss://example.com:443/chat?room=1")
	b, _ := handshake.AppendRequest(nil, u, "dGhlIHNhbXBsZSBub25jZQ==", &handshake.ClientOptions{
		Origin:       "https://example.com",
		Subprotocols: []string{"chat"},
	})
	fmt.Print(strings.ReplaceAll(string(b), "\r\n", "\n"))
	// Output:
	// GET /chat?room=1 HTTP/1.1
	// Host: example.com
	// Upgrade: websocket
	// Connection: Upgrade
	// Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
	// Sec-WebSocket-Version: 13
	// Origin: https://example.com
	// Sec-WebSocket-Protocol: chat
}

func ExampleReadResponse() {
	resp := "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 19\r\n\r\norigin not allowed\n"
	_, err := handshake.ReadResponse(bufio.NewReader(strings.NewReader(resp)), "dGhlIHNhbXBsZSBub25jZQ==", nil)
	fmt.Println(err)
	var re *handshake.ResponseError
	if errors.As(err, &re) {
		fmt.Println(re.StatusCode, re.Header.Get("Content-Type"))
	}
	fmt.Println(errors.Is(err, handshake.ErrOriginNotAllowed))
	// Output:
	// handshake: server answered 403 Forbidden: origin not allowed
	// 403 text/plain; charset=utf-8
	// true
}

func ExampleParseExtensions() {
	exts, err := handshake.ParseExtensions([]string{
		`permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits="10"`,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range exts {
		fmt.Printf("%s %+v\n", e.Name, e.Params)
	}
	fmt.Println(string(handshake.AppendExtensions(nil, exts)))
	_, err = handshake.ParseExtensions([]string{"permessage-deflate; x=\"1"})
	fmt.Println(err)
	// Output:
	// permessage-deflate [{Name:client_max_window_bits Value: HasValue:false}]
	// permessage-deflate [{Name:server_max_window_bits Value:10 HasValue:true}]
	// permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits=10
	// handshake: malformed Sec-WebSocket-Extensions: unterminated quoted-string in parameter x (400 Bad Request)
}
