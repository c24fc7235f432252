package websocket

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/internal/netpoll"
	"github.com/hybi/websocket/mask"
)

// loopServer serves every accepted connection with a Loop whose OnMessage
// is onMessage, and reports every OnClose on closes.
type loopServer struct {
	url    string
	loop   *Loop
	closes chan loopClose
	conns  chan *Conn
}

type loopClose struct {
	c   *Conn
	err error
}

func newLoopServer(t *testing.T, opts *AcceptOptions, onMessage func(c *Conn, typ MessageType, p []byte)) *loopServer {
	t.Helper()
	return newLoopServerWith(t, opts, LoopOptions{OnMessage: onMessage, Pollers: 2})
}

// newLoopServerWith is newLoopServer with the Loop's options (OnClose is
// the server's).
func newLoopServerWith(t *testing.T, opts *AcceptOptions, lo LoopOptions) *loopServer {
	t.Helper()
	// Room for the OnClose of every connection: Loop.Close at cleanup
	// reports them all at once.
	s := &loopServer{closes: make(chan loopClose, 4096), conns: make(chan *Conn, 4096)}
	lo.OnClose = func(c *Conn, err error) { s.closes <- loopClose{c, err} }
	l, err := NewLoop(&lo)
	if err != nil {
		t.Fatal(err)
	}
	s.loop = l
	ln := listen(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			c, err := Upgrade(nc, nil, opts)
			if err != nil {
				nc.Close()
				continue
			}
			if err := l.Add(c); err != nil {
				t.Errorf("Add: %v", err)
				c.CloseNow()
				continue
			}
			s.conns <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		l.Close()
	})
	s.url = "ws://" + ln.Addr().String() + "/"
	return s
}

// rawUpgradeRequest is a client's opening handshake, for raw sockets.
const rawUpgradeRequest = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

// dialRaw connects a raw socket to the server, without the handshake; it
// is closed at cleanup.
func (s *loopServer) dialRaw(t *testing.T) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", s.url[len("ws://"):len(s.url)-1])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// upgradeRaw is dialRaw plus the opening handshake.
func (s *loopServer) upgradeRaw(t *testing.T) net.Conn {
	t.Helper()
	nc := s.dialRaw(t)
	nc.Write([]byte(rawUpgradeRequest))
	readResponseHead(t, nc)
	return nc
}

func echoMessage(c *Conn, typ MessageType, p []byte) {
	c.WriteMessage(typ, p)
}

// waitClose returns the next OnClose report.
func (s *loopServer) waitClose(t *testing.T) loopClose {
	t.Helper()
	select {
	case lc := <-s.closes:
		return lc
	case <-time.After(10 * time.Second):
		t.Fatal("no OnClose within 10s")
		return loopClose{}
	}
}

// A Loop echoes messages of every size, fragmented and compressed ones,
// answers pings, and delivers each message whole.
func TestLoopEcho(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compression=%v", compress), func(t *testing.T) {
			s := newLoopServer(t, &AcceptOptions{Options: Options{Compression: compress}}, echoMessage)
			var pongs sync.WaitGroup
			c := dial(t, s.url, &DialOptions{Options: Options{
				Compression:  compress,
				FragmentSize: 1000,
				OnPong:       func([]byte) { pongs.Done() },
			}, Proxy: NoProxy})
			rng := rand.New(rand.NewPCG(1, 2))
			var buf []byte
			for _, size := range []int{0, 1, 125, 126, 255, 256, 257, 4000, 4096, 70000, 1 << 20, 3<<20 + 5} {
				msg := make([]byte, size)
				for i := range msg {
					msg[i] = byte(rng.IntN(8)) // compressible, yet not trivially
				}
				for _, streamed := range []bool{false, true} {
					// The Pong comes before the echo, so the
					// ReadMessage below sees it.
					pongs.Add(1)
					if err := c.Ping([]byte("p")); err != nil {
						t.Fatal(err)
					}
					if streamed {
						w, err := c.NextWriter(Binary)
						if err != nil {
							t.Fatal(err)
						}
						w.Write(msg[:size/2])
						w.Write(msg[size/2:])
						if err := w.Close(); err != nil {
							t.Fatal(err)
						}
					} else if err := c.WriteMessage(Binary, msg); err != nil {
						t.Fatal(err)
					}
					typ, got, err := c.ReadMessage(buf)
					if err != nil {
						t.Fatalf("size %d: %v", size, err)
					}
					buf = got
					if typ != Binary || !bytes.Equal(got, msg) {
						t.Fatalf("size %d streamed=%v: echo differs (%d bytes)", size, streamed, len(got))
					}
				}
			}
			pongs.Wait() // the reader delivered every Pong of the Loop
			sc := <-s.conns
			if _, _, err := sc.ReadMessage(nil); !errors.Is(err, errLoopOwned) {
				t.Errorf("ReadMessage on a Loop's Conn = %v, want errLoopOwned", err)
			}
			if _, _, err := sc.NextReader(); !errors.Is(err, errLoopOwned) {
				t.Errorf("NextReader on a Loop's Conn = %v, want errLoopOwned", err)
			}
			if err := s.loop.Add(sc); !errors.Is(err, errLoopAdded) {
				t.Errorf("second Add = %v, want errLoopAdded", err)
			}
			if err := c.Close(frame.CloseNormal, "bye"); err != nil {
				t.Fatalf("Close: %v", err)
			}
			lc := s.waitClose(t)
			var ce *CloseError
			if !errors.As(lc.err, &ce) || ce.Initiator != Peer || ce.Code != frame.CloseNormal || ce.Reason != "bye" {
				t.Errorf("OnClose err = %v, want the peer's 1000 bye", lc.err)
			}
		})
	}
}

// Many connections share few pollers; every message reaches its own
// connection.
func TestLoopManyConns(t *testing.T) {
	s := newLoopServer(t, nil, echoMessage)
	const n = 200
	conns := make([]*Conn, n)
	for i := range conns {
		conns[i] = dial(t, s.url, &DialOptions{Proxy: NoProxy})
	}
	for round := range 3 {
		for i, c := range conns {
			if err := c.WriteMessage(Text, fmt.Appendf(nil, "conn %d round %d", i, round)); err != nil {
				t.Fatal(err)
			}
		}
		for i, c := range conns {
			_, got, err := c.ReadMessage(nil)
			if want := fmt.Sprintf("conn %d round %d", i, round); err != nil || string(got) != want {
				t.Fatalf("got %q, %v; want %q", got, err, want)
			}
		}
	}
}

// A burst of small messages in one TCP segment: each one is delivered, in
// order, across the poller's per-connection budget.
func TestLoopBurst(t *testing.T) {
	var mu sync.Mutex
	var got []string
	done := make(chan struct{})
	s := newLoopServer(t, nil, func(c *Conn, typ MessageType, p []byte) {
		mu.Lock()
		got = append(got, string(p))
		if len(got) == 1000 {
			close(done)
		}
		mu.Unlock()
	})
	nc := s.dialRaw(t)
	// The request and the first messages in one write: the server finds
	// them behind the head (delivered by Add), the rest arrive later.
	wire := []byte(rawUpgradeRequest)
	for i := range 1000 {
		wire = frame.AppendFrame(wire, frame.NewHeader(frame.OpText, frame.Mask, mask.Key{1, 2, 3, byte(i)}, 0), fmt.Appendf(nil, "m%d", i))
		if i == 10 {
			if _, err := nc.Write(wire); err != nil {
				t.Fatal(err)
			}
			wire = wire[:0]
		}
	}
	if _, err := nc.Write(wire); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("not every message arrived")
	}
	mu.Lock()
	defer mu.Unlock()
	for i, m := range got {
		if want := fmt.Sprintf("m%d", i); m != want {
			t.Fatalf("message %d is %q, want %q", i, m, want)
		}
	}
}

// How connections served by a Loop end: each one reports once through
// OnClose with who closed and why, and the peer sees the RFC answer.
func TestLoopClosePaths(t *testing.T) {
	s := newLoopServer(t, nil, func(c *Conn, typ MessageType, p []byte) {
		switch string(p) {
		case "close":
			go c.Close(frame.ClosePolicyViolation, "asked to")
		case "closenow":
			c.CloseNow()
		default:
			c.WriteMessage(typ, p)
		}
	})
	check := func(t *testing.T, wantIni Initiator, wantCode frame.CloseCode) {
		t.Helper()
		lc := s.waitClose(t)
		var ce *CloseError
		if !errors.As(lc.err, &ce) || ce.Initiator != wantIni || ce.Code != wantCode {
			t.Errorf("OnClose err = %#v, want initiator %v code %d", lc.err, wantIni, wantCode)
		}
		select {
		case extra := <-s.closes:
			t.Errorf("a second OnClose: %v", extra.err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Run("server Close", func(t *testing.T) {
		c := dial(t, s.url, &DialOptions{Proxy: NoProxy})
		c.WriteMessage(Text, []byte("close"))
		_, _, err := c.ReadMessage(nil)
		var ce *CloseError
		if !errors.As(err, &ce) || ce.Code != frame.ClosePolicyViolation || ce.Initiator != Peer {
			t.Errorf("client got %v", err)
		}
		check(t, Local, frame.ClosePolicyViolation)
	})
	t.Run("server CloseNow", func(t *testing.T) {
		c := dial(t, s.url, &DialOptions{Proxy: NoProxy})
		c.WriteMessage(Text, []byte("closenow"))
		if _, _, err := c.ReadMessage(nil); err == nil {
			t.Error("client read a message after CloseNow")
		}
		check(t, Local, frame.CloseAbnormal)
	})
	t.Run("protocol violation", func(t *testing.T) {
		nc := s.upgradeRaw(t)
		// An unmasked frame from a client: 1002.
		nc.Write(frame.AppendFrame(nil, frame.NewHeader(frame.OpText, 0, mask.Key{}, 0), []byte("x")))
		reply := make([]byte, 4)
		if _, err := readFull(nc, reply); err != nil || reply[0] != 0x88 || int(reply[2])<<8|int(reply[3]) != 1002 {
			t.Errorf("reply % x, %v; want a Close frame with 1002", reply, err)
		}
		check(t, Local, frame.CloseProtocolError)
	})
	t.Run("invalid UTF-8", func(t *testing.T) {
		nc := s.upgradeRaw(t)
		nc.Write(frame.AppendFrame(nil, frame.NewHeader(frame.OpText, frame.Mask, mask.Key{1, 2, 3, 4}, 0), []byte{0xff}))
		reply := make([]byte, 4)
		if _, err := readFull(nc, reply); err != nil || reply[0] != 0x88 || int(reply[2])<<8|int(reply[3]) != 1007 {
			t.Errorf("reply % x, %v; want a Close frame with 1007", reply, err)
		}
		check(t, Local, frame.CloseInvalidPayload)
	})
	t.Run("peer vanishes", func(t *testing.T) {
		nc := s.upgradeRaw(t)
		nc.Write([]byte{0x81}) // half a header, then EOF
		nc.Close()
		check(t, None, frame.CloseAbnormal)
	})
	t.Run("Loop.Close", func(t *testing.T) {
		c := dial(t, s.url, &DialOptions{Proxy: NoProxy})
		c.WriteMessage(Text, []byte("hi"))
		if _, _, err := c.ReadMessage(nil); err != nil {
			t.Fatal(err)
		}
		s.loop.Close()
		check(t, Local, frame.CloseAbnormal)
		if err := s.loop.Add(c); !errors.Is(err, ErrLoopClosed) {
			t.Errorf("Add after Close = %v, want ErrLoopClosed", err)
		}
	})
}

// A connection without a descriptor (here net.Pipe) is served by a
// goroutine with the same callbacks.
func TestLoopFallback(t *testing.T) {
	got := make(chan string, 1)
	closed := make(chan error, 1)
	l, err := NewLoop(&LoopOptions{
		OnMessage: func(c *Conn, typ MessageType, p []byte) { got <- string(p) },
		OnClose:   func(c *Conn, err error) { closed <- err },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cn, sn := net.Pipe()
	client, _ := newConn(cn, true, nil, &Options{}, "", nil)
	server, _ := newConn(sn, false, nil, &Options{}, "", nil)
	if err := l.Add(server); err != nil {
		t.Fatal(err)
	}
	if err := client.WriteMessage(Text, []byte("over a pipe")); err != nil {
		t.Fatal(err)
	}
	if m := <-got; m != "over a pipe" {
		t.Errorf("got %q", m)
	}
	client.CloseNow()
	select {
	case err := <-closed:
		var ce *CloseError
		if !errors.As(err, &ce) || ce.Code != frame.CloseAbnormal {
			t.Errorf("OnClose err = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no OnClose")
	}
}

// Idle connections served by a Loop hold no goroutine and no read buffer,
// and no Go socket either (the Loop took the descriptor over): a
// handshake-only client socket and the Loop-served Conn together hold less
// heap than a bare pair of Go TCP sockets (about 1.4 KB against 1.9 KB).
func TestLoopIdleMemory(t *testing.T) {
	if testing.Short() || !netpoll.Supported {
		t.Skip("opens thousands of sockets; needs epoll")
	}
	s := newLoopServer(t, nil, echoMessage)
	const n = 1000
	// Clients are raw sockets after a handshake, so that only the
	// server side is counted beyond TCP.
	base := heapInUse()
	var raw []net.Conn
	for range n {
		c, s := tcpPair(t)
		raw = append(raw, c, s)
	}
	tcpPer := float64(heapInUse()-base) / n
	for _, c := range raw {
		c.Close()
	}
	goroutines := runtime.NumGoroutine()
	base = heapInUse()
	var clients []net.Conn
	for range n {
		// Not upgradeRaw: its cleanup closure would be measured too.
		nc, err := net.Dial("tcp", s.url[len("ws://"):len(s.url)-1])
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, nc)
		nc.Write([]byte(rawUpgradeRequest))
		readResponseHead(t, nc)
	}
	for range n {
		<-s.conns
	}
	time.Sleep(100 * time.Millisecond)
	per := float64(heapInUse()-base) / n
	extra := runtime.NumGoroutine() - goroutines
	t.Logf("TCP pair: %.0f B; handshake-only client + Loop-served Conn: %.0f B; goroutines added: %d", tcpPer, per, extra)
	if per > tcpPer {
		t.Errorf("a handshake-only client and its Loop-served idle Conn hold %.0f B, more than a bare pair of Go TCP sockets (%.0f B)", per, tcpPer)
	}
	if extra > 10 {
		t.Errorf("%d goroutines for %d idle connections, want none per connection", extra, n)
	}
	for _, nc := range clients {
		nc.Close()
	}
}

// readResponseHead reads the server's 101 response, byte by byte so that
// nothing after it is consumed.
func readResponseHead(t *testing.T, nc net.Conn) {
	t.Helper()
	var head []byte
	b := make([]byte, 1)
	for !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		if _, err := readFull(nc, b); err != nil {
			t.Fatalf("response head: %v", err)
		}
		head = append(head, b[0])
	}
	if !bytes.HasPrefix(head, []byte("HTTP/1.1 101 ")) {
		t.Fatalf("response %q", head)
	}
}

// readFull reads len(b) bytes within 10 seconds.
func readFull(nc net.Conn, b []byte) (int, error) {
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer nc.SetReadDeadline(time.Time{})
	n := 0
	for n < len(b) {
		m, err := nc.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// A message whose bytes arrive in several pieces with pauses between them
// (the poller finds the socket empty mid-header and mid-payload) is
// delivered whole, and so is the next one.
func TestLoopSplitMessage(t *testing.T) {
	got := make(chan []byte, 10)
	s := newLoopServer(t, nil, func(c *Conn, typ MessageType, p []byte) {
		got <- bytes.Clone(p)
	})
	nc := s.upgradeRaw(t)
	var msgs [][]byte
	var wire []byte
	for i, size := range []int{5000, 300, 70000, 10} {
		p := bytes.Repeat([]byte{byte('a' + i)}, size)
		msgs = append(msgs, p)
		wire = frame.AppendFrame(wire, frame.NewHeader(frame.OpBinary, frame.Mask, mask.Key{1, 2, 3, 4}, 0), p)
	}
	prev := 0
	for _, cut := range []int{1, 3000, 5005, 5200, 6000, 40000, len(wire)} {
		if _, err := nc.Write(wire[prev:cut]); err != nil {
			t.Fatal(err)
		}
		prev = cut
		time.Sleep(20 * time.Millisecond)
	}
	for i, want := range msgs {
		select {
		case p := <-got:
			if !bytes.Equal(p, want) {
				t.Fatalf("message %d: %d bytes, want %d", i, len(p), len(want))
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("message %d did not arrive", i)
		}
	}
}

// A poller reads each ready connection into its own 64 KiB buffer and
// parses the frames there; a connection keeps none of it between serves.
// A burst larger than one serve's budget (maxServe) is delivered whole and
// in order, and when it ends inside a frame header only those bytes stay
// with the connection, in its inline buffer, until the rest arrives.
func TestLoopReadBufReturned(t *testing.T) {
	if !netpoll.Supported {
		t.Skip("needs epoll")
	}
	got := make(chan string, 2000)
	s := newLoopServerWith(t, nil, LoopOptions{Pollers: 1, OnMessage: func(c *Conn, typ MessageType, p []byte) {
		got <- string(p)
	}})
	nc := s.upgradeRaw(t)
	sc := <-s.conns
	const n = 1000
	var wire []byte
	for i := range n + 1 {
		wire = frame.AppendFrame(wire, frame.NewHeader(frame.OpText, frame.Mask, mask.Key{1, 2, 3, byte(i)}, 0), fmt.Appendf(nil, "m%d", i))
	}
	// The last frame is a 2-byte header, a 4-byte key and "m1000": cut
	// after 3 bytes of it.
	cut := len(wire) - len("m1000") - 3
	if _, err := nc.Write(wire[:cut]); err != nil {
		t.Fatal(err)
	}
	next := func(want string) {
		t.Helper()
		select {
		case m := <-got:
			if m != want {
				t.Fatalf("got %q, want %q", m, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%q did not arrive", want)
		}
	}
	for i := range n {
		next(fmt.Sprintf("m%d", i))
	}
	// The poller may still hold the read side: look once it let go.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if !sc.g.acquire(lockR, time.After(10*time.Second)) {
			t.Fatal("the read side was not released")
		}
		rsrc, held := sc.rsrc, sc.w-sc.r
		sc.g.release(lockR)
		if rsrc == rbufInline && held == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("between serves the connection's read buffer is of kind %d holding %d bytes, want the inline one holding 3", rsrc, held)
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := nc.Write(wire[cut:]); err != nil {
		t.Fatal(err)
	}
	next("m1000")
}

// returnReadBuf leaves a connection at most its inline buffer between
// serves, whether the poller's buffer was lent for this serve or kept from
// an earlier one (stopped at maxServe) and served now without a loan;
// only frames left unread after a serve keep a 64 KiB buffer.
func TestReturnReadBuf(t *testing.T) {
	for _, tc := range []struct {
		name     string
		kept     bool // rbufBig from an earlier serve, else lent now
		held     int
		wantSrc  uint8
		wantHeld int
		swapped  bool // the poller took a new buffer
	}{
		{name: "lent, empty", held: 0, wantSrc: rbufNone},
		{name: "lent, part of a header", held: 3, wantSrc: rbufInline, wantHeld: 3},
		{name: "lent, a full inline buffer", held: inlineRead, wantSrc: rbufInline, wantHeld: inlineRead},
		{name: "lent, frames left", held: inlineRead + 1, wantSrc: rbufBig, wantHeld: inlineRead + 1, swapped: true},
		{name: "kept, empty", kept: true, held: 0, wantSrc: rbufNone},
		{name: "kept, part of a header", kept: true, held: 3, wantSrc: rbufInline, wantHeld: 3},
		{name: "kept, frames left", kept: true, held: 5000, wantSrc: rbufBig, wantHeld: 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, sn := tcpPair(t)
			c, err := newConn(sn, false, nil, &Options{}, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			bufs := serveBufs{rd: pollerReadBufs.Get().(*[]byte)}
			rd := bufs.rd
			if tc.kept {
				c.rbufp = pollerReadBufs.Get().(*[]byte)
				c.rbuf, c.rsrc = *c.rbufp, rbufBig
			} else {
				c.lendReadBuf(*bufs.rd)
			}
			// The unread bytes sit behind some parsed ones.
			c.r, c.w = 100, 100+tc.held
			for i := range tc.held {
				c.rbuf[c.r+i] = byte(i)
			}
			want := bytes.Clone(c.rbuf[c.r:c.w])
			c.returnReadBuf(&bufs)
			if c.rsrc != tc.wantSrc || c.w-c.r != tc.wantHeld || !bytes.Equal(c.rbuf[c.r:c.w], want) {
				t.Errorf("read buffer of kind %d holding %d bytes (%v), want kind %d holding %d", c.rsrc, c.w-c.r, bytes.Equal(c.rbuf[c.r:c.w], want), tc.wantSrc, tc.wantHeld)
			}
			if swapped := bufs.rd != rd; swapped != tc.swapped {
				t.Errorf("the poller took a new buffer: %v, want %v", swapped, tc.swapped)
			}
		})
	}
}

// Add allocates nothing per connection: the Loop's state lives in the
// Conn, and the descriptor is fetched without a closure (only the Loop's
// own map and table grow now and then).
func TestLoopAddAllocs(t *testing.T) {
	if raceEnabled || !netpoll.Supported {
		t.Skip("needs epoll; sync.Pool and allocation counts differ under the race detector")
	}
	l, err := NewLoop(&LoopOptions{OnMessage: echoMessage})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const runs = 100
	var servers []*Conn
	for range runs + 1 {
		_, sn := tcpPair(t)
		c, err := newConn(sn, false, nil, &Options{}, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, c)
	}
	i := 0
	got := testing.AllocsPerRun(runs, func() {
		if err := l.Add(servers[i]); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if got >= 0.5 {
		t.Errorf("Loop.Add makes %v allocations per connection, want none", got)
	}
}

// Close called from OnMessage does not wait for the Loop (which is running
// OnMessage): it sends the Close frame and returns, and the Loop finishes
// the handshake.
func TestLoopCloseFromOnMessage(t *testing.T) {
	returned := make(chan time.Duration, 1)
	s := newLoopServer(t, nil, func(c *Conn, typ MessageType, p []byte) {
		start := time.Now()
		if err := c.Close(frame.CloseNormal, "bye"); err != nil {
			t.Errorf("Close from OnMessage: %v", err)
		}
		returned <- time.Since(start)
	})
	c := dial(t, s.url, &DialOptions{Proxy: NoProxy})
	c.WriteMessage(Text, []byte("close, please"))
	_, _, err := c.ReadMessage(nil)
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Initiator != Peer || ce.Code != frame.CloseNormal || ce.Reason != "bye" {
		t.Errorf("client got %v, want the server's 1000 bye", err)
	}
	if d := <-returned; d > time.Second {
		t.Errorf("Close from OnMessage took %v: it waited for the Loop", d)
	}
	lc := s.waitClose(t)
	if !errors.As(lc.err, &ce) || ce.Initiator != Local || ce.Code != frame.CloseNormal || ce.Frames != SentThenReceived || ce.Err != nil {
		t.Errorf("OnClose err = %#v, want a completed handshake we started", lc.err)
	}
}

// Close called from OnMessage does not wait, but the closing handshake is
// still bounded by CloseTimeout: a peer that never answers the Close frame
// is cut off with ErrCloseTimeout, not held forever.
func TestLoopCloseFromOnMessageSilentPeer(t *testing.T) {
	opts := &AcceptOptions{Options: Options{CloseTimeout: 200 * time.Millisecond}}
	s := newLoopServer(t, opts, func(c *Conn, typ MessageType, p []byte) {
		c.Close(CloseNormal, "bye")
	})
	nc := s.upgradeRaw(t)
	// A masked empty text frame, then nothing: never the Close reply.
	if _, err := nc.Write([]byte{0x81, 0x80, 1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	lc := s.waitClose(t)
	var ce *CloseError
	if !errors.As(lc.err, &ce) || ce.Initiator != Local || !errors.Is(ce.Err, ErrCloseTimeout) {
		t.Fatalf("OnClose err = %#v, want our Close timed out", lc.err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("ended after %v, before CloseTimeout", d)
	}
}

// The heartbeat is how a Loop-served connection notices a peer that went
// silent: no Pong within PongTimeout ends it with ErrHeartbeatTimeout, while
// a peer that answers stays connected.
func TestLoopHeartbeat(t *testing.T) {
	s := newLoopServer(t, &AcceptOptions{Options: Options{PingInterval: 30 * time.Millisecond, PongTimeout: 100 * time.Millisecond}}, echoMessage)
	// A live client: a reader answers the pings.
	live := dial(t, s.url, &DialOptions{Proxy: NoProxy})
	go func() {
		for {
			if _, _, err := live.ReadMessage(nil); err != nil {
				return
			}
		}
	}()
	// A silent one: a raw socket that never reads, so no Pong comes back.
	s.upgradeRaw(t)
	lc := s.waitClose(t)
	var ce *CloseError
	if !errors.As(lc.err, &ce) || !errors.Is(ce.Err, ErrHeartbeatTimeout) || ce.Initiator != None {
		t.Fatalf("OnClose err = %v, want a heartbeat timeout", lc.err)
	}
	time.Sleep(200 * time.Millisecond) // several more ping intervals
	select {
	case extra := <-s.closes:
		t.Fatalf("the live connection ended too: %v", extra.err)
	default:
	}
	if err := live.WriteMessage(Text, []byte("still here")); err != nil {
		t.Fatalf("live connection: %v", err)
	}
}
