package websocket_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	websocket "github.com/hybi/websocket"
)

// newServer starts a loopback HTTP server with bounded request heads, as
// every server that calls Accept should have (see ExampleAccept).
func newServer(h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ReadHeaderTimeout = 10 * time.Second
	srv.Config.MaxHeaderBytes = 16 << 10
	srv.Start()
	return srv
}

// startServer runs handler for every WebSocket connection accepted by a
// loopback HTTP server and returns its ws:// URL and a function that stops
// it.
func startServer(handler func(c *websocket.Conn)) (url string, stop func()) {
	srv := newServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		handler(c)
	}))
	return "ws" + strings.TrimPrefix(srv.URL, "http"), srv.Close
}

// An echo server and a client doing one round trip and a clean close.
func Example() {
	url, stop := startServer(func(c *websocket.Conn) {
		var buf []byte
		for {
			typ, msg, err := c.ReadMessage(buf) // reuses buf: no allocation per message
			if err != nil {
				return // the client closed
			}
			buf = msg
			if err := c.WriteMessage(typ, msg); err != nil {
				return
			}
		}
	})
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	if err := c.WriteMessage(websocket.Text, []byte("hello")); err != nil {
		fmt.Println("write:", err)
		return
	}
	typ, msg, err := c.ReadMessage(nil)
	if err != nil {
		fmt.Println("read:", err)
		return
	}
	fmt.Println(typ, string(msg))
	fmt.Println("close:", c.Close(websocket.CloseNormal, "done"))
	// Output:
	// text hello
	// close: <nil>
}

// A read deadline that expires is not an error of the connection: the read
// returns os.ErrDeadlineExceeded and the next read carries on. This is the
// loop the Swoole client should have had.
func Example_readTimeout() {
	url, stop := startServer(func(c *websocket.Conn) {
		time.Sleep(300 * time.Millisecond) // idle longer than the client's deadline
		c.WriteMessage(websocket.Text, []byte("late news"))
		c.ReadMessage(nil) // wait for the client's Close
	})
	defer stop()
	c, _, err := websocket.Dial(context.Background(), url, nil)
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.CloseNow()

	sawTimeout := false
	for {
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		_, msg, err := c.ReadMessage(nil)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			sawTimeout = true // nothing yet: not fatal, just read again
			continue
		}
		if err != nil {
			fmt.Println("connection ended:", err)
			return
		}
		fmt.Println("timed out before:", sawTimeout)
		fmt.Println("got:", string(msg))
		break
	}
	c.SetReadDeadline(time.Time{})
	fmt.Println("close:", c.Close(websocket.CloseNormal, ""))
	// Output:
	// timed out before: true
	// got: late news
	// close: <nil>
}

// Frame-level writes take explicit flags. FIN is set unless websocket.More is
// given, and while a fragmented message is open a new data message is
// refused before any byte reaches the wire.
func ExampleConn_WriteFrame() {
	url, stop := startServer(func(c *websocket.Conn) {
		_, msg, _ := c.ReadMessage(nil)
		fmt.Printf("server got %q\n", msg)
		c.ReadMessage(nil)
	})
	defer stop()
	c, _, err := websocket.Dial(context.Background(), url, nil)
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.CloseNow()

	c.WriteFrame(websocket.OpText, websocket.More, []byte("Hel")) // FIN clear: more follows
	err = c.WriteMessage(websocket.Text, []byte("oops"))          // a new message now would corrupt the stream
	fmt.Println("refused:", err)
	c.WriteFrame(websocket.OpContinuation, 0, []byte("lo")) // no More: FIN set, message done
	fmt.Println("close:", c.Close(websocket.CloseNormal, ""))
	// Output:
	// refused: conn: data frame while a fragmented message is open (send a continuation)
	// server got "Hello"
	// close: <nil>
}

// The heartbeat detects a peer that stopped answering: the connection ends
// with a *CloseError whose Err is ErrHeartbeatTimeout. Control frames are
// processed while a goroutine reads, so the client keeps a reader running.
func Example_heartbeat() {
	url, stop := startServer(func(c *websocket.Conn) {
		time.Sleep(600 * time.Millisecond) // hung: never reads, so never answers a Ping
	})
	defer stop()
	c, _, err := websocket.Dial(context.Background(), url, &websocket.DialOptions{
		Options: websocket.Options{
			PingInterval: 50 * time.Millisecond,
			PongTimeout:  200 * time.Millisecond,
		},
	})
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	_, _, err = c.ReadMessage(nil) // blocks until a message or the end
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		fmt.Println("heartbeat timeout:", errors.Is(err, websocket.ErrHeartbeatTimeout))
		fmt.Println("code:", ce.Code, "initiator:", ce.Initiator)
	}
	// Output:
	// heartbeat timeout: true
	// code: 1006 (abnormal closure) initiator: none
}

// Every end of a connection says who closed it, with which code and why,
// and which Close frames crossed the wire.
func ExampleCloseError() {
	url, stop := startServer(func(c *websocket.Conn) {
		c.Close(websocket.CloseGoingAway, "server restarting")
	})
	defer stop()
	c, _, err := websocket.Dial(context.Background(), url, nil)
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	_, _, err = c.ReadMessage(nil)
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		fmt.Println("initiator:", ce.Initiator)
		fmt.Println("code:", ce.Code)
		fmt.Println("reason:", ce.Reason)
		fmt.Println("frames:", ce.Frames)
		fmt.Println("cause:", ce.Err)
	}
	fmt.Println("status:", websocket.CloseStatus(err))
	// Output:
	// initiator: peer
	// code: 1001 (going away)
	// reason: server restarting
	// frames: close received, then sent
	// cause: <nil>
	// status: 1001 (going away)
}

// A connection that only writes still needs a reader: Pongs, Pings and the
// peer's Close are processed only while a goroutine reads. This pattern
// keeps one reading in the background and reports how the connection ended.
func Example_backgroundReader() {
	url, stop := startServer(func(c *websocket.Conn) {
		for i := range 3 {
			_, msg, err := c.ReadMessage(nil)
			if err != nil {
				return
			}
			fmt.Printf("server got %s (%d)\n", msg, i)
		}
		c.Close(websocket.CloseNormal, "enough")
	})
	defer stop()
	c, _, err := websocket.Dial(context.Background(), url, nil)
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	ended := make(chan error, 1)
	go func() {
		for {
			if _, _, err := c.ReadMessage(nil); err != nil {
				ended <- err // a *CloseError
				return
			}
		}
	}()
	for range 3 {
		c.WriteMessage(websocket.Text, []byte("tick"))
	}
	err = <-ended
	fmt.Println("ended:", err)
	// Output:
	// server got tick (0)
	// server got tick (1)
	// server got tick (2)
	// ended: websocket: closed by peer: 1000 (normal closure) "enough" (close received, then sent)
}

// A server whose connections are read by a Loop: no goroutine and no read
// buffer per idle connection, messages delivered to a callback.
func ExampleLoop() {
	ended := make(chan struct{})
	loop, err := websocket.NewLoop(&websocket.LoopOptions{
		OnMessage: func(c *websocket.Conn, typ websocket.MessageType, p []byte) {
			// p is valid until we return; WriteMessage sends it before.
			c.WriteMessage(typ, p)
		},
		OnClose: func(c *websocket.Conn, err error) {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				fmt.Printf("server: closed by %v with %d %q\n", ce.Initiator, ce.Code, ce.Reason)
			}
			close(ended)
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer loop.Close()
	srv := newServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		loop.Add(c) // the handler returns; the Loop reads c from now on
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	c.WriteMessage(websocket.Text, []byte("hello, loop"))
	_, msg, _ := c.ReadMessage(nil)
	fmt.Printf("client: %s\n", msg)
	c.Close(websocket.CloseNormal, "done")
	<-ended
	// Output:
	// client: hello, loop
	// server: closed by peer with 1000 "done"
}

// A production server with net/http: Accept relies on the http.Server to
// bound the request head, so set ReadHeaderTimeout and MaxHeaderBytes
// (net/http's defaults are no timeout and 1 MiB).
func ExampleAccept() {
	http.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"chat.v1"}})
		if err != nil {
			return // Accept answered the client (400, 403, 426…)
		}
		defer c.CloseNow()
		// … read and write messages …
	})
	srv := &http.Server{
		Addr:              "127.0.0.1:8080",
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	log.Fatal(srv.ListenAndServe())
}

// A raw server without net/http: Upgrade bounds the request head by
// itself (AcceptOptions.HandshakeTimeout, DefaultHandshakeTimeout when 0;
// 8 KiB and 64 header lines).
func ExampleUpgrade() {
	ln, err := net.Listen("tcp", "127.0.0.1:8080")
	if err != nil {
		log.Fatal(err)
	}
	opts := &websocket.AcceptOptions{HandshakeTimeout: 5 * time.Second}
	for {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			c, err := websocket.Upgrade(nc, nil, opts)
			if err != nil {
				nc.Close() // refused, slow or silent: the client got its answer
				return
			}
			defer c.CloseNow()
			// … read and write messages …
		}()
	}
}

// PingContext measures the round trip to the peer. Someone must be reading
// the connection to see the Pong: here a goroutine in ReadMessage.
func ExampleConn_PingContext() {
	url, stop := startServer(func(c *websocket.Conn) {
		for { // reading answers the Pings
			if _, _, err := c.ReadMessage(nil); err != nil {
				return
			}
		}
	})
	defer stop()
	c, _, err := websocket.Dial(context.Background(), url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	go func() {
		for {
			if _, _, err := c.ReadMessage(nil); err != nil {
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rtt, err := c.PingContext(ctx)
	fmt.Println("pong:", err == nil && rtt > 0)
	c.Close(websocket.CloseNormal, "")
	// Output: pong: true
}

// A Loop server that stops gracefully: Shutdown sends every connection
// 1001 (going away), waits for the closing handshakes and for the
// callbacks still running, bounded by ctx.
func ExampleLoop_Shutdown() {
	loop, err := websocket.NewLoop(&websocket.LoopOptions{
		OnMessage: func(c *websocket.Conn, typ websocket.MessageType, p []byte) {
			c.WriteMessage(typ, p)
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := newServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := websocket.Accept(w, r, nil); err == nil {
			loop.Add(c)
		}
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	c.WriteMessage(websocket.Text, []byte("hi"))
	_, msg, _ := c.ReadMessage(nil) // the echo: the Loop serves c
	fmt.Printf("client: %s\n", msg)
	read := make(chan error)
	go func() {
		_, _, err := c.ReadMessage(nil) // answers the server's Close
		read <- err
	}()

	fmt.Println("shutdown:", loop.Shutdown(ctx))
	fmt.Println("client:", <-read)
	// Output:
	// client: hi
	// shutdown: <nil>
	// client: websocket: closed by peer: 1001 (going away) (close received, then sent)
}
