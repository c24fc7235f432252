package websocket_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
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
