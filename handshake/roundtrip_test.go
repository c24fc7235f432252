package handshake

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// upgradeHandler is how a net/http server uses this package: check, refuse
// with WriteError or hijack and write the 101 response itself. After the
// handshake it writes "hi" in the same write as the 101 response, then
// echoes 5 bytes.
func upgradeHandler(t *testing.T, o *ServerOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, accept, err := CheckRequest(r, o)
		if err != nil {
			WriteError(w, err)
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		b := AppendResponse(nil, accept, res, o.Header)
		if _, err := c.Write(append(b, "hi"...)); err != nil {
			t.Errorf("write: %v", err)
			return
		}
		echo(t, brw.Reader, c)
	})
}

func echo(t *testing.T, r io.Reader, w io.Writer) {
	buf := make([]byte, 5)
	if _, err := io.ReadFull(r, buf); err != nil {
		return // the client checks the echo
	}
	_, _ = w.Write(buf)
}

// TestRoundTripHTTPServer: our client against a real net/http server that
// upgrades with CheckRequest + hijack + AppendResponse.
func TestRoundTripHTTPServer(t *testing.T) {
	x := &fakeExt{name: "x", offers: []Extension{{Name: "x", Params: []Param{{Name: "a", Value: "1", HasValue: true}}}}}
	so := &ServerOptions{
		Subprotocols: []string{"superchat", "chat"},
		Extensions:   []ServerExtension{x},
		Header:       http.Header{"X-Server": {"hybi"}},
	}
	srv := httptest.NewServer(upgradeHandler(t, so))
	defer srv.Close()
	u, _ := url.Parse("ws" + strings.TrimPrefix(srv.URL, "http") + "/chat?x=1")
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	res, err := Dial(conn, br, u, &ClientOptions{
		Origin:       srv.URL,
		Subprotocols: []string{"chat", "superchat"},
		Extensions:   []ClientExtension{x},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The server's extra header comes back with the 101's status.
	if res.StatusCode != 101 || res.Header.Get("X-Server") != "hybi" {
		t.Errorf("response %d, X-Server %q; want 101 and %q", res.StatusCode, res.Header.Get("X-Server"), "hybi")
	}
	res.StatusCode, res.Status, res.Header = 0, "", nil
	want := Result{Subprotocol: "superchat", Extensions: []Extension{{Name: "x", Params: []Param{{Name: "a", Value: "1", HasValue: true}}}}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
	// The server's first bytes came with the 101 response.
	got := make([]byte, 2)
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "hi" {
		t.Fatalf("first bytes %q, %v; want %q", got, err, "hi")
	}
	if _, err := conn.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	got = make([]byte, 5)
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "hello" {
		t.Errorf("echo %q, %v", got, err)
	}
}

// TestRoundTripHTTPServerRefusal: the refusal net/http writes for us reads
// as a ResponseError with the reason.
func TestRoundTripHTTPServerRefusal(t *testing.T) {
	srv := httptest.NewServer(upgradeHandler(t, &ServerOptions{}))
	defer srv.Close()
	tests := []struct {
		name     string
		opts     *ClientOptions
		status   int
		sentinel error
		msg      string
	}{
		{"cross origin", &ClientOptions{Origin: "http://evil.example"}, 403, ErrNotSwitching,
			`handshake: server answered 403 Forbidden: origin not allowed: "http://evil.example"`},
		{"pattern-less cross origin with port", &ClientOptions{Origin: "http://127.0.0.1:1"}, 403, ErrOriginNotAllowed,
			`handshake: server answered 403 Forbidden: origin not allowed: "http://127.0.0.1:1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			u, _ := url.Parse("ws" + strings.TrimPrefix(srv.URL, "http"))
			_, err = Dial(conn, bufio.NewReader(conn), u, tt.opts)
			if tt.sentinel == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var re *ResponseError
			if !errors.As(err, &re) || re.StatusCode != tt.status || !errors.Is(err, tt.sentinel) {
				t.Fatalf("err = %v, want a ResponseError %d", err, tt.status)
			}
			if diff := cmp.Diff(tt.msg, err.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRoundTripHTTPClient: net/http's own client sends the upgrade to a
// server using the net/http path and to one using the raw path, and checks
// our 101 response with its own parser.
func TestRoundTripHTTPClient(t *testing.T) {
	httpSrv := httptest.NewServer(upgradeHandler(t, &ServerOptions{Subprotocols: []string{"chat"}}))
	defer httpSrv.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				if _, err := Upgrade(br, c, &ServerOptions{Subprotocols: []string{"chat"}, Timeout: 10 * time.Second}); err != nil {
					return
				}
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := c.Write([]byte("hi")); err != nil {
					return
				}
				echo(t, br, c)
			}()
		}
	}()

	for name, base := range map[string]string{"net-http path": httpSrv.URL, "raw path": "http://" + ln.Addr().String()} {
		t.Run(name, func(t *testing.T) {
			key := NewKey()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", base+"/chat", nil)
			req.Header.Set("Upgrade", "websocket")
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Sec-WebSocket-Key", key)
			req.Header.Set("Sec-WebSocket-Version", "13")
			req.Header.Set("Sec-WebSocket-Protocol", "chat")
			client := &http.Client{}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != AcceptKey(key) ||
				resp.Header.Get("Sec-WebSocket-Protocol") != "chat" {
				t.Fatalf("response %s %v", resp.Status, resp.Header)
			}
			rw, ok := resp.Body.(io.ReadWriteCloser)
			if !ok {
				t.Fatalf("101 body is %T, not an io.ReadWriteCloser", resp.Body)
			}
			got := make([]byte, 2)
			if _, err := io.ReadFull(rw, got); err != nil || string(got) != "hi" {
				t.Fatalf("first bytes %q, %v", got, err)
			}
			if _, err := rw.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			got = make([]byte, 5)
			if _, err := io.ReadFull(rw, got); err != nil || string(got) != "hello" {
				t.Errorf("echo %q, %v", got, err)
			}

			// A plain GET gets our 400 with its reason.
			req2, _ := http.NewRequestWithContext(ctx, "GET", base+"/chat", nil)
			resp2, err := client.Do(req2)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp2.Body)
			resp2.Body.Close()
			if resp2.StatusCode != 400 || string(body) != ErrBadUpgrade.Reason+"\n" {
				t.Errorf("plain GET: %s %q", resp2.Status, body)
			}
		})
	}
}

// TestRoundTripRaw: our client against our raw server over an in-memory
// connection, with subprotocol and extension negotiation, and the server's
// first bytes sent in the same write as its 101 response.
func TestRoundTripRaw(t *testing.T) {
	x := &fakeExt{name: "x", offers: []Extension{{Name: "x", Params: []Param{{Name: "decline"}}}, {Name: "x", Params: []Param{{Name: "a", Value: "1", HasValue: true}}}}}
	tests := []struct {
		name string
		so   *ServerOptions
		co   *ClientOptions
		want Result
		err  error // the client's error, matched with errors.Is
	}{
		{"negotiated", &ServerOptions{Subprotocols: []string{"b", "a"}, Extensions: []ServerExtension{x}},
			&ClientOptions{Subprotocols: []string{"a", "b"}, Extensions: []ClientExtension{x}, Origin: "http://example.com"},
			Result{Subprotocol: "b", Extensions: []Extension{{Name: "x", Params: []Param{{Name: "a", Value: "1", HasValue: true}}}}}, nil},
		{"nothing in common", &ServerOptions{Subprotocols: []string{"c"}}, &ClientOptions{Subprotocols: []string{"a"}, Extensions: []ClientExtension{x}},
			Result{}, nil},
		{"origin refused", &ServerOptions{}, &ClientOptions{Origin: "http://evil.example"}, Result{}, ErrOriginNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s := net.Pipe()
			defer c.Close()
			done := make(chan error, 1)
			go func() {
				defer s.Close()
				_, err := Upgrade(bufio.NewReader(s), writerFunc(func(p []byte) (int, error) {
					if bytesHas101(p) {
						p = append(p[:len(p):len(p)], "hi"...)
					}
					return s.Write(p)
				}), tt.so)
				done <- err
			}()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			u, _ := url.Parse("ws://example.com/chat")
			br := bufio.NewReader(c)
			res, err := Dial(c, br, u, tt.co)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("client err = %v, want %v", err, tt.err)
				}
				if serr := <-done; !errors.Is(serr, tt.err) {
					t.Errorf("server err = %v, want %v", serr, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != 101 {
				t.Errorf("StatusCode = %d, want 101", res.StatusCode)
			}
			res.StatusCode, res.Status, res.Header = 0, "", nil
			if diff := cmp.Diff(tt.want, res); diff != "" {
				t.Errorf("Result (-want +got):\n%s", diff)
			}
			got := make([]byte, 2)
			if _, err := io.ReadFull(br, got); err != nil || string(got) != "hi" {
				t.Errorf("first bytes %q, %v", got, err)
			}
			if err := <-done; err != nil {
				t.Errorf("server: %v", err)
			}
		})
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func bytesHas101(p []byte) bool { return strings.HasPrefix(string(p), "HTTP/1.1 101 ") }
