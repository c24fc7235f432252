package websocket

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hybi/websocket/deflate"
	"github.com/hybi/websocket/handshake"
)

// A promise holds on every path (DESIGN.md, decision 8): the deadline and
// queued-write tests run as one table over each of these transports, not
// as hand-written copies.
type testTransport struct {
	name string
	tls  bool
}

var testTransports = []testTransport{{"tcp", false}, {"tls", true}}

var testCert struct {
	once   sync.Once
	server *tls.Config
	client *tls.Config
}

// testTLS returns a server and a client TLS configuration that trust each
// other: the self-signed certificate of net/http/httptest, and a pool with
// it as the only root (as a user of Dial would set RootCAs).
func testTLS() (server, client *tls.Config) {
	testCert.once.Do(func() {
		s := httptest.NewUnstartedServer(http.NotFoundHandler())
		s.StartTLS()
		cert := s.TLS.Certificates[0]
		pool := x509.NewCertPool()
		pool.AddCert(s.Certificate())
		s.Close()
		testCert.server = &tls.Config{Certificates: []tls.Certificate{cert}}
		testCert.client = &tls.Config{RootCAs: pool, ServerName: "example.com"}
	})
	return testCert.server.Clone(), testCert.client.Clone()
}

// wrap turns the two ends of a loopback TCP connection into this
// transport's ends, with the TLS handshake done.
func (tr testTransport) wrap(t testing.TB, cn, sn net.Conn) (client, server net.Conn) {
	t.Helper()
	if !tr.tls {
		return cn, sn
	}
	scfg, ccfg := testTLS()
	tc, ts := tls.Client(cn, ccfg), tls.Server(sn, scfg)
	errc := make(chan error, 1)
	go func() { errc <- ts.Handshake() }()
	if err := tc.Handshake(); err != nil {
		t.Fatalf("tls handshake: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("tls handshake (server): %v", err)
	}
	return tc, ts
}

// connPair is connPair over this transport; params, when non-nil, are the
// negotiated permessage-deflate parameters of both ends.
func (tr testTransport) connPair(t testing.TB, copts, sopts *Options, params *deflate.Params) (client, server *Conn) {
	t.Helper()
	cn, sn := tcpPair(t)
	cc, sc := tr.wrap(t, cn, sn)
	if copts == nil {
		copts = &Options{}
	}
	if sopts == nil {
		sopts = &Options{}
	}
	client, err := newConn(cc, true, nil, copts, "", params)
	if err != nil {
		t.Fatal(err)
	}
	server, err = newConn(sc, false, nil, sopts, "", params)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.CloseNow(); server.CloseNow() })
	return client, server
}

// listen returns a loopback listener of this transport.
func (tr testTransport) listen(t testing.TB) net.Listener {
	ln := listen(t)
	if tr.tls {
		scfg, _ := testTLS()
		return tls.NewListener(ln, scfg)
	}
	return ln
}

// url is the ws or wss URL of ln.
func (tr testTransport) url(ln net.Listener) string {
	if tr.tls {
		return "wss://" + ln.Addr().String() + "/"
	}
	return "ws://" + ln.Addr().String() + "/"
}

// dialOptions returns opts (or new options) with this transport's client
// TLS configuration.
func (tr testTransport) dialOptions(opts *DialOptions) *DialOptions {
	o := DialOptions{}
	if opts != nil {
		o = *opts
	}
	if tr.tls {
		_, o.TLSConfig = testTLS()
	}
	return &o
}

// dial connects to url over this transport and closes the connection at
// cleanup.
func (tr testTransport) dial(t testing.TB, url string, opts *DialOptions) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := Dial(ctx, url, tr.dialOptions(opts))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// serveHTTP serves one WebSocket connection with Accept from an
// httptest server (TLS for the tls transport) and runs handler on it.
// The test waits for handler to return at cleanup.
func (tr testTransport) serveHTTP(t testing.TB, opts *AcceptOptions, handler func(*Conn)) string {
	t.Helper()
	var wg sync.WaitGroup
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		c, err := Accept(w, r, opts)
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		handler(c)
		c.CloseNow()
	}))
	if tr.tls {
		scfg, _ := testTLS()
		s.TLS = scfg
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(func() {
		s.Close()
		wg.Wait()
	})
	if tr.tls {
		return "wss://" + s.Listener.Addr().String() + "/"
	}
	return "ws://" + s.Listener.Addr().String() + "/"
}

// rawServe is rawServe over this transport: script gets the connection
// (a *tls.Conn for tls) right after the server handshake.
func (tr testTransport) rawServe(t testing.TB, script func(nc net.Conn, br *bufio.Reader)) string {
	t.Helper()
	ln := tr.listen(t)
	acceptOne(t, ln, func(nc net.Conn) {
		br := bufio.NewReader(nc)
		if _, err := handshake.Upgrade(br, nc, nil); err != nil {
			t.Errorf("raw upgrade: %v", err)
			return
		}
		script(nc, br)
	})
	return tr.url(ln)
}

// Read deadlines never kill a connection over any transport, in either
// role: a reader with a 5 ms deadline times out again and again in the
// middle of a 1 MiB message (mid-header, mid-payload, mid-TLS-record) and
// each next read resumes where the last one stopped, until the message is
// whole.
func TestReadDeadlineResumes(t *testing.T) {
	for _, tr := range testTransports {
		for _, role := range []string{"client", "server"} {
			t.Run(tr.name+"/"+role, func(t *testing.T) {
				t.Parallel()
				client, server := tr.connPair(t, nil, nil, nil)
				w, r := server, client
				if role == "server" {
					w, r = client, server
				}
				msg := make([]byte, 1<<20)
				rand.NewChaCha8([32]byte{9}).Read(msg)
				go func() {
					// Paced: the message takes about 130 ms to arrive, so
					// the reader's deadlines fall inside it.
					nw, err := w.NextWriter(Binary)
					if err != nil {
						return
					}
					for p := msg; len(p) > 0; p = p[min(len(p), 16<<10):] {
						nw.Write(p[:min(len(p), 16<<10)])
						time.Sleep(2 * time.Millisecond)
					}
					nw.Close()
				}()
				deadline, minTimeouts := 5*time.Millisecond, 10
				timeouts := 0
				var buf []byte
				for start := time.Now(); time.Since(start) < 30*time.Second; {
					r.SetReadDeadline(time.Now().Add(deadline))
					_, b, err := r.ReadMessage(buf)
					if err != nil {
						if !errors.Is(err, os.ErrDeadlineExceeded) {
							t.Fatalf("after %d timeouts: %v (a timeout must not end the connection)", timeouts, err)
						}
						timeouts++
						continue
					}
					if !bytes.Equal(b, msg) {
						t.Fatalf("message corrupted after %d timeouts", timeouts)
					}
					t.Logf("1 MiB read whole after %d timeouts", timeouts)
					if timeouts < minTimeouts {
						t.Errorf("%d timeouts: the deadline was not exercised", timeouts)
					}
					return
				}
				t.Fatal("the message did not arrive within 30 s")
			})
		}
	}
}
