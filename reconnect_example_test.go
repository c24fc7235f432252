package websocket_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	websocket "github.com/hybi/websocket"
)

// A client that stays subscribed across a server restart. The server ends
// the first connection with 1012 (service restart); the Reconnector
// reports why, waits (exponential backoff with full jitter), dials again
// and runs OnConnect, which subscribes anew on every connection.
func ExampleReconnector() {
	var conns atomic.Int32
	url, stop := startServer(func(c *websocket.Conn) {
		if conns.Add(1) == 1 {
			c.Close(websocket.CloseServiceRestart, "deploying")
			return
		}
		for { // echo
			typ, msg, err := c.ReadMessage(nil)
			if err != nil {
				return
			}
			c.WriteMessage(typ, msg)
		}
	})
	defer stop()

	var r *websocket.Reconnector
	r = websocket.NewReconnector(url, &websocket.ReconnectOptions{
		Delay: 10 * time.Millisecond, // the first wait is at most this (default 1 s)
		// An application's own "go away for good" code stops Run.
		FinalCloseCodes: []websocket.CloseCode{4001},
		OnConnect: func(ctx context.Context, c *websocket.Conn) error {
			return c.WriteMessage(websocket.Text, []byte("subscribe prices"))
		},
		OnMessage: func(c *websocket.Conn, typ websocket.MessageType, p []byte) {
			fmt.Printf("got %q\n", p)
			r.Close() // enough for the example
		},
		OnEvent: func(ev websocket.ReconnectEvent) {
			// In a real program: log.Println(ev), which says everything.
			switch ev.Kind {
			case websocket.Connected:
				fmt.Println("connected, attempt", ev.Attempt)
			case websocket.Disconnected:
				var ce *websocket.CloseError
				if errors.As(ev.Err, &ce) {
					fmt.Printf("closed by %v: %v %q; retrying: %v\n", ce.Initiator, ce.Code, ce.Reason, !ev.Final)
				}
			}
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fmt.Println("Run:", r.Run(ctx)) // returns after Close, ctx's end or a permanent failure
	// Output:
	// connected, attempt 1
	// closed by peer: 1012 (service restart) "deploying"; retrying: true
	// connected, attempt 2
	// got "subscribe prices"
	// Run: <nil>
}

// Messages written while there is no connection wait in a bounded queue
// and go out, in order, once connected; one that does not fit is refused
// with ErrQueueFull, never dropped silently.
func ExampleReconnector_WriteMessage() {
	got := make(chan string, 4)
	url, stop := startServer(func(c *websocket.Conn) {
		for {
			_, msg, err := c.ReadMessage(nil)
			if err != nil {
				return
			}
			got <- string(msg)
		}
	})
	defer stop()

	r := websocket.NewReconnector(url, &websocket.ReconnectOptions{QueueLimit: 16})
	// Run has not connected yet: these wait in the queue (16 bytes).
	fmt.Println(r.WriteMessage(websocket.Text, []byte("hello")))
	fmt.Println(r.WriteMessage(websocket.Text, []byte("world")))
	err := r.WriteMessage(websocket.Text, []byte("more than the queue holds"))
	fmt.Println(errors.Is(err, websocket.ErrQueueFull))

	done := make(chan error, 1)
	go func() { done <- r.Run(context.Background()) }()
	fmt.Println(<-got, <-got)
	r.Close()
	fmt.Println("Run:", <-done)
	// Output:
	// <nil>
	// <nil>
	// true
	// hello world
	// Run: <nil>
}

// OnConnect logs in on every connection. A refused login is wrapped with
// Permanent, so Run stops after one attempt instead of retrying it
// forever; a dropped connection during the login would be retried.
func ExamplePermanent() {
	url, stop := startServer(func(c *websocket.Conn) {
		c.ReadMessage(nil) // the login
		c.WriteMessage(websocket.Text, []byte("denied"))
		c.ReadMessage(nil) // until the client closes
	})
	defer stop()

	attempts := 0
	r := websocket.NewReconnector(url, &websocket.ReconnectOptions{
		OnConnect: func(ctx context.Context, c *websocket.Conn) error {
			if err := c.WriteMessage(websocket.Text, []byte("login alice")); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			_, answer, err := c.ReadMessageContext(ctx, nil)
			if err != nil {
				return err
			}
			if string(answer) != "ok" {
				return websocket.Permanent(fmt.Errorf("login refused: %s", answer))
			}
			return nil
		},
		OnEvent: func(ev websocket.ReconnectEvent) {
			if ev.Kind == websocket.Dialing {
				attempts++
			}
		},
	})
	err := r.Run(context.Background())
	fmt.Println("attempts:", attempts)
	fmt.Println(err)
	// Output:
	// attempts: 1
	// websocket: reconnect: OnConnect: login refused: denied
}
