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
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybi/websocket/frame"
)

// Dial gives back the server's 101 response: its status and every header
// field the server added (AcceptOptions.Header), Set-Cookie included, on
// both server paths (Accept over net/http, raw Upgrade).
func TestDialResultResponse(t *testing.T) {
	opts := &AcceptOptions{
		Subprotocols: []string{"chat"},
		Header: http.Header{
			"X-Server":   {"hybi-test"},
			"Set-Cookie": {"session=abc; Path=/", "theme=dark"},
		},
	}
	httpSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, opts)
		if err != nil {
			return
		}
		echo(c)
		c.CloseNow()
	}))
	defer httpSrv.Close()
	for _, tc := range []struct{ name, url string }{
		{"Accept", "ws" + strings.TrimPrefix(httpSrv.URL, "http") + "/"},
		{"Upgrade", serve(t, opts, echo)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, res, err := Dial(ctx, tc.url, &DialOptions{Subprotocols: []string{"chat"}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			if res.StatusCode != http.StatusSwitchingProtocols || res.Status != "101 Switching Protocols" {
				t.Errorf("status %d %q, want 101 Switching Protocols", res.StatusCode, res.Status)
			}
			if got := res.Header.Get("X-Server"); got != "hybi-test" {
				t.Errorf("X-Server = %q, want %q", got, "hybi-test")
			}
			if got := res.Header.Values("Set-Cookie"); len(got) != 2 || got[0] != "session=abc; Path=/" || got[1] != "theme=dark" {
				t.Errorf("Set-Cookie = %q", got)
			}
			if got := res.Header.Get("Upgrade"); !strings.EqualFold(got, "websocket") {
				t.Errorf("Upgrade = %q", got)
			}
			if res.Subprotocol != "chat" {
				t.Errorf("Subprotocol = %q, want chat", res.Subprotocol)
			}
			// The cookies parse as net/http's client would see them.
			resp := http.Response{Header: res.Header}
			if ck := resp.Cookies(); len(ck) != 2 || ck[0].Name != "session" || ck[0].Value != "abc" {
				t.Errorf("Cookies() = %v", ck)
			}
			if err := c.Close(frame.CloseNormal, ""); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

// DialOptions.Jar: a cookie set by the 101 is sent on the next dial, after
// the Cookie of DialOptions.Header in one field; a cookie set by a refusal
// is stored too; a Secure cookie set over wss goes back over wss only
// (the jar knows wss as https).
func TestDialCookieJar(t *testing.T) {
	type seen struct{ path, cookie string }
	got := make(chan seen, 10)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.URL.Path, strings.Join(r.Header.Values("Cookie"), " | ")}
		switch r.URL.Path {
		case "/refuse":
			w.Header().Add("Set-Cookie", "refused=yes; Path=/")
			http.Error(w, "come back later", http.StatusServiceUnavailable)
			return
		case "/secure":
			c, err := Accept(w, r, &AcceptOptions{Header: http.Header{"Set-Cookie": {"tls=1; Path=/; Secure"}}})
			if err == nil {
				c.CloseNow()
			}
			return
		}
		c, err := Accept(w, r, &AcceptOptions{Header: http.Header{"Set-Cookie": {"session=abc; Path=/"}}})
		if err == nil {
			c.CloseNow()
		}
	})
	dialOnce := func(t *testing.T, url string, opts *DialOptions) (DialResult, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, res, err := Dial(ctx, url, opts)
		if err == nil {
			c.CloseNow()
		}
		return res, err
	}
	want := func(t *testing.T, path, cookie string) {
		t.Helper()
		select {
		case s := <-got:
			if s.path != path || s.cookie != cookie {
				t.Errorf("server saw %s with Cookie %q, want %s with %q", s.path, s.cookie, path, cookie)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the server saw no request")
		}
	}
	// accepted dials url, which must succeed with the server seeing the
	// request for path with Cookie cookie.
	accepted := func(t *testing.T, url string, opts *DialOptions, path, cookie string) {
		t.Helper()
		if _, err := dialOnce(t, url, opts); err != nil {
			t.Fatal(err)
		}
		want(t, path, cookie)
	}

	t.Run("ws", func(t *testing.T) {
		srv := httptest.NewServer(handler)
		defer srv.Close()
		base := "ws" + strings.TrimPrefix(srv.URL, "http")
		jar := newRecordingJar()
		opts := &DialOptions{Jar: jar, Header: http.Header{"Cookie": {"mine=1"}}}
		accepted(t, base+"/", opts, "/", "mine=1")
		accepted(t, base+"/", opts, "/", "mine=1; session=abc")
		if got := opts.Header.Values("Cookie"); len(got) != 1 || got[0] != "mine=1" {
			t.Errorf("Dial changed DialOptions.Header: Cookie %q", got)
		}
		_, err := dialOnce(t, base+"/refuse", opts)
		var re *ResponseError
		if !errors.As(err, &re) || re.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("Dial /refuse = %v, want a 503 *ResponseError", err)
		}
		want(t, "/refuse", "mine=1; session=abc")
		accepted(t, base+"/", &DialOptions{Jar: jar}, "/", "session=abc; refused=yes") // the jar's order: longest path, then oldest
		jar.onlyScheme(t, "http")
		// The jar is the one an http.Client would use for the same site.
		u, _ := url.Parse(srv.URL + "/")
		if n := len(jar.Cookies(u)); n != 2 {
			t.Errorf("jar holds %d cookies for %s, want 2", n, u)
		}
	})

	t.Run("wss", func(t *testing.T) {
		srv := httptest.NewTLSServer(handler)
		defer srv.Close()
		pool := x509.NewCertPool()
		pool.AddCert(srv.Certificate())
		jar := newRecordingJar()
		opts := &DialOptions{Jar: jar, TLSConfig: &tls.Config{RootCAs: pool}}
		wss := "wss" + strings.TrimPrefix(srv.URL, "https")
		accepted(t, wss+"/secure", opts, "/secure", "")
		accepted(t, wss+"/secure", opts, "/secure", "tls=1")
		jar.onlyScheme(t, "https")
	})
}

// recordingJar is a cookiejar.Jar that records the URLs it is asked about.
type recordingJar struct {
	*cookiejar.Jar
	mu   sync.Mutex
	seen []string
}

func newRecordingJar() *recordingJar {
	j, _ := cookiejar.New(nil)
	return &recordingJar{Jar: j}
}

func (j *recordingJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	j.mu.Lock()
	j.seen = append(j.seen, u.String())
	j.mu.Unlock()
	j.Jar.SetCookies(u, cookies)
}

func (j *recordingJar) Cookies(u *url.URL) []*http.Cookie {
	j.mu.Lock()
	j.seen = append(j.seen, u.String())
	j.mu.Unlock()
	return j.Jar.Cookies(u)
}

// onlyScheme checks that the jar was asked about URLs of scheme only (a
// ws dial asks about http URLs, a wss dial about https ones).
func (j *recordingJar) onlyScheme(t *testing.T, scheme string) {
	t.Helper()
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.seen) == 0 {
		t.Error("the jar was never asked")
	}
	for _, u := range j.seen {
		if !strings.HasPrefix(u, scheme+"://") {
			t.Errorf("the jar saw %s, want scheme %s", u, scheme)
		}
	}
}

// An HTTP proxy that refuses CONNECT gives a *ProxyError with its status,
// header and the start of its body, however the body is delimited, and
// never holds Dial beyond proxyBodyWait.
func TestDialProxyRefusal(t *testing.T) {
	big := strings.Repeat("x", 3000)
	tests := []struct {
		name     string
		answer   string // the proxy's bytes after reading the request head
		keepOpen bool   // the proxy leaves the connection open afterwards
		status   int
		header   string // a header field to check, "Name: value"
		body     string
		msg      string
	}{
		{name: "407", answer: "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"corp\"\r\nContent-Length: 0\r\n\r\n",
			keepOpen: true, status: 407, header: `Proxy-Authenticate: Basic realm="corp"`,
			msg: "refused CONNECT: 407 Proxy Authentication Required"},
		{name: "403 with body", answer: "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 17\r\n\r\nhost not allowed\n",
			keepOpen: true, status: 403, header: "Content-Type: text/plain", body: "host not allowed\n",
			msg: "refused CONNECT: 403 Forbidden: host not allowed"},
		{name: "502 chunked", answer: "HTTP/1.1 502 Bad Gateway\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nno up\r\n7\r\nstream\n\r\n0\r\n\r\n",
			keepOpen: true, status: 502, body: "no upstream\n", msg: "refused CONNECT: 502 Bad Gateway: no upstream"},
		{name: "403 until close", answer: "HTTP/1.1 403 Forbidden\r\n\r\ngo away\n",
			status: 403, body: "go away\n", msg: "refused CONNECT: 403 Forbidden: go away"},
		{name: "403 no length, kept open", answer: "HTTP/1.1 403 Forbidden\r\n\r\ngo away\n",
			keepOpen: true, status: 403, body: "go away\n", msg: "refused CONNECT: 403 Forbidden: go away"},
		{name: "body beyond 1 KiB", answer: "HTTP/1.1 403 Forbidden\r\nContent-Length: 3000\r\n\r\n" + big,
			keepOpen: true, status: 403, body: big[:maxProxyBody], msg: "refused CONNECT: 403 Forbidden: " + big[:200]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := acceptOne(t, listen(t), func(nc net.Conn) {
				nc.SetDeadline(time.Now().Add(10 * time.Second))
				req, err := http.ReadRequest(bufio.NewReader(nc))
				if err != nil || req.Method != http.MethodConnect || req.Host != "ws.example:80" {
					t.Errorf("proxy read %v, %v; want CONNECT ws.example:80", req, err)
					return
				}
				nc.Write([]byte(tc.answer))
				if tc.keepOpen {
					io.Copy(io.Discard, nc) // until the client closes
				}
			})
			pu := &url.URL{Scheme: "http", Host: addr}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			_, _, err := Dial(ctx, "ws://ws.example/", &DialOptions{Proxy: http.ProxyURL(pu)})
			elapsed := time.Since(start)
			var pe *ProxyError
			if !errors.As(err, &pe) {
				t.Fatalf("Dial = %v, want a *ProxyError", err)
			}
			if pe.StatusCode != tc.status || pe.Proxy != addr || string(pe.Body) != tc.body {
				t.Errorf("ProxyError{Proxy %q, StatusCode %d, Body %q}, want {%q, %d, %q}", pe.Proxy, pe.StatusCode, pe.Body, addr, tc.status, tc.body)
			}
			if tc.header != "" {
				name, value, _ := strings.Cut(tc.header, ": ")
				if got := pe.Header.Get(name); got != value {
					t.Errorf("header %s = %q, want %q", name, got, value)
				}
			}
			if want := "websocket: dial: proxy " + addr + " " + tc.msg; err.Error() != want {
				t.Errorf("error text\n %q, want\n %q", err, want)
			}
			if elapsed > proxyBodyWait+2*time.Second {
				t.Errorf("Dial took %v, want at most about proxyBodyWait (%v)", elapsed, proxyBodyWait)
			}
		})
	}
}
