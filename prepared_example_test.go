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

// A Hub broadcasting to every connected client: a client that stops
// reading is dropped (closed with 1008) instead of delaying the others.
func ExampleHub() {
	var hub websocket.Hub
	defer hub.Close()
	joined := make(chan struct{})
	url, stop := startServer(func(c *websocket.Conn) {
		hub.Add(c)
		defer hub.Remove(c)
		joined <- struct{}{}
		for {
			if _, _, err := c.ReadMessage(nil); err != nil {
				return // the client left
			}
		}
	})
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var clients []*websocket.Conn
	for range 2 {
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			fmt.Println("dial:", err)
			return
		}
		<-joined
		clients = append(clients, c)
	}
	pm, _ := websocket.NewPreparedMessage(websocket.Text, []byte("to all"))
	fmt.Println("sent to", hub.Broadcast(pm))
	for _, c := range clients {
		_, msg, err := c.ReadMessage(nil)
		fmt.Println(string(msg), err)
		c.Close(websocket.CloseNormal, "")
	}
	// Output:
	// sent to 2
	// to all <nil>
	// to all <nil>
}
