package lib

import (
	"bytes"
	"fmt"
	"net"
	"testing"
	"time"

	websocket "github.com/hybi/websocket"
)

// TestHybiLoop checks the hybi-loop adapter in this process on both server
// paths, with and without permessage-deflate: echoes byte for byte, the
// registry follows connections in and out (removal through OnClose), and a
// broadcast reaches every client.
func TestHybiLoop(t *testing.T) {
	for _, http := range []bool{false, true} {
		for _, deflate := range []bool{false, true} {
			t.Run(fmt.Sprintf("http=%v/deflate=%v", http, deflate), func(t *testing.T) {
				testHybiLoop(t, ServerConfig{HTTP: http, Deflate: deflate})
			})
		}
	}
}

func testHybiLoop(t *testing.T, cfg ServerConfig) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := HybiLoop()
	s, err := l.Serve(ln, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var clients []Client
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for range 3 {
		c, err := l.Dial(ln.Addr().String(), ClientConfig{Deflate: cfg.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	for _, size := range []int{0, 16, 64 << 10, 1<<20 + 1} {
		p := bytes.Repeat([]byte("hybi-loop "), size/10+1)[:size]
		for i, c := range clients {
			got, err := c.RoundTrip(p)
			if err != nil {
				t.Fatalf("client %d, %d bytes: %v", i, size, err)
			}
			if !bytes.Equal(got, p) {
				t.Fatalf("client %d: echo of %d bytes differs (%d bytes back)", i, size, len(got))
			}
		}
	}
	waitConns(t, s, 3)

	msg := []byte("broadcast")
	if err := s.Broadcast(msg); err != nil {
		t.Fatal(err)
	}
	for i, c := range clients {
		hc := c.(*hybiClient).c
		hc.SetReadDeadline(time.Now().Add(10 * time.Second))
		typ, got, err := hc.ReadMessage(nil)
		if err != nil {
			t.Fatalf("client %d: broadcast: %v", i, err)
		}
		if typ != websocket.Binary || !bytes.Equal(got, msg) {
			t.Errorf("client %d: broadcast %v %q, want binary %q", i, typ, got, msg)
		}
	}

	clients[0].Close()
	clients = clients[1:]
	waitConns(t, s, 2)
	s.Close()
	waitConns(t, s, 0)
}

// waitConns waits up to 10 seconds for s to hold n connections.
func waitConns(t *testing.T, s Server, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Conns() != n {
		if time.Now().After(deadline) {
			t.Fatalf("server holds %d connections, want %d", s.Conns(), n)
		}
		time.Sleep(time.Millisecond)
	}
}
