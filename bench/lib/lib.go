package lib

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
)

// ErrUnsupported is returned by Serve or Dial for a configuration a library
// does not offer (a raw-socket server path, permessage-deflate).
var ErrUnsupported = errors.New("lib: not supported by this library")

// MaxMessage bounds received messages in every adapter: above the largest
// payload the benchmarks send.
const MaxMessage = 8 << 20

// ServerConfig selects how a server accepts connections.
type ServerConfig struct {
	// HTTP serves through net/http (the library's Accept/Upgrade of an
	// http.ResponseWriter); otherwise the library's raw path is used: its
	// own handshake on a net.Conn, or its own HTTP engine (nbio).
	HTTP bool
	// Deflate accepts permessage-deflate, with context takeover where
	// the library supports it (see Takeover).
	Deflate bool
}

// Takeover says whether a library's permessage-deflate, as its adapter
// configures it, keeps the compression context between messages (RFC 7692
// §7.1.1): hybi (and hybi-loop, the same code), coder and gws do; gorilla
// and nbio support only no_context_takeover, and gobwas's frame-level
// wsflate helpers compress every frame on its own.
var Takeover = map[string]bool{"hybi": true, "hybi-loop": true, "coder": true, "gws": true}

// ClientConfig selects client options.
type ClientConfig struct {
	// Deflate offers permessage-deflate (see ServerConfig.Deflate).
	Deflate bool
}

// Server is a running echo server: every data message received is sent back
// with the same type.
type Server interface {
	// Broadcast sends p as a binary message to every open connection, one
	// after the other, from the calling goroutine, and returns when every
	// write was handed to the library.
	Broadcast(p []byte) error
	// Conns is the number of open connections.
	Conns() int
	Close() error
}

// Client is one client connection.
type Client interface {
	// RoundTrip sends p as a binary message and returns the echoed
	// message, valid until the next call.
	RoundTrip(p []byte) ([]byte, error)
	Close() error
}

// Lib is one library under comparison.
type Lib struct {
	Name string
	// Module is the module path and version compared.
	Module string
	// Serve starts an echo server on ln.
	Serve func(ln net.Listener, cfg ServerConfig) (Server, error)
	// Dial connects to the echo server at addr (host:port).
	Dial func(addr string, cfg ClientConfig) (Client, error)
}

// All lists the libraries, hybi first, then hybi-loop (hybi's server on a
// websocket.Loop), then the peers.
func All() []Lib {
	return []Lib{Hybi(), HybiLoop(), Gorilla(), Coder(), Gobwas(), Gws(), Nbio()}
}

// ByName returns the library called name, among All and Scale.
func ByName(name string) (Lib, bool) {
	for _, l := range append(All(), Scale()...) {
		if l.Name == name {
			return l, true
		}
	}
	return Lib{}, false
}

// registry is the set of a server's open connections.
type registry[T comparable] struct {
	mu    sync.Mutex
	conns map[T]struct{}
}

func (r *registry[T]) add(c T) {
	r.mu.Lock()
	if r.conns == nil {
		r.conns = make(map[T]struct{})
	}
	r.conns[c] = struct{}{}
	r.mu.Unlock()
}

func (r *registry[T]) remove(c T) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
}

func (r *registry[T]) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.conns)
}

// each calls f for every connection, outside the lock, and returns the
// first error.
func (r *registry[T]) each(f func(T) error) error {
	r.mu.Lock()
	list := make([]T, 0, len(r.conns))
	for c := range r.conns {
		list = append(list, c)
	}
	r.mu.Unlock()
	var first error
	for _, c := range list {
		if err := f(c); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// acceptLoop calls handle in a new goroutine for every connection ln
// accepts, until ln is closed.
func acceptLoop(ln net.Listener, handle func(net.Conn)) {
	for {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		go handle(nc)
	}
}

// httpServer serves h on ln with net/http.
type httpServer struct{ s *http.Server }

func serveHTTP(ln net.Listener, h http.HandlerFunc) *httpServer {
	s := &http.Server{Handler: h}
	go s.Serve(ln)
	return &httpServer{s}
}

// readAll reads r to its end into buf[:0], growing buf when needed, and
// returns the result: a reusable buffer for libraries that hand out a
// message as an io.Reader.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
