package websocket

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybi/websocket/deflate"
	"github.com/hybi/websocket/handshake"
	"github.com/hybi/websocket/internal/wstest"
)

// Hostile-server probes against Dial and the client Conn: a raw TCP
// server on loopback answers the handshake as it likes and then writes
// whatever bytes it likes. Every probe is bounded in time and bytes.

// hostileHandshakeServer accepts connections and hands each, with the
// client's request read, to serve; it stops with the test.
func hostileHandshakeServer(t *testing.T, serve func(nc net.Conn, br *bufio.Reader, req *http.Request)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
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
				nc.SetDeadline(time.Now().Add(20 * time.Second))
				br := bufio.NewReader(nc)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				serve(nc, br, req)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return "ws://" + ln.Addr().String() + "/"
}

// switching is a valid 101 for req, with extra header lines.
func switching(req *http.Request, extra string) string {
	return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		handshake.AcceptKey(req.Header.Get("Sec-WebSocket-Key")) + "\r\n" + extra + "\r\n"
}

// A server's 101 that does not match what the client asked for fails
// Dial with an error naming what is wrong (RFC 6455 §4.1, the client's
// checks of the response), and leaves nothing behind.
func TestHostileServerHandshake(t *testing.T) {
	cases := []struct {
		name     string
		opts     DialOptions
		response func(req *http.Request) string
		want     error
	}{
		{"wrong Sec-WebSocket-Accept", DialOptions{}, func(req *http.Request) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
				handshake.AcceptKey("dGhlIHNhbXBsZSBub25jZQ==") + "\r\n\r\n"
		}, handshake.ErrBadAccept},
		{"no Sec-WebSocket-Accept", DialOptions{}, func(req *http.Request) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
		}, handshake.ErrBadAccept},
		{"two Sec-WebSocket-Accept", DialOptions{}, func(req *http.Request) string {
			return switching(req, "Sec-WebSocket-Accept: "+handshake.AcceptKey(req.Header.Get("Sec-WebSocket-Key"))+"\r\n")
		}, handshake.ErrBadAccept},
		{"Upgrade is not websocket", DialOptions{}, func(req *http.Request) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
				handshake.AcceptKey(req.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n"
		}, handshake.ErrResponseUpgrade},
		{"200 instead of 101", DialOptions{}, func(req *http.Request) string {
			return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
		}, handshake.ErrNotSwitching},
		{"extension never offered", DialOptions{}, func(req *http.Request) string {
			return switching(req, "Sec-WebSocket-Extensions: permessage-deflate\r\n")
		}, handshake.ErrUnofferedExtension},
		{"unknown extension", DialOptions{Options: Options{Compression: true}}, func(req *http.Request) string {
			return switching(req, "Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n")
		}, handshake.ErrUnofferedExtension},
		{"permessage-deflate twice", DialOptions{Options: Options{Compression: true}}, func(req *http.Request) string {
			return switching(req, "Sec-WebSocket-Extensions: permessage-deflate, permessage-deflate\r\n")
		}, handshake.ErrExtensionRejected},
		{"server_max_window_bits=16", DialOptions{Options: Options{Compression: true}}, func(req *http.Request) string {
			return switching(req, "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=16\r\n")
		}, handshake.ErrExtensionRejected},
		{"client_max_window_bits=7", DialOptions{Options: Options{Compression: true}}, func(req *http.Request) string {
			return switching(req, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=7\r\n")
		}, handshake.ErrExtensionRejected},
		{"unknown deflate parameter", DialOptions{Options: Options{Compression: true}}, func(req *http.Request) string {
			return switching(req, "Sec-WebSocket-Extensions: permessage-deflate; x_bits=3\r\n")
		}, handshake.ErrExtensionRejected},
		{"subprotocol never offered", DialOptions{Subprotocols: []string{"a", "b"}}, func(req *http.Request) string {
			return switching(req, "Sec-WebSocket-Protocol: c\r\n")
		}, handshake.ErrUnofferedSubprotocol},
		{"subprotocol when none offered", DialOptions{}, func(req *http.Request) string {
			return switching(req, "Sec-WebSocket-Protocol: a\r\n")
		}, handshake.ErrUnofferedSubprotocol},
		{"two subprotocols", DialOptions{Subprotocols: []string{"a", "b"}}, func(req *http.Request) string {
			return switching(req, "Sec-WebSocket-Protocol: a, b\r\n")
		}, handshake.ErrUnofferedSubprotocol},
		{"head of 1 MiB", DialOptions{}, func(req *http.Request) string {
			return switching(req, "X-Junk: "+strings.Repeat("j", 1<<20)+"\r\n")
		}, handshake.ErrResponseTooLarge},
		{"10,000 header lines", DialOptions{}, func(req *http.Request) string {
			return switching(req, strings.Repeat("X-J: j\r\n", 10000))
		}, handshake.ErrResponseTooLarge},
		{"garbage", DialOptions{}, func(req *http.Request) string {
			return "\x00\x01\x02 not http at all\r\n\r\n"
		}, handshake.ErrMalformedResponse},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := hostileHandshakeServer(t, func(nc net.Conn, br *bufio.Reader, req *http.Request) {
				io.WriteString(nc, tc.response(req))
				io.Copy(io.Discard, br) // until the client hangs up
			})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			opts := tc.opts
			opts.Proxy = NoProxy
			start := time.Now()
			c, _, err := Dial(ctx, u, &opts)
			if err == nil {
				c.CloseNow()
				t.Fatal("Dial succeeded")
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("Dial: %v, want %v", err, tc.want)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Dial took %v to fail", d)
			}
		})
	}
}

// A server that never answers, or trickles its answer one byte at a time
// forever, holds Dial no longer than its context.
func TestHostileServerStalls(t *testing.T) {
	for name, serve := range map[string]func(nc net.Conn, br *bufio.Reader, req *http.Request){
		"silent": func(nc net.Conn, br *bufio.Reader, req *http.Request) { io.Copy(io.Discard, br) },
		"trickle": func(nc net.Conn, br *bufio.Reader, req *http.Request) {
			for i := 0; i < 200; i++ {
				if _, err := nc.Write([]byte{"HTTP/1.1 101 Switching Protocols\r\nX-A: "[min(i, 40)]}); err != nil {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		},
		"error with a body never sent": func(nc net.Conn, br *bufio.Reader, req *http.Request) {
			io.WriteString(nc, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 100000\r\n\r\nabc")
			io.Copy(io.Discard, br)
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			u := hostileHandshakeServer(t, serve)
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			start := time.Now()
			c, _, err := Dial(ctx, u, &DialOptions{Proxy: NoProxy})
			if err == nil {
				c.CloseNow()
				t.Fatal("Dial succeeded")
			}
			if d := time.Since(start); d > 1500*time.Millisecond {
				t.Errorf("Dial returned after %v with a context of 500 ms: %v", d, err)
			}
			t.Logf("%v after %v", err, time.Since(start).Round(time.Millisecond))
		})
	}
}

// dialHostile dials a server that completes the handshake and then runs
// after on the connection.
func dialHostile(t *testing.T, opts *DialOptions, after func(nc net.Conn, br *bufio.Reader)) *Conn {
	t.Helper()
	u := hostileHandshakeServer(t, func(nc net.Conn, br *bufio.Reader, req *http.Request) {
		if _, err := io.WriteString(nc, switching(req, "")); err != nil {
			return
		}
		after(nc, br)
	})
	if opts == nil {
		opts = &DialOptions{}
	}
	opts.Proxy = NoProxy
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := Dial(ctx, u, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// readEnd reads until the connection ends, for at most 5 s.
func readEnd(t *testing.T, c *Conn) error {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := c.ReadMessage(nil)
		if err != nil {
			if isTimeout(err) {
				t.Fatal("the connection did not end within 5 s")
			}
			return err
		}
	}
}

// Frames a server may not send fail the client's connection with the
// code RFC 6455 names, and the client tells the server so.
func TestHostileServerFrames(t *testing.T) {
	cases := []struct {
		name  string
		bytes []byte
		want  CloseCode
	}{
		{"masked frame", wstest.Client(wstest.OpText, []byte("masked")), CloseProtocolError},
		{"length 2^63-1", append([]byte{wstest.FIN | wstest.OpBinary, 127}, binary.BigEndian.AppendUint64(nil, 1<<63-1)...), CloseMessageTooBig},
		{"length with the top bit", append([]byte{wstest.FIN | wstest.OpBinary, 127}, binary.BigEndian.AppendUint64(nil, 1<<63)...), CloseProtocolError},
		{"RSV1 without deflate", wstest.Frame(wstest.FIN|wstest.RSV1|wstest.OpText, false, [4]byte{}, []byte("x")), CloseProtocolError},
		{"close code 1005", wstest.Server(wstest.OpClose, closePayload(1005, "")), CloseProtocolError},
		{"close code 1006", wstest.Server(wstest.OpClose, closePayload(1006, "")), CloseProtocolError},
		{"close code 1015", wstest.Server(wstest.OpClose, closePayload(1015, "")), CloseProtocolError},
		{"close of one byte", wstest.Server(wstest.OpClose, []byte{3}), CloseProtocolError},
		{"invalid UTF-8", wstest.Server(wstest.OpText, []byte("\xc0\xaf")), CloseInvalidPayload},
		{"reserved opcode", wstest.Server(0x5, nil), CloseProtocolError},
		{"fragmented ping", wstest.Frame(wstest.OpPing, false, [4]byte{}, nil), CloseProtocolError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan string, 1)
			c := dialHostile(t, nil, func(nc net.Conn, br *bufio.Reader) {
				nc.Write(tc.bytes)
				p := &rawPeer{nc: nc, br: br}
				got <- p.closeCode(5 * time.Second)
			})
			err := readEnd(t, c)
			if CloseStatus(err) != tc.want {
				t.Errorf("client's connection ended with %v, want %v", err, tc.want)
			}
			// The server sees the client's Close frame with that code.
			if s := <-got; s != strconv.Itoa(int(tc.want)) {
				t.Errorf("server saw %s, want %d", s, tc.want)
			}
		})
	}
}

// A server that floods Pings and never reads the client's Pongs cannot
// hold the client's reader: the message it sends after the flood arrives
// (answering every Ping is not required, RFC 6455 §5.5.3 lets a Pong
// answer only the latest), or the connection ends; it never hangs.
func TestHostileServerPingFlood(t *testing.T) {
	done := make(chan struct{})
	c := dialHostile(t, nil, func(nc net.Conn, br *bufio.Reader) {
		ping := wstest.Server(wstest.OpPing, make([]byte, 125))
		var b []byte
		for range 200 {
			b = append(b, ping...)
		}
		nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
		for range 100 { // 20,000 Pings, 2.5 MiB
			if _, err := nc.Write(b); err != nil {
				return
			}
		}
		nc.Write(wstest.Server(wstest.OpText, []byte("end")))
		<-done // never reads
	})
	t.Cleanup(func() { close(done) })
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	_, p, err := c.ReadMessage(nil)
	t.Logf("after %v: %q, %v", time.Since(start).Round(time.Millisecond), p, err)
	if err != nil && isTimeout(err) {
		t.Fatalf("the client's reader was held for 5 s by a server that does not read its Pongs: %v", err)
	}
}

// A hostile HTTP proxy: an answer to CONNECT that never ends, a head of
// 1 MiB, garbage, or silence. Dial fails with an error, no later than its
// context, and leaves nothing behind.
func TestHostileProxy(t *testing.T) {
	for name, answer := range map[string]string{
		"huge head":     "HTTP/1.1 200 Connection established\r\nX-J: " + strings.Repeat("j", 1<<20) + "\r\n\r\n",
		"garbage":       "\x16\x03\x01 not http\r\n\r\n",
		"silence":       "",
		"endless head":  "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-A: b\r\n", 20000),
		"refusal, body": "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 1000000\r\n\r\n" + strings.Repeat("x", 100),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			defer wg.Wait()
			defer ln.Close()
			wg.Go(func() {
				nc, err := ln.Accept()
				if err != nil {
					return
				}
				defer nc.Close()
				nc.SetDeadline(time.Now().Add(5 * time.Second))
				br := bufio.NewReader(nc)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				io.WriteString(nc, answer)
				io.Copy(io.Discard, br)
			})
			pu, _ := url.Parse("http://" + ln.Addr().String())
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			start := time.Now()
			c, _, err := Dial(ctx, "ws://127.0.0.1:1/", &DialOptions{Proxy: http.ProxyURL(pu)})
			if err == nil {
				c.CloseNow()
				t.Fatal("Dial through a hostile proxy succeeded")
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Dial returned after %v with a context of 1 s", d)
			}
			t.Logf("%v after %v", err, time.Since(start).Round(time.Millisecond))
		})
	}
}

// A server's permessage-deflate answer must fit the offer it accepts (RFC
// 7692 §7.1): Dial refuses one that sets client_max_window_bits the
// client did not offer or raises a limit the client set, or drops
// server_max_window_bits / server_no_context_takeover the client asked
// for, and accepts the answers the RFC allows.
func TestHostileServerDeflateAnswers(t *testing.T) {
	cases := []struct {
		offer  deflate.Offer
		answer string
		ok     bool
	}{
		{deflate.Offer{}, "permessage-deflate; client_max_window_bits=10", false},
		{deflate.Offer{}, "permessage-deflate; client_max_window_bits", false},
		{deflate.Offer{}, "permessage-deflate; server_no_context_takeover", true},
		{deflate.Offer{}, "permessage-deflate; client_no_context_takeover", true},
		{deflate.Offer{}, "permessage-deflate; server_max_window_bits=10", true},
		{deflate.Offer{ServerMaxWindowBits: 10}, "permessage-deflate; server_max_window_bits=12", false},
		{deflate.Offer{ServerMaxWindowBits: 10}, "permessage-deflate", false},
		{deflate.Offer{ServerMaxWindowBits: 10}, "permessage-deflate; server_max_window_bits=9", true},
		{deflate.Offer{ClientMaxWindowBits: 10}, "permessage-deflate; client_max_window_bits=12", false},
		{deflate.Offer{ClientMaxWindowBits: 10}, "permessage-deflate; client_max_window_bits=9", true},
		{deflate.Offer{ServerNoContextTakeover: true}, "permessage-deflate", false},
		{deflate.Offer{}, "permessage-deflate; server_max_window_bits", false},
		{deflate.Offer{}, "permessage-deflate; server_max_window_bits=8", true},
	}
	for _, tc := range cases {
		u := hostileHandshakeServer(t, func(nc net.Conn, br *bufio.Reader, req *http.Request) {
			io.WriteString(nc, switching(req, "Sec-WebSocket-Extensions: "+tc.answer+"\r\n"))
			io.Copy(io.Discard, br)
		})
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		o := &DialOptions{Proxy: NoProxy, CompressionOffers: []deflate.Offer{tc.offer}}
		o.Compression = true
		c, _, err := Dial(ctx, u, o)
		cancel()
		if c != nil {
			c.CloseNow()
		}
		if (err == nil) != tc.ok {
			t.Errorf("offer %+v, answer %q: err %v, want ok=%v", tc.offer, tc.answer, err, tc.ok)
		}
		if err != nil && !errors.Is(err, handshake.ErrExtensionRejected) {
			t.Errorf("offer %+v, answer %q: %v, want ErrExtensionRejected", tc.offer, tc.answer, err)
		}
	}
}
