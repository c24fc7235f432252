// Command peerecho runs one independent Go library's idiomatic echo server,
// so that the Go-native Autobahn runner (go run ./cmd/wsx in the main
// module, fuzzing-client mode) can judge it beside hybi:
//
//	go run ./cmd/peerecho -lib gorilla|coder|gobwas|gws -addr 127.0.0.1:9001
//
// Every path echoes. The echo servers follow each library's documentation
// (see package peers): gorilla NextReader/NextWriter, coder Reader/Writer,
// gobwas wsutil.ReadClientData/WriteServerMessage without wsflate, gws an
// OnMessage handler. None negotiates permessage-deflate.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hybi/websocket/interop/peers"
)

func main() {
	lib := flag.String("lib", "", "library: gorilla, coder, gobwas or gws")
	addr := flag.String("addr", "127.0.0.1:9001", "listen address")
	flag.Parse()
	l, ok := peers.ByName(*lib)
	if !ok {
		var names []string
		for _, l := range peers.Libs() {
			names = append(names, l.Name)
		}
		fmt.Fprintf(os.Stderr, "peerecho: -lib must be one of %s\n", strings.Join(names, ", "))
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("peerecho: %v", err)
	}
	// The address line is for scripts that start us with port 0.
	fmt.Printf("peerecho: %s echo server on ws://%s/\n", l.Name, ln.Addr())
	srv := &http.Server{Handler: l.Echo, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		log.Fatalf("peerecho: %v", err)
	}
}
