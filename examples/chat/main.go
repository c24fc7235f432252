// Command chat is a small chat server built on hybi: the request hook
// (AcceptOptions.OnRequest) checks the room and the token before the
// handshake completes, a Loop reads every connection without a goroutine
// each, and a Hub broadcasts each message, encoded once, to everyone in
// the room without letting a slow reader hold the others back.
//
//	go run ./examples/chat -addr 127.0.0.1:8080 -token secret
//	wsx connect 'ws://127.0.0.1:8080/chat?token=secret&name=ann'
//
// docs/chat.md walks through it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
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
	token := flag.String("token", "secret", "the token clients must send (?token= or Authorization: Bearer)")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	log.Printf("chat on ws://%s/chat?token=%s&name=…", ln.Addr(), *token)
	if err := run(ctx, ln, *token, log.Printf); err != nil {
		log.Fatal(err)
	}
}

// room is everyone connected: the Loop reads them, the Hub writes to them.
type room struct {
	hub   websocket.Hub
	loop  *websocket.Loop
	mu    sync.Mutex
	names map[*websocket.Conn]string
	logf  func(format string, args ...any)
}

// say broadcasts one line to the whole room.
func (r *room) say(line string) {
	pm, err := websocket.NewPreparedMessage(websocket.Text, []byte(line))
	if err != nil {
		r.logf("prepare: %v", err)
		return
	}
	r.hub.Broadcast(pm)
}

// check is the request hook: it runs before the 101 is written, so a
// refused client never becomes a connection.
func check(token string) func(*websocket.Request) error {
	return func(r *websocket.Request) error {
		if r.URL.Path != "/chat" {
			return websocket.Reject(http.StatusNotFound, nil, "no such room\n")
		}
		got := r.URL.Query().Get("token")
		if got == "" {
			if h := r.Header.Get("Authorization"); len(h) > 7 && h[:7] == "Bearer " {
				got = h[7:]
			}
		}
		if got != token {
			return websocket.Reject(http.StatusUnauthorized,
				http.Header{"WWW-Authenticate": {`Bearer realm="chat"`}}, "token required\n")
		}
		if n := r.URL.Query().Get("name"); n == "" || len(n) > 32 {
			return websocket.Reject(http.StatusBadRequest, nil, "name required (at most 32 bytes)\n")
		}
		return nil
	}
}

// run serves the chat on ln until ctx ends.
func run(ctx context.Context, ln net.Listener, token string, logf func(string, ...any)) error {
	r := &room{names: map[*websocket.Conn]string{}, logf: logf}
	r.hub.OnDrop = func(c *websocket.Conn, err error) { logf("dropped %s: %v", r.name(c), err) }
	loop, err := websocket.NewLoop(&websocket.LoopOptions{
		OnMessage: func(c *websocket.Conn, typ websocket.MessageType, p []byte) {
			if typ == websocket.Text {
				r.say(r.name(c) + ": " + string(p))
			}
		},
		OnClose: func(c *websocket.Conn, err error) {
			r.hub.Remove(c)
			name := r.name(c)
			r.mu.Lock()
			delete(r.names, c)
			r.mu.Unlock()
			logf("%s left: %v", name, err)
			r.say(name + " left")
		},
		// A member that stops reading is closed with 1008 by the Hub
		// long before its queue holds this much.
		WriteQueueLimit: 256 << 10,
	})
	if err != nil {
		return err
	}
	r.loop = loop
	defer loop.Close() // on an early return; after Shutdown it does nothing
	defer r.hub.Close()

	opts := &websocket.AcceptOptions{
		OnRequest: check(token),
		Options:   websocket.Options{PingInterval: 30 * time.Second, PongTimeout: 10 * time.Second},
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			c, err := websocket.Accept(w, req, opts)
			if err != nil {
				logf("refused %s %s: %v", req.RemoteAddr, req.URL.Path, err)
				return
			}
			name := req.URL.Query().Get("name")
			r.mu.Lock()
			r.names[c] = name
			r.mu.Unlock()
			if err := loop.Add(c); err != nil {
				c.CloseNow()
				return
			}
			if err := r.hub.Add(c); err != nil {
				c.Close(websocket.CloseGoingAway, "shutting down")
				return
			}
			logf("%s joined from %s", name, req.RemoteAddr)
			r.say(name + " joined")
		}),
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	// Every member gets 1001 (going away); Shutdown returns when their
	// closing handshakes and the OnClose calls are over.
	if err := loop.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func (r *room) name(c *websocket.Conn) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.names[c]
}
