package micro

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gobwas/ws"
	gorilla "github.com/gorilla/websocket"
	hybi "github.com/hybi/websocket"
	"github.com/lxzan/gws"
)

// sinkConn is a client's end of a connection to an in-memory server: it
// answers the opening handshake with a 101 response computed from the
// request's key, then discards everything written and counts it. Reads
// after the response block until Close.
type sinkConn struct {
	mu       sync.Mutex
	req      []byte
	resp     []byte
	upgraded bool
	written  int64
	closed   chan struct{}
	once     sync.Once
	ready    chan struct{}
}

func newSinkConn() *sinkConn {
	return &sinkConn{closed: make(chan struct{}), ready: make(chan struct{})}
}

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

func (c *sinkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.upgraded {
		c.written += int64(len(p))
		return len(p), nil
	}
	c.req = append(c.req, p...)
	if !bytes.Contains(c.req, []byte("\r\n\r\n")) {
		return len(p), nil
	}
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(c.req)))
	if err != nil {
		return 0, err
	}
	sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + wsGUID))
	c.resp = []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n")
	c.upgraded = true
	close(c.ready)
	return len(p), nil
}

func (c *sinkConn) Read(p []byte) (int, error) {
	select {
	case <-c.ready:
	case <-c.closed:
		return 0, net.ErrClosed
	}
	c.mu.Lock()
	if len(c.resp) > 0 {
		n := copy(p, c.resp)
		c.resp = c.resp[n:]
		c.mu.Unlock()
		return n, nil
	}
	c.mu.Unlock()
	<-c.closed
	return 0, io.EOF
}

func (c *sinkConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *sinkConn) LocalAddr() net.Addr                { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
func (c *sinkConn) RemoteAddr() net.Addr               { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2} }
func (c *sinkConn) SetDeadline(t time.Time) error      { return nil }
func (c *sinkConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *sinkConn) SetWriteDeadline(t time.Time) error { return nil }

// writer sends one binary message as a client.
type writer interface {
	write(p []byte) error
	close()
}

type writerFunc struct {
	w func([]byte) error
	c func()
}

func (f writerFunc) write(p []byte) error { return f.w(p) }
func (f writerFunc) close()               { f.c() }

var writeLibs = []struct {
	name string
	dial func(nc *sinkConn) (writer, error)
}{
	{"hybi", func(nc *sinkConn) (writer, error) {
		c, _, err := hybi.Dial(context.Background(), "ws://127.0.0.1:2/", &hybi.DialOptions{
			Proxy:   hybi.NoProxy,
			NetDial: func(context.Context, string, string) (net.Conn, error) { return nc, nil },
		})
		if err != nil {
			return nil, err
		}
		return writerFunc{func(p []byte) error { return c.WriteMessage(hybi.Binary, p) }, func() { c.CloseNow() }}, nil
	}},
	{"gorilla", func(nc *sinkConn) (writer, error) {
		d := &gorilla.Dialer{WriteBufferSize: 4096, ReadBufferSize: 4096,
			NetDialContext: func(context.Context, string, string) (net.Conn, error) { return nc, nil }}
		c, _, err := d.Dial("ws://127.0.0.1:2/", nil)
		if err != nil {
			return nil, err
		}
		return writerFunc{func(p []byte) error { return c.WriteMessage(gorilla.BinaryMessage, p) }, func() { c.Close() }}, nil
	}},
	{"coder", func(nc *sinkConn) (writer, error) {
		hc := &http.Client{Transport: &http.Transport{
			DialContext: func(context.Context, string, string) (net.Conn, error) { return nc, nil },
		}}
		c, _, err := coder.Dial(context.Background(), "ws://127.0.0.1:2/", &coder.DialOptions{HTTPClient: hc})
		if err != nil {
			return nil, err
		}
		ctx := context.Background()
		return writerFunc{func(p []byte) error { return c.Write(ctx, coder.MessageBinary, p) }, func() { c.CloseNow() }}, nil
	}},
	{"gobwas", func(nc *sinkConn) (writer, error) {
		d := ws.Dialer{NetDial: func(context.Context, string, string) (net.Conn, error) { return nc, nil }}
		c, _, _, err := d.Dial(context.Background(), "ws://127.0.0.1:2/")
		if err != nil {
			return nil, err
		}
		bw := bufio.NewWriterSize(c, 4096)
		var scratch []byte
		// The low-level path: ws.Cipher masks in place, so a client
		// masks a copy of the caller's payload.
		return writerFunc{func(p []byte) error {
			scratch = append(scratch[:0], p...)
			h := ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: ws.NewMask(), Length: int64(len(p))}
			ws.Cipher(scratch, h.Mask, 0)
			if err := ws.WriteHeader(bw, h); err != nil {
				return err
			}
			if _, err := bw.Write(scratch); err != nil {
				return err
			}
			return bw.Flush()
		}, func() { c.Close() }}, nil
	}},
	{"gws", func(nc *sinkConn) (writer, error) {
		c, _, err := gws.NewClientFromConn(&gws.BuiltinEventHandler{}, &gws.ClientOption{Addr: "ws://127.0.0.1:2/"}, nc)
		if err != nil {
			return nil, err
		}
		return writerFunc{func(p []byte) error { return c.WriteMessage(gws.OpcodeBinary, p) }, func() { c.NetConn().Close() }}, nil
	}},
}

// BenchmarkMaskedWrite is a client sending one binary message per
// iteration: framing, masking with a fresh key, and handing the bytes to the
// connection, which discards them.
func BenchmarkMaskedWrite(b *testing.B) {
	for _, n := range []int{16, 125, 16 << 10, 1 << 20} {
		p := make([]byte, n)
		b.Run(sizeName(n), func(b *testing.B) {
			for _, l := range writeLibs {
				b.Run("lib="+l.name, func(b *testing.B) {
					nc := newSinkConn()
					w, err := l.dial(nc)
					if err != nil {
						b.Fatal(err)
					}
					defer w.close()
					b.ReportAllocs()
					b.SetBytes(int64(n))
					for b.Loop() {
						if err := w.write(p); err != nil {
							b.Fatal(err)
						}
					}
					nc.mu.Lock()
					defer nc.mu.Unlock()
					if nc.written < int64(n) {
						b.Fatalf("%d bytes reached the connection, want at least %d", nc.written, n)
					}
				})
			}
		})
	}
}

// TestMaskedWriteDials checks that every library's client completes the
// in-memory handshake and that its frame reaches the sink whole: header
// plus payload.
func TestMaskedWriteDials(t *testing.T) {
	for _, l := range writeLibs {
		t.Run(l.name, func(t *testing.T) {
			nc := newSinkConn()
			w, err := l.dial(nc)
			if err != nil {
				t.Fatal(err)
			}
			defer w.close()
			if err := w.write(make([]byte, 1000)); err != nil {
				t.Fatal(err)
			}
			nc.mu.Lock()
			got := nc.written
			nc.mu.Unlock()
			// 1000 bytes need a 16-bit length: 2+2+4 header bytes.
			if want := int64(1000 + 8); got != want {
				t.Errorf("%d bytes written, want %d", got, want)
			}
		})
	}
}
