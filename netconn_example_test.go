package websocket_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	websocket "github.com/hybi/websocket"
)

// A line protocol spoken over a WebSocket: both ends see a net.Conn, so
// bufio and fmt work on it as on a TCP connection. Each Write is one
// binary message; Reads see one byte stream. A read deadline that passes
// leaves the stream usable.
func ExampleNetConn() {
	url, stop := startServer(func(c *websocket.Conn) {
		nc := websocket.NetConn(context.Background(), c, websocket.Binary)
		defer nc.Close()
		lines := bufio.NewScanner(nc)
		for lines.Scan() {
			fmt.Fprintln(nc, strings.ToUpper(lines.Text()))
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
	nc := websocket.NetConn(context.Background(), c, websocket.Binary)
	defer nc.Close()
	r := bufio.NewReader(nc)

	// Nothing was sent yet: the read times out, and the stream stays open.
	nc.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if _, err := r.ReadString('\n'); err != nil {
		fmt.Println("timeout:", err.(net.Error).Timeout())
	}
	nc.SetReadDeadline(time.Time{})

	for _, s := range []string{"hello", "tunnel"} {
		fmt.Fprintln(nc, s)
		line, err := r.ReadString('\n')
		if err != nil {
			fmt.Println("read:", err)
			return
		}
		fmt.Print(line)
	}
	// Output:
	// timeout: true
	// HELLO
	// TUNNEL
}

// HTTP/1.1 tunnelled through WebSocket connections: the WebSocket handler
// hands each connection, as a net.Conn, to an http.Server through a
// listener, and the client's http.Transport dials WebSocket connections
// instead of TCP. Keep-alive works: both requests use one WebSocket.
func ExampleNetConn_httpTunnel() {
	// The tunnelled application.
	app := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s %s over %s", r.Method, r.URL.Path, r.Proto)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	ln := &tunnelListener{conns: make(chan net.Conn), done: make(chan struct{})}
	go app.Serve(ln)
	defer app.Close()

	// The WebSocket endpoint feeds the tunnel's listener, and keeps the
	// connection until the application is done with it.
	url, stop := startServer(func(c *websocket.Conn) {
		nc := &doneConn{Conn: websocket.NetConn(context.Background(), c, websocket.Binary), done: make(chan struct{})}
		select {
		case ln.conns <- nc:
			<-nc.done
		case <-ln.done:
		}
	})
	defer stop()

	var dials int
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			dials++
			c, _, err := websocket.Dial(ctx, url, nil)
			if err != nil {
				return nil, err
			}
			return websocket.NetConn(context.Background(), c, websocket.Binary), nil
		},
	}}
	defer client.CloseIdleConnections()

	for _, path := range []string{"/a", "/b"} {
		resp, err := client.Get("http://app.internal" + path)
		if err != nil {
			fmt.Println("get:", err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.Status, string(body))
	}
	fmt.Println("websocket connections:", dials)
	// Output:
	// 200 OK GET /a over HTTP/1.1
	// 200 OK GET /b over HTTP/1.1
	// websocket connections: 1
}

// tunnelListener is a net.Listener of the net.Conns handed to conns.
type tunnelListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *tunnelListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *tunnelListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *tunnelListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// doneConn closes done when the net.Conn is closed.
type doneConn struct {
	net.Conn
	once sync.Once
	done chan struct{}
}

func (c *doneConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { close(c.done) })
	return err
}
