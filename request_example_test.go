package websocket_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	websocket "github.com/hybi/websocket"
)

// A raw-socket server (no net/http) that routes by path, authenticates
// with a token from the query string or an Authorization header, and
// refuses everything else with the status, header fields and body it
// chooses. Accept takes the same AcceptOptions.
func ExampleAcceptOptions_onRequest() {
	opts := &websocket.AcceptOptions{
		OnRequest: func(r *websocket.Request) error {
			if r.URL.Path != "/chat" {
				return websocket.Reject(http.StatusNotFound, nil, "no such room\n")
			}
			token := r.URL.Query().Get("token")
			if token == "" {
				token = r.Header.Get("Authorization")
			}
			if token != "secret" && token != "Bearer secret" {
				return websocket.Reject(http.StatusUnauthorized,
					http.Header{"WWW-Authenticate": {`Bearer realm="chat"`}}, "token required\n")
			}
			return nil
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				c, err := websocket.Upgrade(nc, nil, opts)
				if err != nil {
					nc.Close() // the refusal was written already
					return
				}
				c.Close(websocket.CloseNormal, "bye")
			}()
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	base := "ws://" + ln.Addr().String()
	for _, target := range []string{"/lobby?token=secret", "/chat", "/chat?token=secret"} {
		c, _, err := websocket.Dial(ctx, base+target, nil)
		var re *websocket.ResponseError
		switch {
		case errors.As(err, &re):
			fmt.Printf("%s: %s, %q\n", target, re.Status, re.Body)
		case err != nil:
			fmt.Println(target, err)
		default:
			fmt.Printf("%s: connected\n", target)
			c.CloseNow()
		}
	}
	// Output:
	// /lobby?token=secret: 404 Not Found, "no such room\n"
	// /chat: 401 Unauthorized, "token required\n"
	// /chat?token=secret: connected
}
