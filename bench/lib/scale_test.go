package lib

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// rawUpgrade connects to ln's server and does a fixed client handshake,
// returning the connection and a reader positioned after the response.
func rawUpgrade(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(nc, "GET / HTTP/1.1\r\nHost: "+addr+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(nc)
	status, err := br.ReadString('\n')
	if err != nil || !strings.Contains(status, " 101 ") {
		t.Fatalf("handshake: %q, %v", status, err)
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			return nc, br
		}
	}
}

// TestScaleHeartbeat checks that every -hb server pings an idle client
// within a few intervals, with an empty Ping frame.
func TestScaleHeartbeat(t *testing.T) {
	t.Setenv(HeartbeatEnv, "50ms")
	for _, name := range []string{"hybi-hb", "hybi-loop-hb", "nbio-hb", "gws-hb"} {
		t.Run(name, func(t *testing.T) {
			l, ok := ByName(name)
			if !ok {
				t.Fatalf("ByName(%q) found nothing", name)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			s, err := l.Serve(ln, ServerConfig{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			nc, br := rawUpgrade(t, ln.Addr().String())
			defer nc.Close()
			var h [2]byte
			if _, err := io.ReadFull(br, h[:]); err != nil {
				t.Fatalf("no ping: %v", err)
			}
			if h != [2]byte{0x89, 0} {
				t.Errorf("first frame header % x, want 89 00 (an empty Ping)", h)
			}
		})
	}
}

// TestScaleSlow checks hybi-loop-slow's policy: a client that sends far
// more than the queue limit and never reads keeps its connection, and
// another client's echo still works meanwhile.
func TestScaleSlow(t *testing.T) {
	t.Setenv(QueueLimitEnv, "65536")
	l, _ := ByName("hybi-loop-slow")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.Serve(ln, ServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	slow, _ := rawUpgrade(t, ln.Addr().String())
	defer slow.Close()
	slow.(*net.TCPConn).SetReadBuffer(16 << 10)
	// 256 masked 16 KiB messages (mask key 0): 4 MiB, far past the
	// socket buffers and the 64 KiB queue.
	frame := append([]byte{0x82, 0xfe, 0x40, 0x00, 0, 0, 0, 0}, make([]byte, 16<<10)...)
	for range 256 {
		slow.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := slow.Write(frame); err != nil {
			t.Fatalf("slow reader's write: %v (the server stopped reading it)", err)
		}
	}
	c, err := l.Dial(ln.Addr().String(), ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := []byte("still served")
	got, err := c.RoundTrip(msg)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo beside the slow reader: %q, %v", got, err)
	}
	if n := s.Conns(); n != 2 {
		t.Errorf("Conns() = %d, want 2: the slow reader's connection was dropped", n)
	}
}
