package websocket_test

import (
	"context"
	"fmt"
	"time"

	websocket "github.com/hybi/websocket"
)

// A message encoded once and written to three clients: the frame (and,
// for compressed connections, the compressed payload) is made at the
// first write and shared by the others.
func ExamplePreparedMessage() {
	pm, err := websocket.NewPreparedMessage(websocket.Text, []byte("news for everyone"))
	if err != nil {
		fmt.Println(err)
		return
	}
	url, stop := startServer(func(c *websocket.Conn) {
		if err := c.WritePreparedMessage(pm); err != nil {
			return
		}
		c.ReadMessage(nil) // until the client closes
	})
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := range 3 {
		c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Options: websocket.Options{Compression: i == 2}})
		if err != nil {
			fmt.Println("dial:", err)
			return
		}
		_, msg, err := c.ReadMessage(nil)
		fmt.Println(i, string(msg), err)
		c.Close(websocket.CloseNormal, "")
	}
	// Output:
	// 0 news for everyone <nil>
	// 1 news for everyone <nil>
	// 2 news for everyone <nil>
}
