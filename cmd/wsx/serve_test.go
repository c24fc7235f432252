package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	websocket "github.com/hybi/websocket"
	"github.com/hybi/websocket/frame"
)

// Both echo servers, goroutine per connection and Loop, write every
// message back with its type, negotiate compression when asked, and take
// messages larger than the default limit.
func TestEchoHandler(t *testing.T) {
	for _, loop := range []bool{false, true} {
		for _, compress := range []bool{false, true} {
			t.Run(fmt.Sprintf("loop=%v/compress=%v", loop, compress), func(t *testing.T) {
				h, stop, err := echoHandler(compress, loop)
				if err != nil {
					t.Fatal(err)
				}
				srv := httptest.NewServer(h)
				defer srv.Close()
				defer stop()
				c, res, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/",
					&websocket.DialOptions{Options: websocket.Options{Compression: true, MaxMessageSize: 64 << 20}, Proxy: websocket.NoProxy})
				if err != nil {
					t.Fatal(err)
				}
				defer c.CloseNow()
				if got := len(res.Extensions) == 1; got != compress {
					t.Errorf("extensions %v, want permessage-deflate: %v", res.Extensions, compress)
				}
				for _, m := range []struct {
					name string
					typ  websocket.MessageType
					p    []byte
				}{
					{"empty text", websocket.Text, nil},
					{"text", websocket.Text, []byte("Hello, world!")},
					{"binary", websocket.Binary, []byte{0, 1, 2, 0xff}},
					{"binary 16 MiB", websocket.Binary, make([]byte, 16<<20)},
				} {
					t.Run(m.name, func(t *testing.T) {
						if err := c.WriteMessage(m.typ, m.p); err != nil {
							t.Fatal(err)
						}
						typ, got, err := c.ReadMessage(nil)
						if err != nil {
							t.Fatal(err)
						}
						if typ != m.typ || string(got) != string(m.p) {
							t.Errorf("echo is type %v, %d bytes; want type %v, %d bytes", typ, len(got), m.typ, len(m.p))
						}
					})
				}
				if err := c.Close(frame.CloseNormal, ""); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
		}
	}
}
