package websocket

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// chatHook routes by path, authenticates by a token in the query or an
// Authorization header, and picks the subprotocol: what a real server's
// OnRequest does.
func chatHook(r *Request) error {
	if r.URL.Path != "/chat" {
		return Reject(http.StatusNotFound, nil, "no such room\n")
	}
	tok := r.URL.Query().Get("token")
	if tok == "" {
		tok = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	switch tok {
	case "good":
	case "busy":
		return Reject(http.StatusTooManyRequests, http.Header{"Retry-After": {"7"}}, "slow down\n")
	case "err":
		return errors.New("database password is hunter2")
	case "panic":
		panic("boom")
	case "badproto":
		r.Subprotocol = "not-offered"
		return nil
	default:
		return Reject(http.StatusUnauthorized, http.Header{"WWW-Authenticate": {`Bearer realm="chat"`}}, "token required\n")
	}
	if r.Method != "GET" || r.RemoteAddr == "" || r.Header.Get("Sec-WebSocket-Key") == "" {
		return Reject(http.StatusBadRequest, nil, "request view incomplete\n")
	}
	for _, p := range r.Subprotocols {
		if p == "v2.chat" {
			r.Subprotocol = p
		}
	}
	return nil
}

// hookServers starts an Accept server and an Upgrade server with opts on
// loopback; each reports the error Accept or Upgrade returned.
func hookServers(t *testing.T, opts *AcceptOptions) (urls map[string]string, errs chan error) {
	errs = make(chan error, 16)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, opts)
		errs <- err
		if err == nil {
			c.Close(CloseNormal, "")
		}
	}))
	t.Cleanup(hs.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				c, err := Upgrade(nc, nil, opts)
				errs <- err
				if err != nil {
					nc.Close()
					return
				}
				c.Close(CloseNormal, "")
			}()
		}
	}()
	return map[string]string{
		"Accept":  "ws" + strings.TrimPrefix(hs.URL, "http"),
		"Upgrade": "ws://" + ln.Addr().String(),
	}, errs
}

func TestOnRequest(t *testing.T) {
	opts := &AcceptOptions{OnRequest: chatHook, Subprotocols: []string{"v1.chat"}}
	urls, errs := hookServers(t, opts)
	cases := []struct {
		name, target, auth string
		protos             []string
		status             int
		header, value      string
		body               string
		reject             bool   // the server's error is a *RejectError
		proto              string // accepted: the agreed subprotocol
	}{
		{name: "token in query", target: "/chat?token=good", proto: ""},
		{name: "token in header", target: "/chat", auth: "Bearer good", protos: []string{"v1.chat"}, proto: "v1.chat"},
		{name: "hook picks subprotocol", target: "/chat?token=good", protos: []string{"v1.chat", "v2.chat"}, proto: "v2.chat"},
		{name: "no token", target: "/chat", status: 401, header: "Www-Authenticate", value: `Bearer realm="chat"`, body: "token required\n", reject: true},
		{name: "bad token", target: "/chat?token=bad", status: 401, header: "Www-Authenticate", value: `Bearer realm="chat"`, body: "token required\n", reject: true},
		{name: "unknown path", target: "/nowhere?token=good", status: 404, body: "no such room\n", reject: true},
		{name: "rate limited", target: "/chat", auth: "Bearer busy", status: 429, header: "Retry-After", value: "7", body: "slow down\n", reject: true},
		{name: "other error", target: "/chat?token=err", status: 403, body: "forbidden\n"},
		{name: "panic", target: "/chat?token=panic", status: 500, body: "internal error\n"},
		{name: "subprotocol not offered", target: "/chat?token=badproto", status: 500},
	}
	for _, path := range []string{"Accept", "Upgrade"} {
		for _, tc := range cases {
			t.Run(path+"/"+tc.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				do := &DialOptions{Subprotocols: tc.protos, Header: http.Header{}}
				if tc.auth != "" {
					do.Header.Set("Authorization", tc.auth)
				}
				c, res, err := Dial(ctx, urls[path]+tc.target, do)
				var serr error
				select {
				case serr = <-errs:
				case <-ctx.Done():
					t.Fatal("the server did not finish the handshake")
				}
				if tc.status == 0 {
					if err != nil || serr != nil {
						t.Fatalf("dial: %v; server: %v", err, serr)
					}
					defer c.CloseNow()
					if res.Subprotocol != tc.proto {
						t.Errorf("subprotocol %q, want %q", res.Subprotocol, tc.proto)
					}
					return
				}
				var re *ResponseError
				if !errors.As(err, &re) {
					t.Fatalf("dial: %v, want a *ResponseError", err)
				}
				if re.StatusCode != tc.status {
					t.Errorf("status %d, want %d", re.StatusCode, tc.status)
				}
				if tc.header != "" && re.Header.Get(tc.header) != tc.value {
					t.Errorf("%s: %q, want %q", tc.header, re.Header.Get(tc.header), tc.value)
				}
				if tc.body != "" && string(re.Body) != tc.body {
					t.Errorf("body %q, want %q", re.Body, tc.body)
				}
				if strings.Contains(string(re.Body), "hunter2") {
					t.Errorf("the refusal shows the hook's error: %q", re.Body)
				}
				if serr == nil {
					t.Fatal("the server accepted a refused request")
				}
				var rej *RejectError
				if errors.As(serr, &rej) != tc.reject {
					t.Errorf("server error %v: *RejectError %v, want %v", serr, !tc.reject, tc.reject)
				}
				if tc.reject && rej.Status != tc.status {
					t.Errorf("server error status %d, want %d", rej.Status, tc.status)
				}
			})
		}
	}
}

// A refusal's header cannot break the response's framing: its own
// Content-Length, Connection or a field with CR LF in its value are not
// sent as such.
func TestRejectFraming(t *testing.T) {
	hook := func(r *Request) error {
		return Reject(http.StatusUnauthorized, http.Header{
			"Content-Length": {"999"},
			"Connection":     {"keep-alive"},
			"X-Evil":         {"a\r\nSet-Cookie: x=1"},
		}, "no\n")
	}
	urls, errs := hookServers(t, &AcceptOptions{OnRequest: hook})
	for _, path := range []string{"Accept", "Upgrade"} {
		t.Run(path, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, _, err := Dial(ctx, urls[path]+"/", nil)
			<-errs
			var re *ResponseError
			if !errors.As(err, &re) {
				t.Fatalf("dial: %v", err)
			}
			if re.StatusCode != 401 || string(re.Body) != "no\n" {
				t.Errorf("got %d %q, want 401 %q", re.StatusCode, re.Body, "no\n")
			}
			if re.Header.Get("Set-Cookie") != "" {
				t.Errorf("a CR LF in a value made a field: %q", re.Header)
			}
			if re.Header.Get("Content-Length") != "3" {
				t.Errorf("Content-Length %q, want 3", re.Header.Get("Content-Length"))
			}
		})
	}
}

// With a hook, Upgrade allocates the Conn plus the Request and its view of
// the head (pinned here so a change is seen); without one, the Conn alone
// (TestUpgradeAllocs).
func TestUpgradeHookAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	req := []byte("GET /chat?token=good HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	mc := &memConn{}
	nc := addrConn{mc}
	opts := &AcceptOptions{OnRequest: func(r *Request) error { return nil }}
	upgrade := func() {
		mc.r.Reset(req)
		if _, err := Upgrade(nc, nil, opts); err != nil {
			t.Fatal(err)
		}
	}
	upgrade()
	got := testing.AllocsPerRun(100, upgrade)
	t.Logf("Upgrade with OnRequest: %v allocations", got)
	if got > maxHookAllocs {
		t.Errorf("Upgrade with OnRequest makes %v allocations, want at most %d", got, maxHookAllocs)
	}
}

// maxHookAllocs is what TestUpgradeHookAllocs measured with Go 1.26 for a
// request of six header fields: the Request, its header map and strings,
// the parsed URL and the hook's closure (AcceptOptions.OnRequest's doc
// names it).
const maxHookAllocs = 33

// addrConn is a memConn with a remote address.
type addrConn struct{ *memConn }

var loopbackAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}

func (addrConn) RemoteAddr() net.Addr { return loopbackAddr }
