package micro

import (
	"bufio"
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	gorilla "github.com/gorilla/websocket"
	hybi "github.com/hybi/websocket"
	"github.com/hybi/websocket/deflate"
	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/internal/corpus"
	"github.com/lxzan/gws"
)

// bcastConns is the number of server connections one broadcast reaches.
const bcastConns = 100

// bcastRequest is the opening handshake every broadcast connection gets:
// the RFC 6455 §1.3 key and the permessage-deflate offer browsers send.
// Whether the server keeps its compression context (context takeover) is
// the server's choice, made by each library's options.
const bcastRequest = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
	"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"

// bcastConn is a server's end of an in-memory connection: an upConn (Read
// serves what was loaded into r: the request, for a library that reads it
// from the connection, then io.EOF) whose writes are counted and, while
// recording, kept. One goroutine writes at a time (each library serialises
// the writes to a connection); the benchmark reads the counters only after
// a broadcast has been written (synchronously, or after sig fired).
type bcastConn struct {
	upConn
	writes    int
	sent      int64
	recording bool
	rec       []byte
	sig       *bcastSignal // set for libraries that write on goroutines of their own
}

// bcastSignal tells the benchmark that every connection got its frame,
// for libraries whose broadcast returns before the frames are written
// (gws's Broadcaster, hybi's Hub): pending is the number of writes still
// due; the write that brings it to 0 sends on done.
type bcastSignal struct {
	pending atomic.Int64
	done    chan struct{}
}

func (c *bcastConn) Write(p []byte) (int, error) {
	c.writes++
	c.sent += int64(len(p))
	if c.recording {
		c.rec = append(c.rec, p...)
	}
	if c.sig != nil && c.sig.pending.Add(-1) == 0 {
		c.sig.done <- struct{}{}
	}
	return len(p), nil
}

// bcastHijacker is the http.ResponseWriter of a net/http handler, reduced
// to what gorilla's Upgrade needs.
type bcastHijacker struct {
	c  *bcastConn
	h  http.Header
	rw *bufio.ReadWriter
}

func (w *bcastHijacker) Header() http.Header         { return w.h }
func (w *bcastHijacker) Write(p []byte) (int, error) { return len(p), nil }
func (w *bcastHijacker) WriteHeader(int)             {}
func (w *bcastHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.c, w.rw, nil
}

func bcastParsedRequest() (*http.Request, error) {
	return http.ReadRequest(bufio.NewReader(strings.NewReader(bcastRequest)))
}

// upgradeAll upgrades every connection of conns with upgrade.
func upgradeAll[C any](conns []*bcastConn, upgrade func(*bcastConn) (C, error)) ([]C, error) {
	cs := make([]C, 0, len(conns))
	for _, c := range conns {
		x, err := upgrade(c)
		if err != nil {
			return nil, err
		}
		cs = append(cs, x)
	}
	return cs, nil
}

// each calls f on every connection of cs, up to the first error.
func each[C any](cs []C, f func(C) error) error {
	for _, c := range cs {
		if err := f(c); err != nil {
			return err
		}
	}
	return nil
}

// closeAll closes every connection of cs.
func closeAll[C any](cs []C, close func(C) error) {
	for _, c := range cs {
		close(c)
	}
}

// broadcaster sends one message to every connection of a library.
type broadcaster struct {
	send  func(msg []byte) error
	close func()
}

type bcastLib struct {
	name string
	// takeover: the server negotiated context takeover (its compressor
	// keeps the previous messages as the window of the next).
	takeover bool
	// async: send returns before the frames are written, by goroutines of
	// the library's; the benchmark waits for the last write.
	async bool
	open  func(conns []*bcastConn, takeover bool) (broadcaster, error)
}

// hybiConns upgrades conns with permessage-deflate; without takeover the
// server answers server_no_context_takeover, as a broadcasting server is
// configured. The threshold 1 compresses every message, even the 64 B
// one (the default, 128 B, would send it uncompressed).
func hybiConns(conns []*bcastConn, takeover bool) ([]*hybi.Conn, error) {
	opts := &hybi.AcceptOptions{Options: hybi.Options{Compression: true, CompressionThreshold: 1}}
	if !takeover {
		opts.CompressionServer = &deflate.Server{ServerNoContextTakeover: true}
	}
	return upgradeAll(conns, func(c *bcastConn) (*hybi.Conn, error) {
		c.r.Reset([]byte(bcastRequest))
		return hybi.Upgrade(c, bufio.NewReader(c), opts)
	})
}

// hybiPerConn writes each message with WriteMessage on every connection:
// one compression per connection.
func hybiPerConn(conns []*bcastConn, takeover bool) (broadcaster, error) {
	hcs, err := hybiConns(conns, takeover)
	if err != nil {
		return broadcaster{}, err
	}
	return broadcaster{func(msg []byte) error {
		return each(hcs, func(hc *hybi.Conn) error { return hc.WriteMessage(hybi.Text, msg) })
	}, func() { closeAll(hcs, (*hybi.Conn).CloseNow) }}, nil
}

// hybiPrepared makes one PreparedMessage per message and writes it to
// every connection. With context takeover, WritePreparedMessage
// compresses for each connection with its own compressor (see
// hybi.PreparedMessage): the row measures that fallback.
func hybiPrepared(conns []*bcastConn, takeover bool) (broadcaster, error) {
	hcs, err := hybiConns(conns, takeover)
	if err != nil {
		return broadcaster{}, err
	}
	return broadcaster{func(msg []byte) error {
		pm, err := hybi.NewPreparedMessage(hybi.Text, msg)
		if err != nil {
			return err
		}
		return each(hcs, func(hc *hybi.Conn) error { return hc.WritePreparedMessage(pm) })
	}, func() { closeAll(hcs, (*hybi.Conn).CloseNow) }}, nil
}

// hybiHub broadcasts through a Hub: it queues the PreparedMessage to each
// connection's backlog (the connections are not served by a Loop), which a
// goroutine of the connection's writes while it is not empty.
func hybiHub(conns []*bcastConn, takeover bool) (broadcaster, error) {
	hcs, err := hybiConns(conns, takeover)
	if err != nil {
		return broadcaster{}, err
	}
	h := new(hybi.Hub)
	for _, hc := range hcs {
		if err := h.Add(hc); err != nil {
			return broadcaster{}, err
		}
	}
	return broadcaster{func(msg []byte) error {
		pm, err := hybi.NewPreparedMessage(hybi.Text, msg)
		if err != nil {
			return err
		}
		if n := h.Broadcast(pm); n != len(hcs) {
			return fmt.Errorf("hub broadcast reached %d of %d connections", n, len(hcs))
		}
		return nil
	}, func() { h.Close(); closeAll(hcs, (*hybi.Conn).CloseNow) }}, nil
}

// gorillaConns upgrades conns with EnableCompression; gorilla supports
// only no context takeover (it always answers server_no_context_takeover).
func gorillaConns(conns []*bcastConn) ([]*gorilla.Conn, error) {
	u := gorilla.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096, EnableCompression: true,
		CheckOrigin: func(*http.Request) bool { return true }}
	return upgradeAll(conns, func(c *bcastConn) (*gorilla.Conn, error) {
		r, err := bcastParsedRequest()
		if err != nil {
			return nil, err
		}
		w := &bcastHijacker{c: c, h: http.Header{}, rw: bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c))}
		gc, err := u.Upgrade(w, r, nil)
		if err != nil {
			return nil, err
		}
		return gc, w.rw.Flush()
	})
}

func gorillaPrepared(conns []*bcastConn, _ bool) (broadcaster, error) {
	gcs, err := gorillaConns(conns)
	if err != nil {
		return broadcaster{}, err
	}
	return broadcaster{func(msg []byte) error {
		pm, err := gorilla.NewPreparedMessage(gorilla.TextMessage, msg)
		if err != nil {
			return err
		}
		return each(gcs, func(gc *gorilla.Conn) error { return gc.WritePreparedMessage(pm) })
	}, func() { closeAll(gcs, (*gorilla.Conn).Close) }}, nil
}

func gorillaPerConn(conns []*bcastConn, _ bool) (broadcaster, error) {
	gcs, err := gorillaConns(conns)
	if err != nil {
		return broadcaster{}, err
	}
	return broadcaster{func(msg []byte) error {
		return each(gcs, func(gc *gorilla.Conn) error { return gc.WriteMessage(gorilla.TextMessage, msg) })
	}, func() { closeAll(gcs, (*gorilla.Conn).Close) }}, nil
}

// gwsConns upgrades conns with gws's PermessageDeflate at the same
// settings as hybi's: level 1 (gws's default), a 32 KiB window (gws
// would pick 4 KiB with takeover), threshold 1 (gws's default is 512 B).
func gwsConns(conns []*bcastConn, takeover bool) ([]*gws.Conn, error) {
	up := gws.NewUpgrader(&gws.BuiltinEventHandler{}, &gws.ServerOption{PermessageDeflate: gws.PermessageDeflate{
		Enabled: true, Threshold: 1, ServerContextTakeover: takeover, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15,
	}})
	return upgradeAll(conns, func(c *bcastConn) (*gws.Conn, error) {
		r, err := bcastParsedRequest()
		if err != nil {
			return nil, err
		}
		return up.UpgradeFromConn(c, bufio.NewReader(c), r)
	})
}

// gwsBroadcast uses gws's Broadcaster: the frame is compressed once,
// without the connection's window even under context takeover (a frame
// that refers to nothing before it is valid in any context; gws then adds
// the message to each connection's window), and queued to each
// connection's write queue, which writes it on a goroutine.
func gwsBroadcast(conns []*bcastConn, takeover bool) (broadcaster, error) {
	gcs, err := gwsConns(conns, takeover)
	if err != nil {
		return broadcaster{}, err
	}
	return broadcaster{func(msg []byte) error {
		bc := gws.NewBroadcaster(gws.OpcodeText, msg)
		defer bc.Close()
		return each(gcs, func(gc *gws.Conn) error { return bc.Broadcast(gc) })
	}, func() { closeAll(gcs, func(gc *gws.Conn) error { return gc.NetConn().Close() }) }}, nil
}

func gwsPerConn(conns []*bcastConn, takeover bool) (broadcaster, error) {
	gcs, err := gwsConns(conns, takeover)
	if err != nil {
		return broadcaster{}, err
	}
	return broadcaster{func(msg []byte) error {
		return each(gcs, func(gc *gws.Conn) error { return gc.WriteMessage(gws.OpcodeText, msg) })
	}, func() { closeAll(gcs, func(gc *gws.Conn) error { return gc.NetConn().Close() }) }}, nil
}

var bcastLibs = []bcastLib{
	{name: "hybi-perconn", open: hybiPerConn},
	{name: "hybi-prepared", open: hybiPrepared},
	{name: "hybi-hub", async: true, open: hybiHub},
	{name: "hybi-perconn-takeover", takeover: true, open: hybiPerConn},
	{name: "hybi-prepared-takeover", takeover: true, open: hybiPrepared},
	{name: "gorilla-perconn", open: gorillaPerConn},
	{name: "gorilla-prepared", open: gorillaPrepared},
	{name: "gws-perconn", open: gwsPerConn},
	{name: "gws-broadcaster", async: true, open: gwsBroadcast},
	{name: "gws-broadcaster-takeover", takeover: true, async: true, open: gwsBroadcast},
}

// bcastMsgs returns the distinct JSON text messages of size bytes that a
// broadcast benchmark cycles through: of 1024 generated, those that are
// valid UTF-8 (the generator's emoji may be cut at the end). They are
// enough that no message repeats within a 32 KiB window, so a compressor
// with context takeover never finds a whole earlier copy of the message
// it compresses.
func bcastMsgs(size int) [][]byte {
	var out [][]byte
	for _, m := range corpus.JSON(uint64(size), 1024, size) {
		if utf8.Valid(m) {
			out = append(out, m)
		}
	}
	return out
}

// openBcast connects bcastConns connections of l and broadcasts msg once,
// checking (outside any timing) that the handshake negotiated
// permessage-deflate with the expected context takeover and that every
// connection received exactly one frame: final, text, unmasked, RSV1 set,
// whose payload inflates (with compress/flate, not the library's code) to
// msg. sig is non-nil for async libraries.
func openBcast(tb testing.TB, l bcastLib, msg []byte) (broadcaster, []*bcastConn, *bcastSignal) {
	tb.Helper()
	conns := make([]*bcastConn, bcastConns)
	for i := range conns {
		conns[i] = &bcastConn{recording: true}
	}
	bc, err := l.open(conns, l.takeover)
	if err != nil {
		tb.Fatal(err)
	}
	for i, c := range conns {
		resp := string(c.rec)
		if !strings.HasPrefix(resp, "HTTP/1.1 101 ") || !strings.Contains(resp, "permessage-deflate") ||
			strings.Contains(resp, "server_no_context_takeover") == l.takeover {
			bc.close()
			tb.Fatalf("connection %d: handshake response %q: want permessage-deflate with context takeover %v", i, resp, l.takeover)
		}
		c.rec, c.writes, c.sent = c.rec[:0], 0, 0
	}
	var sig *bcastSignal
	if l.async {
		sig = &bcastSignal{done: make(chan struct{}, 1)}
		sig.pending.Store(bcastConns)
		for _, c := range conns {
			c.sig = sig
		}
	}
	if err := bc.send(msg); err != nil {
		bc.close()
		tb.Fatal(err)
	}
	if sig != nil {
		select {
		case <-sig.done:
		case <-time.After(10 * time.Second):
			bc.close()
			tb.Fatalf("%d of %d connections still wait for their frame after 10 s", sig.pending.Load(), bcastConns)
		}
	}
	for i, c := range conns {
		if err := checkCompressedFrame(c.rec, msg); err != nil {
			bc.close()
			tb.Fatalf("connection %d (%d writes): %v", i, c.writes, err)
		}
		if sig != nil && c.writes != 1 {
			bc.close()
			tb.Fatalf("connection %d: the frame came in %d writes; the benchmark's wait counts one write per frame", i, c.writes)
		}
		c.recording, c.rec = false, nil
	}
	return bc, conns, sig
}

// checkCompressedFrame checks that wire is exactly one frame carrying msg
// compressed with permessage-deflate (RFC 7692 §7.2.1: the payload is a
// DEFLATE stream ending in an empty stored block, whose last 4 bytes
// 00 00 ff ff are removed).
func checkCompressedFrame(wire, msg []byte) error {
	h, n, err := frame.ParseHeader(wire)
	if err != nil {
		return fmt.Errorf("parsing the frame header of % x: %w", wire[:min(len(wire), 14)], err)
	}
	if !h.Fin || h.Opcode != frame.OpText || h.Masked || !h.RSV1 || h.RSV2 || h.RSV3 {
		return fmt.Errorf("frame %+v: want a final unmasked text frame with only RSV1 set (compressed)", h)
	}
	if int64(len(wire)-n) != h.Length {
		return fmt.Errorf("%d bytes after a header announcing %d: want exactly one frame", len(wire)-n, h.Length)
	}
	zr := flate.NewReader(io.MultiReader(bytes.NewReader(wire[n:]), bytes.NewReader([]byte{0, 0, 0xff, 0xff})))
	got := make([]byte, len(msg)+1)
	k, _ := io.ReadFull(zr, got)
	if !bytes.Equal(got[:k], msg) {
		return fmt.Errorf("the payload inflates to %d bytes %.40q…, want the %d-byte message %.40q…", k, got[:k], len(msg), msg)
	}
	return nil
}

// BenchmarkBroadcastCompressed sends one JSON text message to 100 server
// connections that negotiated permessage-deflate, writing into in-memory
// connections (no sockets): ns/op is one whole broadcast, ns/conn the
// same per connection, B/frame the bytes each connection received. The
// message changes every iteration (see bcastMsgs), so each broadcast
// compresses anew, and a compressor with context takeover sees a
// realistic history. Rows:
//
//   - hybi-perconn: WriteMessage on each connection, compressing per
//     connection; the baseline of hybi-prepared.
//   - hybi-prepared: NewPreparedMessage, then WritePreparedMessage on each
//     connection: compressed once.
//   - hybi-hub: the same PreparedMessage through a Hub, which queues it to
//     a writer goroutine per connection; the loop waits for the last write.
//   - hybi-*-takeover: the server kept context takeover (the browsers'
//     default offer, accepted as made): hybi cannot share compressed bytes
//     then, so WritePreparedMessage compresses per connection, like
//     WriteMessage.
//   - gorilla-perconn, gorilla-prepared: WriteMessage, and
//     NewPreparedMessage + WritePreparedMessage (gorilla negotiates no
//     context takeover only).
//   - gws-perconn, gws-broadcaster(-takeover): WriteMessage, and gws's
//     Broadcaster (compressed once, written by each connection's write
//     queue goroutine; the loop waits for the last write). gws does not
//     check UTF-8 on write by default; hybi does.
//
// coder/websocket has no prepared message and gobwas/ws no broadcast
// helper; nbio writes through its epoll engine (sockets only), so none
// takes part.
func BenchmarkBroadcastCompressed(b *testing.B) {
	for _, size := range []int{64, 1 << 10} {
		msgs := bcastMsgs(size)
		b.Run(sizeName(size), func(b *testing.B) {
			for _, l := range bcastLibs {
				b.Run("lib="+l.name, func(b *testing.B) {
					bc, conns, sig := openBcast(b, l, msgs[0])
					defer bc.close()
					for _, c := range conns {
						c.sent = 0
					}
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						if sig != nil {
							sig.pending.Store(bcastConns)
						}
						if err := bc.send(msgs[i%len(msgs)]); err != nil {
							b.Fatal(err)
						}
						if sig != nil {
							<-sig.done
						}
						i++
					}
					var wire int64
					for _, c := range conns {
						wire += c.sent
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i*bcastConns), "ns/conn")
					b.ReportMetric(float64(wire)/float64(i*bcastConns), "B/frame")
				})
			}
		})
	}
}

// TestBroadcastCompressed runs openBcast's checks for every row of
// BenchmarkBroadcastCompressed: every library's broadcast is compressed,
// whole, and inflates to the message.
func TestBroadcastCompressed(t *testing.T) {
	for _, size := range []int{64, 1 << 10} {
		msgs := bcastMsgs(size)
		if len(msgs)*size <= 32<<10 {
			t.Fatalf("%d B: only %d valid UTF-8 messages of 1024, fewer than a 32 KiB window holds", size, len(msgs))
		}
		for _, l := range bcastLibs {
			t.Run(sizeName(size)+"/"+l.name, func(t *testing.T) {
				bc, _, _ := openBcast(t, l, msgs[0])
				bc.close()
			})
		}
	}
}
