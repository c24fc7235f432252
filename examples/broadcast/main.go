// Command broadcast is a chat server written the way most net/http
// programs are: a handler per connection that reads in a loop, and a Hub
// that writes every message to everyone. It shows the parts a real server
// of this shape needs around Accept:
//
//   - a heartbeat (PingInterval, PongTimeout), so that a client that
//     vanished is noticed, and a message size limit;
//   - a Hub, so that one client that stops reading never holds up the
//     others (it is dropped with 1008 instead);
//   - a graceful stop: http.Server.Shutdown does not know hijacked
//     connections, so the server keeps its own set and sends each a Close
//     with 1001 (going away) from RegisterOnShutdown, then waits for the
//     handlers.
//
// Run it, and talk to it with wsx:
//
//	go run ./examples/broadcast -addr 127.0.0.1:8080
//	go run ./cmd/wsx connect ws://127.0.0.1:8080/ws
//
// examples/chat does the same on a Loop, without a goroutine per client;
// docs/cookbook.md lists the recipes one by one.
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"time"

	websocket "github.com/hybi/websocket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	log.Printf("broadcasting on ws://%s/ws", ln.Addr())
	if err := run(ctx, ln, log.Printf); err != nil {
		log.Fatal(err)
	}
}

// server is the set of connected clients.
type server struct {
	hub      websocket.Hub
	logf     func(format string, args ...any)
	mu       sync.Mutex
	conns    map[*websocket.Conn]struct{}
	stopping bool
	handlers sync.WaitGroup
}

// options are every connection's: a Ping every 20 s, an end after 10 s
// more without any frame from the client, and messages of at most 64 KiB.
var options = &websocket.AcceptOptions{Options: websocket.Options{
	PingInterval:   20 * time.Second,
	PongTimeout:    10 * time.Second,
	MaxMessageSize: 64 << 10,
}}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, options)
	if err != nil {
		return // Accept answered the client (400, 403, 426…)
	}
	defer c.CloseNow()
	if !s.join(c) {
		c.Close(websocket.CloseGoingAway, "server shutting down")
		return
	}
	defer s.leave(c)
	var buf []byte
	for {
		typ, msg, err := c.ReadMessage(buf)
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				s.logf("%s left: closed by %v with %d %q", c.RemoteAddr(), ce.Initiator, int(ce.Code), ce.Reason)
			}
			return
		}
		buf = msg
		pm, err := websocket.NewPreparedMessage(typ, msg) // a copy, encoded once for everyone
		if err != nil {
			return
		}
		s.hub.Broadcast(pm)
	}
}

// join adds c to the server and the hub, unless the server is stopping.
func (s *server) join(c *websocket.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return false
	}
	if err := s.hub.Add(c); err != nil {
		return false
	}
	s.conns[c] = struct{}{}
	s.handlers.Add(1)
	return true
}

func (s *server) leave(c *websocket.Conn) {
	s.hub.Remove(c)
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.handlers.Done()
}

// goingAway sends every client a Close with 1001, once; each handler's
// read then ends when the client answers (or after CloseTimeout).
func (s *server) goingAway() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return
	}
	s.stopping = true
	for c := range s.conns {
		go c.Close(websocket.CloseGoingAway, "server shutting down")
	}
}

// run serves ln until ctx ends, then stops gracefully: no new requests,
// 1001 to every client, and it returns once every handler has.
func run(ctx context.Context, ln net.Listener, logf func(format string, args ...any)) error {
	s := &server{logf: logf, conns: map[*websocket.Conn]struct{}{}}
	s.hub.OnDrop = func(c *websocket.Conn, err error) {
		logf("%s dropped: %v", c.RemoteAddr(), err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /ws", s)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	srv.RegisterOnShutdown(s.goingAway)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-served // http.ErrServerClosed
	// Shutdown ran goingAway on a goroutine of its own, which may not have
	// started yet: call it here too (the second call does nothing), so that
	// no handler joins after the wait below begins.
	s.goingAway()
	s.handlers.Wait()
	s.hub.Close()
	return err
}
