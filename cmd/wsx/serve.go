package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	websocket "github.com/hybi/websocket"
)

// echoOptions are the settings the echo server and the Autobahn client use:
// messages up to 64 MiB (group 9 sends 16 MiB), compression when asked.
func echoOptions(compress bool) websocket.Options {
	return websocket.Options{MaxMessageSize: 64 << 20, Compression: compress}
}

// echo reads messages and writes each back with its type until the
// connection ends; the library answers pings and closes.
func echo(c *websocket.Conn) {
	defer c.CloseNow()
	var buf []byte
	for {
		typ, msg, err := c.ReadMessage(buf[:0])
		if err != nil {
			return
		}
		if err := c.WriteMessage(typ, msg); err != nil {
			return
		}
		buf = msg
	}
}

// loopEcho is echo for a connection served by a websocket.Loop: it writes
// each message back with its type, on the poller goroutine, and ends the
// connection when the write fails, as echo does.
func loopEcho(c *websocket.Conn, typ websocket.MessageType, p []byte) {
	if err := c.WriteMessage(typ, p); err != nil {
		c.CloseNow()
	}
}

// echoHandler is the Autobahn echo server as an http.Handler. With loop,
// every upgraded connection is handed to one websocket.Loop, which reads
// it and echoes in OnMessage, instead of a goroutine blocked in
// ReadMessage; the accept options are the same. stop closes the Loop and
// the connections it serves (a no-op without loop).
func echoHandler(compress, loop bool) (h http.Handler, stop func(), err error) {
	opts := &websocket.AcceptOptions{Options: echoOptions(compress)}
	if !loop {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := websocket.Accept(w, r, opts)
			if err != nil {
				return
			}
			echo(c)
		}), func() {}, nil
	}
	l, err := websocket.NewLoop(&websocket.LoopOptions{OnMessage: loopEcho})
	if err != nil {
		return nil, nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, opts)
		if err != nil {
			return
		}
		if err := l.Add(c); err != nil {
			c.CloseNow()
		}
	}), func() { l.Close() }, nil
}

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9001", "address to listen on")
	compress := fs.Bool("compress", false, "accept permessage-deflate (RFC 7692)")
	loop := fs.Bool("loop", false, "read the connections with a websocket.Loop (epoll on Linux) and echo in its OnMessage")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: wsx serve [-addr host:port] [-compress] [-loop]\n\n"+
			"Echo every text and binary message back, the server the Autobahn testsuite's\n"+
			"fuzzing client expects (see autobahn/config/fuzzingclient.json). By default a\n"+
			"goroutine per connection loops on ReadMessage and WriteMessage; with -loop a\n"+
			"websocket.Loop reads every connection and OnMessage writes each message back.\n\n")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	h, stopEcho, err := echoHandler(*compress, *loop)
	if err != nil {
		fmt.Fprintln(stderr, "wsx serve:", err)
		return 1
	}
	defer stopEcho()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "wsx serve:", err)
		return 1
	}
	fmt.Fprintf(stdout, "wsx: echo server on ws://%s/ (compression %v, loop %v)\n", ln.Addr(), *compress, *loop)
	// Bounded handshakes: a slow or silent client cannot hold a
	// connection or send an unbounded head.
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 16 << 10}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(stderr, "wsx serve:", err)
		return 1
	}
	return 0
}
