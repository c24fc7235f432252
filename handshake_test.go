package websocket

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/handshake"
	"github.com/hybi/websocket/internal/wstest"
)

const rawRequest = "GET /chat HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

// A client that sends its first frame in the same TCP write as its request
// head: the bytes the handshake buffered belong to the Conn.
func TestServerKeepsBytesAfterHandshake(t *testing.T) {
	first := wstest.Client(wstest.OpText, []byte("early bird"))
	check := func(t *testing.T, addr string, got <-chan string) {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		req := strings.Replace(rawRequest, "%s", addr, 1)
		if _, err := nc.Write(append([]byte(req), first...)); err != nil {
			t.Fatal(err)
		}
		if msg := <-got; msg != "early bird" {
			t.Errorf("server read %q, want \"early bird\"", msg)
		}
	}
	t.Run("Upgrade", func(t *testing.T) {
		ln := listen(t)
		got := make(chan string, 1)
		go func() {
			nc, err := ln.Accept()
			if err != nil {
				got <- err.Error()
				return
			}
			defer nc.Close()
			c, err := Upgrade(nc, bufio.NewReader(nc), nil)
			if err != nil {
				got <- err.Error()
				return
			}
			_, b, err := c.ReadMessage(nil)
			if err != nil {
				got <- err.Error()
				return
			}
			got <- string(b)
			c.CloseNow()
		}()
		check(t, ln.Addr().String(), got)
	})
	t.Run("Accept", func(t *testing.T) {
		got := make(chan string, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := Accept(w, r, nil)
			if err != nil {
				got <- err.Error()
				return
			}
			_, b, err := c.ReadMessage(nil)
			if err != nil {
				got <- err.Error()
				return
			}
			got <- string(b)
			c.CloseNow()
		}))
		defer srv.Close()
		check(t, srv.Listener.Addr().String(), got)
	})
}

// A server that pushes its first frame in the same TCP write as its 101
// response: Dial hands the buffered bytes to the Conn.
func TestDialKeepsBytesAfterHandshake(t *testing.T) {
	addr := acceptOne(t, listen(t), func(nc net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(nc))
		if err != nil {
			t.Error(err)
			return
		}
		resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + handshake.AcceptKey(req.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n"
		nc.Write(append([]byte(resp), wstest.Server(wstest.OpText, []byte("welcome"))...))
		io.Copy(io.Discard, nc)
	})
	c := dial(t, "ws://"+addr+"/", nil)
	_, b, err := c.ReadMessage(nil)
	if err != nil || string(b) != "welcome" {
		t.Fatalf("ReadMessage = %q, %v", b, err)
	}
	c.CloseNow()
}

// Accept over net/http, with a subprotocol, and wss with a TLS config.
func TestAcceptAndDialTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, &AcceptOptions{Subprotocols: []string{"chat.v2", "chat.v1"}})
		if err != nil {
			return
		}
		defer c.CloseNow()
		if c.Subprotocol() != "chat.v1" {
			t.Errorf("server subprotocol %q", c.Subprotocol())
		}
		echo(c)
	}))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	u := "wss://" + srv.Listener.Addr().String() + "/"
	c := dial(t, u, &DialOptions{
		TLSConfig:    &tls.Config{RootCAs: pool, ServerName: "example.com"},
		Subprotocols: []string{"chat.v1"},
		Proxy:        NoProxy,
	})
	if c.Subprotocol() != "chat.v1" {
		t.Errorf("client subprotocol %q", c.Subprotocol())
	}
	if err := c.WriteMessage(Text, []byte("over tls")); err != nil {
		t.Fatal(err)
	}
	if _, b, err := c.ReadMessage(nil); err != nil || string(b) != "over tls" {
		t.Fatalf("ReadMessage = %q, %v", b, err)
	}
	if err := c.Close(frame.CloseNormal, ""); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// A refused handshake returns the server's status.
func TestAcceptRefuses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := Accept(w, r, nil); err == nil {
			t.Error("Accept of a cross-origin request succeeded")
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, err := Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &DialOptions{Origin: "https://evil.example"})
	var re *handshake.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusForbidden {
		t.Fatalf("Dial = %v, want a 403 *handshake.ResponseError", err)
	}
}

// connectProxy is a minimal HTTP CONNECT proxy for tests; it records the
// targets and the Proxy-Authorization header it saw.
type connectProxy struct {
	mu      sync.Mutex
	targets []string
	auth    []string
}

func (p *connectProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	p.mu.Lock()
	p.targets = append(p.targets, r.Host)
	p.auth = append(p.auth, r.Header.Get("Proxy-Authorization"))
	p.mu.Unlock()
	up, err := net.Dial("tcp", r.Host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.WriteHeader(http.StatusOK)
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		up.Close()
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		if n := brw.Reader.Buffered(); n > 0 {
			b, _ := brw.Reader.Peek(n)
			up.Write(b)
		}
		io.Copy(up, nc)
		up.(*net.TCPConn).CloseWrite()
	})
	io.Copy(nc, up)
	nc.Close()
	wg.Wait()
	up.Close()
}

func TestDialThroughProxy(t *testing.T) {
	url0 := serve(t, nil, echo)
	p := &connectProxy{}
	proxy := httptest.NewServer(p)
	defer proxy.Close()
	pu, _ := url.Parse(proxy.URL)
	pu.User = url.UserPassword("alice", "s3cret")
	c := dial(t, url0, &DialOptions{Proxy: http.ProxyURL(pu)})
	if err := c.WriteMessage(Text, []byte("via proxy")); err != nil {
		t.Fatal(err)
	}
	if _, b, err := c.ReadMessage(nil); err != nil || string(b) != "via proxy" {
		t.Fatalf("ReadMessage = %q, %v", b, err)
	}
	if err := c.Close(frame.CloseNormal, ""); err != nil {
		t.Fatalf("Close: %v", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	host := strings.TrimSuffix(strings.TrimPrefix(url0, "ws://"), "/")
	if len(p.targets) != 1 || p.targets[0] != host {
		t.Errorf("proxy saw targets %q, want [%q]", p.targets, host)
	}
	if len(p.auth) != 1 || p.auth[0] != "Basic YWxpY2U6czNjcmV0" {
		t.Errorf("proxy saw authorization %q", p.auth)
	}
}

// Dial is bounded by ctx at every step, here a server that accepts TCP but
// never answers the handshake.
func TestDialContextBound(t *testing.T) {
	ln := listen(t)
	held := make(chan net.Conn, 1)
	go func() {
		nc, err := ln.Accept()
		if err == nil {
			held <- nc
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, _, err := Dial(ctx, "ws://"+ln.Addr().String()+"/", nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial = %v, want context.DeadlineExceeded", err)
	}
	(<-held).Close()

	// Cancellation (no deadline) also stops it.
	go func() {
		nc, err := ln.Accept()
		if err == nil {
			held <- nc
		}
	}()
	ctx, cancel = context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, _, err = Dial(ctx, "ws://"+ln.Addr().String()+"/", nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Dial = %v, want context.Canceled", err)
	}
	(<-held).Close()
}

func TestDialBadURL(t *testing.T) {
	for _, u := range []string{"ftp://x/", "ws://x/#frag", "::"} {
		if _, _, err := Dial(context.Background(), u, nil); err == nil {
			t.Errorf("Dial(%q) succeeded", u)
		}
	}
}

// A client that sends its request head slowly, or not at all, cannot hold
// a raw Upgrade: the handshake timeout ends it, and it is on by default.
func TestUpgradeHandshakeTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  time.Duration
		want time.Duration
	}{{"default", 0, DefaultHandshakeTimeout}, {"set", time.Second, time.Second}, {"none", -1, 0}} {
		if got := (&AcceptOptions{HandshakeTimeout: tc.opt}).server().Timeout; got != tc.want {
			t.Errorf("%s: handshake timeout %v, want %v", tc.name, got, tc.want)
		}
	}
	for _, slow := range []bool{false, true} {
		cn, sn := tcpPair(t)
		if slow {
			go func() {
				// One byte every 50 ms: the head would take 10 s.
				for i := 0; i < len(rawUpgradeRequest); i++ {
					if _, err := cn.Write([]byte{rawUpgradeRequest[i]}); err != nil {
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			}()
		}
		start := time.Now()
		_, err := Upgrade(sn, nil, &AcceptOptions{HandshakeTimeout: 300 * time.Millisecond})
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("slow=%v: Upgrade = %v, want a timeout", slow, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("slow=%v: Upgrade took %v with a 300 ms handshake timeout", slow, d)
		}
		sn.Close()
	}
}
