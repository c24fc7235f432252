package websocket

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// socksServer is a small SOCKS5 proxy (RFC 1928, RFC 1929) on loopback.
// Whatever a CONNECT asks for, a granted one is connected to backend; the
// request is recorded so tests can check what the client sent.
type socksServer struct {
	backend    string // host:port every granted CONNECT reaches
	user, pass string // when user is set, only username/password is accepted
	reply      byte   // REP sent to CONNECT; 0 grants it
	// script, when set, replaces the protocol: it gets the accepted
	// connection (broken proxies).
	script func(nc net.Conn)

	mu      sync.Mutex
	methods []byte // the methods the client offered
	atyp    byte   // ATYP of the last CONNECT
	dest    string // its DST.ADDR (a name, or an address) and DST.PORT
}

// start serves s on a loopback listener until the test ends and returns
// the proxy's address.
func (s *socksServer) start(t testing.TB) string {
	t.Helper()
	ln := listen(t)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				nc.SetDeadline(time.Now().Add(10 * time.Second))
				if s.script != nil {
					s.script(nc)
					return
				}
				s.serve(t, nc)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// serve is the proxy's side of one connection.
func (s *socksServer) serve(t testing.TB, nc net.Conn) {
	var b [2]byte
	if _, err := io.ReadFull(nc, b[:]); err != nil || b[0] != 5 {
		t.Errorf("socks server: greeting %v, %v", b, err)
		return
	}
	methods := make([]byte, b[1])
	if _, err := io.ReadFull(nc, methods); err != nil {
		return
	}
	s.mu.Lock()
	s.methods = methods
	s.mu.Unlock()
	want := byte(0)
	if s.user != "" {
		want = 2
	}
	if !strings.Contains(string(methods), string(rune(want))) {
		nc.Write([]byte{5, 0xff})
		return
	}
	nc.Write([]byte{5, want})
	if want == 2 {
		readField := func() string {
			var n [1]byte
			io.ReadFull(nc, n[:])
			f := make([]byte, n[0])
			io.ReadFull(nc, f)
			return string(f)
		}
		var ver [1]byte
		io.ReadFull(nc, ver[:])
		user := readField()
		pass := readField()
		if ver[0] != 1 || user != s.user || pass != s.pass {
			nc.Write([]byte{1, 1})
			return
		}
		nc.Write([]byte{1, 0})
	}
	var head [4]byte
	if _, err := io.ReadFull(nc, head[:]); err != nil || head[0] != 5 || head[1] != 1 || head[2] != 0 {
		t.Errorf("socks server: request head %v, %v", head, err)
		return
	}
	var host string
	switch head[3] {
	case 1, 4:
		a := make([]byte, 4)
		if head[3] == 4 {
			a = make([]byte, 16)
		}
		io.ReadFull(nc, a)
		ip, _ := netip.AddrFromSlice(a)
		host = ip.String()
	case 3:
		var n [1]byte
		io.ReadFull(nc, n[:])
		name := make([]byte, n[0])
		io.ReadFull(nc, name)
		host = string(name)
	}
	var port [2]byte
	io.ReadFull(nc, port[:])
	s.mu.Lock()
	s.atyp = head[3]
	s.dest = net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(port[:]))))
	s.mu.Unlock()
	if s.reply != 0 {
		nc.Write([]byte{5, s.reply, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	bc, err := net.Dial("tcp", s.backend)
	if err != nil {
		nc.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	defer bc.Close()
	// A name as BND.ADDR, to check the client reads exactly the reply.
	nc.Write([]byte{5, 0, 0, 3, 4, 'b', 'n', 'd', '!', 0x04, 0x38})
	nc.SetDeadline(time.Time{})
	done := make(chan struct{})
	go func() {
		io.Copy(bc, nc)
		bc.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(nc, bc)
	nc.(*net.TCPConn).CloseWrite()
	<-done
}

// request returns what the last CONNECT asked for.
func (s *socksServer) request() (atyp byte, dest string, methods []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.atyp, s.dest, s.methods
}

// echoOnce sends one message over c and checks it comes back.
func echoOnce(t *testing.T, c *Conn) {
	t.Helper()
	if err := c.WriteMessage(Text, []byte("through the proxy")); err != nil {
		t.Fatalf("write: %v", err)
	}
	_, msg, err := c.ReadMessage(nil)
	if err != nil || string(msg) != "through the proxy" {
		t.Fatalf("read %q, %v; want the echo", msg, err)
	}
}

// ws and wss connect through SOCKS5, without and with username/password;
// socks5 resolves a host name here and sends an address (ATYP 1 or 4),
// socks5h sends the name (ATYP 3), and an IP literal goes as an address
// with either.
func TestDialSOCKS5(t *testing.T) {
	tests := []struct {
		scheme, host string
		atyp         byte // 0: 1 or 4, a loopback address
		dest         string
	}{
		{"socks5h", "localhost", 3, "localhost"},
		{"socks5h", "ws.example.invalid", 3, "ws.example.invalid"}, // never resolvable here
		{"socks5", "localhost", 0, ""},
		{"socks5", "127.0.0.1", 1, "127.0.0.1"},
		{"socks5h", "[::1]", 4, "::1"},
	}
	for _, tr := range testTransports {
		for _, auth := range []bool{false, true} {
			for _, tc := range tests {
				name := tr.name + "/" + tc.scheme + "/" + tc.host
				if auth {
					name += "/userpass"
				}
				t.Run(name, func(t *testing.T) {
					var backend string
					if tr.tls {
						backend = tr.serveHTTP(t, nil, echo)
					} else {
						backend = serve(t, nil, echo)
					}
					bu, _ := url.Parse(backend)
					s := &socksServer{backend: bu.Host}
					pu := &url.URL{Scheme: tc.scheme, Host: ""}
					if auth {
						s.user, s.pass = "alice", "s3cret"
						pu.User = url.UserPassword("alice", "s3cret")
					}
					pu.Host = s.start(t)
					target := bu.Scheme + "://" + net.JoinHostPort(strings.Trim(tc.host, "[]"), bu.Port()) + "/"
					c := tr.dial(t, target, &DialOptions{Proxy: http.ProxyURL(pu)})
					echoOnce(t, c)

					atyp, dest, methods := s.request()
					host, port, _ := net.SplitHostPort(dest)
					if port != bu.Port() {
						t.Errorf("proxy saw port %s, want %s", port, bu.Port())
					}
					switch {
					case tc.atyp == 0:
						ip, err := netip.ParseAddr(host)
						if (atyp != 1 && atyp != 4) || err != nil || !ip.IsLoopback() {
							t.Errorf("proxy saw ATYP %d, %q; want a loopback address (1 or 4)", atyp, host)
						}
					case atyp != tc.atyp || host != tc.dest:
						t.Errorf("proxy saw ATYP %d, %q; want %d, %q", atyp, host, tc.atyp, tc.dest)
					}
					wantMethods := "\x00"
					if auth {
						wantMethods = "\x00\x02"
					}
					if string(methods) != wantMethods {
						t.Errorf("client offered methods %x, want %x", methods, wantMethods)
					}
				})
			}
		}
	}
}

// socksRules is what a refusal test configures of a socksServer.
type socksRules struct {
	user, pass string
	reply      byte
}

// Every refusal is a *SOCKSError naming the reply code and its RFC 1928
// meaning, or the authentication step that failed.
func TestDialSOCKS5Refusals(t *testing.T) {
	tests := []struct {
		name     string
		server   socksRules
		user     *url.Userinfo
		reply    byte
		auth     bool
		status   byte
		errorEnd string
	}{
		{"general", socksRules{reply: 1}, nil, 1, false, 0, "refused CONNECT: general SOCKS server failure (reply 1)"},
		{"ruleset", socksRules{reply: 2}, nil, 2, false, 0, "refused CONNECT: connection not allowed by ruleset (reply 2)"},
		{"network", socksRules{reply: 3}, nil, 3, false, 0, "refused CONNECT: network unreachable (reply 3)"},
		{"host", socksRules{reply: 4}, nil, 4, false, 0, "refused CONNECT: host unreachable (reply 4)"},
		{"refused", socksRules{reply: 5}, nil, 5, false, 0, "refused CONNECT: connection refused (reply 5)"},
		{"ttl", socksRules{reply: 6}, nil, 6, false, 0, "refused CONNECT: TTL expired (reply 6)"},
		{"command", socksRules{reply: 7}, nil, 7, false, 0, "refused CONNECT: command not supported (reply 7)"},
		{"atyp", socksRules{reply: 8}, nil, 8, false, 0, "refused CONNECT: address type not supported (reply 8)"},
		{"unassigned9", socksRules{reply: 9}, nil, 9, false, 0, "refused CONNECT: unassigned reply code (reply 9)"},
		{"unassigned255", socksRules{reply: 255}, nil, 255, false, 0, "refused CONNECT: unassigned reply code (reply 255)"},
		{"badpassword", socksRules{user: "alice", pass: "s3cret"}, url.UserPassword("alice", "wrong"), 0, true, 1, "rejected the username and password (status 1)"},
		{"nocredentials", socksRules{user: "alice", pass: "s3cret"}, nil, 0, true, 0, "accepts none of the offered authentication methods"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &socksServer{backend: "127.0.0.1:1", user: tc.server.user, pass: tc.server.pass, reply: tc.server.reply} // the backend is never reached
			pu := &url.URL{Scheme: "socks5h", Host: s.start(t), User: tc.user}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, _, err := Dial(ctx, "ws://ws.example.invalid/", &DialOptions{Proxy: http.ProxyURL(pu)})
			var se *SOCKSError
			if !errors.As(err, &se) {
				t.Fatalf("Dial = %v, want a *SOCKSError", err)
			}
			if se.Reply != tc.reply || se.Auth != tc.auth || se.Status != tc.status || se.Proxy != pu.Host {
				t.Errorf("SOCKSError %+v, want Reply %d, Auth %v, Status %d, Proxy %s", *se, tc.reply, tc.auth, tc.status, pu.Host)
			}
			if want := "websocket: dial: socks5 proxy " + pu.Host + " " + tc.errorEnd; err.Error() != want {
				t.Errorf("error text\n %q, want\n %q", err, want)
			}
		})
	}
}

// A proxy that closes mid-handshake, answers garbage or nothing gives a
// clear error (ErrSOCKSProtocol for what is not SOCKS5), never a hang:
// the silent one ends at ctx's deadline.
func TestDialSOCKS5Broken(t *testing.T) {
	readHello := func(nc net.Conn) { io.ReadFull(nc, make([]byte, 3)) }
	tests := []struct {
		name   string
		script func(nc net.Conn)
		is     error  // errors.Is target, or nil
		text   string // in the error's text
	}{
		// The proxy reads the greeting before it closes: closing with
		// unread bytes makes the kernel send a reset, and the client
		// would see ECONNRESET instead of the end of the stream.
		{"closeBeforeAnswer", func(nc net.Conn) { readHello(nc) }, io.ErrUnexpectedEOF, "unexpected EOF"},
		{"closeAfterMethod", func(nc net.Conn) { readHello(nc); nc.Write([]byte{5}) }, io.ErrUnexpectedEOF, "unexpected EOF"},
		{"closeMidReply", func(nc net.Conn) {
			readHello(nc)
			nc.Write([]byte{5, 0})
			io.ReadFull(nc, make([]byte, 4+1+len("ws.example.invalid")+2))
			nc.Write([]byte{5, 0, 0, 1, 127})
		}, io.ErrUnexpectedEOF, "unexpected EOF"},
		{"http", func(nc net.Conn) {
			readHello(nc)
			nc.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
		}, ErrSOCKSProtocol, "version 72 in its method selection"},
		{"unofferedMethod", func(nc net.Conn) { readHello(nc); nc.Write([]byte{5, 2}) }, ErrSOCKSProtocol, "method 2, which was not offered"},
		{"badReplyVersion", func(nc net.Conn) {
			readHello(nc)
			nc.Write([]byte{5, 0})
			io.ReadFull(nc, make([]byte, 4+1+len("ws.example.invalid")+2))
			nc.Write([]byte{4, 0, 0, 1, 0, 0, 0, 0, 0, 0})
		}, ErrSOCKSProtocol, "version 4 in its reply"},
		{"badAddressType", func(nc net.Conn) {
			readHello(nc)
			nc.Write([]byte{5, 0})
			io.ReadFull(nc, make([]byte, 4+1+len("ws.example.invalid")+2))
			nc.Write([]byte{5, 0, 0, 9, 0, 0})
		}, ErrSOCKSProtocol, "address type 9"},
		{"silent", func(nc net.Conn) { readHello(nc); io.Copy(io.Discard, nc) }, context.DeadlineExceeded, "deadline exceeded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &socksServer{script: tc.script}
			pu := &url.URL{Scheme: "socks5h", Host: s.start(t)}
			timeout := 10 * time.Second
			if tc.is == context.DeadlineExceeded {
				timeout = 300 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			start := time.Now()
			_, _, err := Dial(ctx, "ws://ws.example.invalid/", &DialOptions{Proxy: http.ProxyURL(pu)})
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				// Only the silent proxy waits, for ctx's 300 ms.
				t.Errorf("Dial took %v", elapsed)
			}
			var se *SOCKSError
			if err == nil || errors.As(err, &se) {
				t.Fatalf("Dial = %v, want a plain error", err)
			}
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("Dial = %q, want errors.Is %v and %q in the text", err, tc.is, tc.text)
			}
		})
	}
}

// ALL_PROXY applies when HTTP_PROXY and HTTPS_PROXY name no proxy, and
// NO_PROXY excludes hosts from it; localhost is never proxied.
func TestAllProxy(t *testing.T) {
	tests := []struct {
		env    map[string]string
		target string
		want   string // "" for no proxy
	}{
		{map[string]string{}, "ws.example:80", ""},
		{map[string]string{"ALL_PROXY": "socks5h://p:1080"}, "ws.example:80", "socks5h://p:1080"},
		{map[string]string{"all_proxy": "socks5://p"}, "ws.example:443", "socks5://p"},
		{map[string]string{"ALL_PROXY": "p:3128"}, "ws.example:80", "http://p:3128"},
		{map[string]string{"ALL_PROXY": "socks5://p"}, "localhost:80", ""},
		{map[string]string{"ALL_PROXY": "socks5://p"}, "127.0.0.1:80", ""},
		{map[string]string{"ALL_PROXY": "socks5://p"}, "[::1]:80", ""},
		{map[string]string{"ALL_PROXY": "socks5://p", "NO_PROXY": "*"}, "ws.example:80", ""},
		{map[string]string{"ALL_PROXY": "socks5://p", "NO_PROXY": "example"}, "ws.example:80", ""},
		{map[string]string{"ALL_PROXY": "socks5://p", "NO_PROXY": "example"}, "example:80", ""},
		{map[string]string{"ALL_PROXY": "socks5://p", "no_proxy": ".example"}, "example:80", "socks5://p"},
		{map[string]string{"ALL_PROXY": "socks5://p", "NO_PROXY": "*.example"}, "ws.example:80", ""},
		{map[string]string{"ALL_PROXY": "socks5://p", "NO_PROXY": "xample"}, "ws.example:80", "socks5://p"},
		{map[string]string{"ALL_PROXY": "socks5://p", "NO_PROXY": "ws.example:443"}, "ws.example:80", "socks5://p"},
		{map[string]string{"ALL_PROXY": "socks5://p", "NO_PROXY": "ws.example:443"}, "ws.example:443", ""},
		{map[string]string{"ALL_PROXY": "socks5://p", "NO_PROXY": "10.0.0.0/8, 192.0.2.1"}, "10.1.2.3:80", ""},
		{map[string]string{"ALL_PROXY": "socks5://p", "NO_PROXY": "10.0.0.0/8, 192.0.2.1"}, "192.0.2.1:80", ""},
		{map[string]string{"ALL_PROXY": "socks5://p", "NO_PROXY": "10.0.0.0/8, 192.0.2.1"}, "192.0.2.2:80", "socks5://p"},
	}
	for _, tc := range tests {
		u, err := allProxy(func(k string) string { return tc.env[k] }, tc.target)
		got := ""
		if u != nil {
			got = u.String()
		}
		if err != nil || got != tc.want {
			t.Errorf("allProxy(%v, %s) = %q, %v; want %q", tc.env, tc.target, got, err, tc.want)
		}
	}
}

// Dial with DialOptions.Proxy nil reads ALL_PROXY from the environment.
func TestDialAllProxyEnv(t *testing.T) {
	backend := serve(t, nil, echo)
	bu, _ := url.Parse(backend)
	target := "ws://ws.example.invalid:" + bu.Port() + "/"
	if p, err := http.ProxyFromEnvironment(&http.Request{URL: &url.URL{Scheme: "http", Host: "ws.example.invalid:" + bu.Port()}}); p != nil || err != nil {
		t.Skipf("HTTP_PROXY is set in this environment (%v, %v): ALL_PROXY would not apply", p, err)
	}
	s := &socksServer{backend: bu.Host}
	t.Setenv("ALL_PROXY", "socks5h://"+s.start(t))
	t.Setenv("NO_PROXY", "other.example")
	c := dial(t, target, nil)
	echoOnce(t, c)
	if atyp, dest, _ := s.request(); atyp != 3 || dest != "ws.example.invalid:"+bu.Port() {
		t.Errorf("proxy saw ATYP %d, %q; want the name", atyp, dest)
	}
}

// socksChildEnv carries the URL a child process of
// TestDialHTTPProxyEnvSOCKS dials.
const socksChildEnv = "HYBI_TEST_SOCKS_TARGET"

// HTTP_PROXY may name a SOCKS5 proxy: net/http's environment gives socks5
// and socks5h URLs back as they are, and Dial speaks SOCKS5 to them.
// net/http reads the environment once per process, so the dial runs in a
// child process of the test binary with HTTP_PROXY set.
func TestDialHTTPProxyEnvSOCKS(t *testing.T) {
	if target := os.Getenv(socksChildEnv); target != "" {
		echoOnce(t, dial(t, target, nil))
		return
	}
	backend := serve(t, nil, echo)
	bu, _ := url.Parse(backend)
	s := &socksServer{backend: bu.Host}
	proxy := "socks5h://" + s.start(t)
	target := "ws://ws.example.invalid:" + bu.Port() + "/"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestDialHTTPProxyEnvSOCKS$", "-test.count=1")
	cmd.Env = append(os.Environ(), socksChildEnv+"="+target, "HTTP_PROXY="+proxy, "http_proxy=",
		"NO_PROXY=", "no_proxy=", "REQUEST_METHOD=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if atyp, dest, _ := s.request(); atyp != 3 || dest != "ws.example.invalid:"+bu.Port() {
		t.Errorf("proxy saw ATYP %d, %q; want the name", atyp, dest)
	}
}
