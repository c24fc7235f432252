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

// echoHandler is the Autobahn echo server as an http.Handler.
func echoHandler(compress bool) http.Handler {
	opts := &websocket.AcceptOptions{Options: echoOptions(compress)}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, opts)
		if err != nil {
			return
		}
		echo(c)
	})
}

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9001", "address to listen on")
	compress := fs.Bool("compress", false, "accept permessage-deflate (RFC 7692)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: wsx serve [-addr host:port] [-compress]\n\nEcho every text and binary message back, the server the Autobahn testsuite's\nfuzzing client expects (see autobahn/config/fuzzingclient.json).\n\n")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "wsx serve:", err)
		return 1
	}
	fmt.Fprintf(stdout, "wsx: echo server on ws://%s/ (compression %v)\n", ln.Addr(), *compress)
	srv := &http.Server{Handler: echoHandler(*compress), ErrorLog: log.New(io.Discard, "", 0)}
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
