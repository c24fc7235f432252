package micro

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gobwas/ws"
	gorilla "github.com/gorilla/websocket"
	hybi "github.com/hybi/websocket"
	"github.com/lxzan/gws"
)

// upgradeRequest is the opening handshake every server gets (RFC 6455 §1.3
// key).
const upgradeRequest = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

// upConn is a server's end of an in-memory connection: Read serves the
// request once, then io.EOF; writes are discarded and counted. reset
// rewinds it, so one upConn serves every iteration.
type upConn struct {
	r       bytes.Reader
	written int
	record  *bytes.Buffer // when set, keeps what was written
}

func newUpConn() *upConn {
	c := &upConn{}
	c.reset()
	return c
}

var upgradeRequestBytes = []byte(upgradeRequest)

func (c *upConn) reset()                     { c.r.Reset(upgradeRequestBytes); c.written = 0 }
func (c *upConn) Read(p []byte) (int, error) { return c.r.Read(p) }
func (c *upConn) Write(p []byte) (int, error) {
	c.written += len(p)
	if c.record != nil {
		c.record.Write(p)
	}
	return len(p), nil
}
func (c *upConn) Close() error                     { return nil }
func (c *upConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80} }
func (c *upConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000} }
func (c *upConn) SetDeadline(time.Time) error      { return nil }
func (c *upConn) SetReadDeadline(time.Time) error  { return nil }
func (c *upConn) SetWriteDeadline(time.Time) error { return nil }

// hijackWriter is the http.ResponseWriter net/http hands a handler, reduced
// to what an upgrade needs: a header map and Hijack, returning the upConn
// and reused buffers.
type hijackWriter struct {
	c      *upConn
	h      http.Header
	rw     *bufio.ReadWriter
	status int
}

func newHijackWriter(c *upConn) *hijackWriter {
	return &hijackWriter{c: c, h: http.Header{}, rw: bufio.NewReadWriter(bufio.NewReaderSize(c, 4096), bufio.NewWriterSize(c, 4096))}
}

func (w *hijackWriter) reset() {
	w.c.reset()
	clear(w.h)
	w.rw.Reader.Reset(w.c)
	w.rw.Writer.Reset(w.c)
	w.status = 0
}

func (w *hijackWriter) Header() http.Header         { return w.h }
func (w *hijackWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *hijackWriter) WriteHeader(status int)      { w.status = status }
func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	// The request was already read by net/http: nothing more to read.
	w.c.r.Reset(nil)
	return w.c, w.rw, nil
}

// parsedRequest is the request as net/http hands it to a handler, parsed
// once: parsing is net/http's cost, the same for every library.
func parsedRequest(tb testing.TB) *http.Request {
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader([]byte(upgradeRequest))))
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

type upgrader struct {
	name string
	// raw upgrades c (reading the request from it); nil when the library
	// has no raw path.
	raw func(c *upConn, br *bufio.Reader) (io.Closer, error)
	// http upgrades through a hijacking ResponseWriter.
	http func(w *hijackWriter, r *http.Request) (io.Closer, error)
}

// Closers for connection types without a Close() error method; each is
// pointer-shaped, so converting it to io.Closer allocates nothing.
type (
	hybiCloser  struct{ c *hybi.Conn }
	coderCloser struct{ c *coder.Conn }
)

func (h hybiCloser) Close() error  { return h.c.CloseNow() }
func (c coderCloser) Close() error { return c.c.CloseNow() }

var upgraders = []upgrader{
	{
		name: "hybi",
		raw: func(c *upConn, br *bufio.Reader) (io.Closer, error) {
			conn, err := hybi.Upgrade(c, br, nil)
			if err != nil {
				return nil, err
			}
			return hybiCloser{conn}, nil
		},
		http: func(w *hijackWriter, r *http.Request) (io.Closer, error) {
			conn, err := hybi.Accept(w, r, nil)
			if err != nil {
				return nil, err
			}
			return hybiCloser{conn}, nil
		},
	},
	{
		name: "gorilla",
		http: func(w *hijackWriter, r *http.Request) (io.Closer, error) {
			u := gorilla.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096, CheckOrigin: func(*http.Request) bool { return true }}
			conn, err := u.Upgrade(w, r, nil)
			if err != nil {
				return nil, err
			}
			return conn, nil
		},
	},
	{
		name: "coder",
		http: func(w *hijackWriter, r *http.Request) (io.Closer, error) {
			conn, err := coder.Accept(w, r, &coder.AcceptOptions{InsecureSkipVerify: true})
			if err != nil {
				return nil, err
			}
			return coderCloser{conn}, nil
		},
	},
	{
		name: "gobwas",
		raw: func(c *upConn, br *bufio.Reader) (io.Closer, error) {
			// ws.Upgrade reads the request from the connection with
			// a pooled buffer of its own.
			if _, err := ws.Upgrade(c); err != nil {
				return nil, err
			}
			return c, nil
		},
		http: func(w *hijackWriter, r *http.Request) (io.Closer, error) {
			conn, _, _, err := ws.UpgradeHTTP(r, w)
			if err != nil {
				return nil, err
			}
			return conn, nil
		},
	},
	{
		name: "gws",
		raw: func(c *upConn, br *bufio.Reader) (io.Closer, error) {
			// What gws.Server does for each connection: parse the
			// request with net/http's reader, then UpgradeFromConn.
			r, err := http.ReadRequest(br)
			if err != nil {
				return nil, err
			}
			conn, err := gwsUpgrader.UpgradeFromConn(c, br, r)
			if err != nil {
				return nil, err
			}
			return conn.NetConn(), nil
		},
		http: func(w *hijackWriter, r *http.Request) (io.Closer, error) {
			conn, err := gwsUpgrader.Upgrade(w, r)
			if err != nil {
				return nil, err
			}
			return conn.NetConn(), nil
		},
	},
}

var gwsUpgrader = gws.NewUpgrader(&gws.BuiltinEventHandler{}, &gws.ServerOption{})

// BenchmarkUpgrade is the server side of one opening handshake in memory:
// raw (the library reads and parses the request from the connection) and
// net/http (the request already parsed, the connection hijacked), up to the
// library's connection object; the connection is then closed. No sockets,
// no accept: the library's own cost. nbio upgrades only inside its engine
// or on a real TCP connection, so it is measured over TCP only (package run).
func BenchmarkUpgrade(b *testing.B) {
	for _, path := range []string{"raw", "http"} {
		b.Run(path, func(b *testing.B) {
			for _, u := range upgraders {
				if path == "raw" && u.raw == nil {
					continue
				}
				b.Run("lib="+u.name, func(b *testing.B) {
					c := newUpConn()
					w := newHijackWriter(c)
					br := bufio.NewReaderSize(c, 4096)
					r := parsedRequest(b)
					b.ReportAllocs()
					for b.Loop() {
						var conn io.Closer
						var err error
						if path == "raw" {
							c.reset()
							br.Reset(c)
							conn, err = u.raw(c, br)
						} else {
							w.reset()
							conn, err = u.http(w, r)
						}
						if err != nil {
							b.Fatal(err)
						}
						conn.Close()
					}
				})
			}
		})
	}
}

// TestUpgraders checks that every in-memory upgrade answers 101 with the
// RFC 6455 §1.3 accept value, on the connection or (coder, which answers
// before hijacking) through the ResponseWriter.
func TestUpgraders(t *testing.T) {
	const accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
	for _, u := range upgraders {
		for _, path := range []string{"raw", "http"} {
			if path == "raw" && u.raw == nil {
				continue
			}
			t.Run(u.name+"-"+path, func(t *testing.T) {
				c := newUpConn()
				c.record = new(bytes.Buffer)
				var conn io.Closer
				var err error
				status, got := 0, ""
				if path == "raw" {
					conn, err = u.raw(c, bufio.NewReader(c))
				} else {
					w := newHijackWriter(c)
					conn, err = u.http(w, parsedRequest(t))
					w.rw.Flush()
					status, got = w.status, w.h.Get("Sec-WebSocket-Accept")
				}
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				out := c.record.String()
				if strings.HasPrefix(out, "HTTP/1.1 101 ") {
					status = 101
					if strings.Contains(out, accept) {
						got = accept
					}
				}
				if status != 101 || got != accept {
					t.Errorf("status %d, accept %q; want 101 and %q (wrote %q)", status, got, accept, out)
				}
			})
		}
	}
}
