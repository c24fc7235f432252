package websocket_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	websocket "github.com/hybi/websocket"
)

// Dial gives back the server's 101 response besides the Conn: the agreed
// subprotocol, the status and every header field (the server's own,
// Set-Cookie), with the root package only.
func ExampleDial() {
	srv := newServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
			Subprotocols: []string{"chat.v1"},
			Header:       http.Header{"X-Server": {"example/1.0"}, "Set-Cookie": {"session=42; Path=/"}},
		})
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.ReadMessage(nil) // until the client closes
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &websocket.DialOptions{
		Subprotocols: []string{"chat.v1"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()
	var r websocket.DialResult = res
	fmt.Println(r.Status)
	fmt.Println("subprotocol:", r.Subprotocol)
	fmt.Println("server:", r.Header.Get("X-Server"))
	fmt.Println("cookie:", r.Header.Get("Set-Cookie"))
	c.Close(websocket.CloseNormal, "")
	// Output:
	// 101 Switching Protocols
	// subprotocol: chat.v1
	// server: example/1.0
	// cookie: session=42; Path=/
}

// A cookie jar carries cookies across dials, as in a browser: the server
// sets a session cookie in its 101 response, and the next Dial with the
// same jar sends it back. The jar knows ws URLs as http (wss as https), so
// an http.Client can share it (a login over HTTPS, then the WebSocket).
func ExampleDialOptions_jar() {
	srv := newServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var h http.Header
		if ck, err := r.Cookie("session"); err == nil {
			fmt.Println("server: welcome back,", ck.Value)
		} else {
			h = http.Header{"Set-Cookie": {"session=42; Path=/; HttpOnly"}}
		}
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Header: h})
		if err != nil {
			return
		}
		c.CloseNow()
	}))
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	opts := &websocket.DialOptions{Jar: jar}
	for range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), opts)
		cancel()
		if err != nil {
			log.Fatal(err)
		}
		c.CloseNow()
	}
	// Output:
	// server: welcome back, 42
}

// A proxy that refuses the CONNECT request gives a *ProxyError: its status,
// header (here the credentials it wants) and the start of its body.
func ExampleProxyError() {
	proxy := newServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Proxy-Authenticate", `Basic realm="corp"`)
		http.Error(w, "credentials required", http.StatusProxyAuthRequired)
	}))
	defer proxy.Close()
	proxyURL, _ := url.Parse(proxy.URL)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := websocket.Dial(ctx, "ws://chat.example/", &websocket.DialOptions{Proxy: http.ProxyURL(proxyURL)})
	var pe *websocket.ProxyError
	if errors.As(err, &pe) {
		fmt.Println(pe.Status)
		fmt.Println(pe.Header.Get("Proxy-Authenticate"))
		fmt.Printf("%s", pe.Body)
	}
	// Output:
	// 407 Proxy Authentication Required
	// Basic realm="corp"
	// credentials required
}

// A SOCKS5 proxy is a socks5h URL (the proxy resolves the host name) or a
// socks5 URL (Dial resolves it and sends the address), with user info for
// username/password authentication. A refusal is a *SOCKSError carrying
// the proxy's reply code. Here a stand-in proxy refuses every CONNECT with
// reply 4, host unreachable.
func ExampleSOCKSError() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		io.ReadFull(nc, make([]byte, 2+2))             // version 5, methods: none, username/password
		nc.Write([]byte{5, 0})                         // no authentication needed
		io.ReadFull(nc, make([]byte, 5+12+2))          // CONNECT, the name chat.example, port 80
		nc.Write([]byte{5, 4, 0, 1, 0, 0, 0, 0, 0, 0}) // reply 4
	}()

	proxy := &url.URL{Scheme: "socks5h", Host: ln.Addr().String(), User: url.UserPassword("alice", "s3cret")}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err = websocket.Dial(ctx, "ws://chat.example/", &websocket.DialOptions{Proxy: http.ProxyURL(proxy)})
	var se *websocket.SOCKSError
	if errors.As(err, &se) {
		fmt.Println("reply:", se.Reply)
		fmt.Println(strings.ReplaceAll(err.Error(), se.Proxy, "PROXY"))
	}
	// Output:
	// reply: 4
	// websocket: dial: socks5 proxy PROXY refused CONNECT: host unreachable (reply 4)
}

// A refused handshake is a *ResponseError, matched with the root package
// alone: the server's status, header and the start of its body.
func ExampleResponseError() {
	srv := newServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Reason", "maintenance")
		http.Error(w, "come back at noon", http.StatusServiceUnavailable)
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	var re *websocket.ResponseError
	if errors.As(err, &re) {
		fmt.Println(re.Status)
		fmt.Println("reason:", re.Header.Get("X-Reason"))
		fmt.Printf("body: %q\n", re.Body)
	}
	// Output:
	// 503 Service Unavailable
	// reason: maintenance
	// body: "come back at noon\n"
}
