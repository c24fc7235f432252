package fuzz

import (
	"bytes"
	"errors"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hybi/websocket"
)

// FuzzLoop: a server Conn read by a websocket.Loop (epoll, non-blocking
// reads when the socket is ready) and one read by ReadMessage (blocking
// reads) agree on every client stream, however it is cut into TCP writes:
// the same messages, the same verdict (close code, reason, initiator,
// which Close frames crossed) and the same bytes written back (Pongs, the
// Close frame). Both are real connections over loopback TCP, opened with
// websocket.Upgrade; the listener and the Loop are shared by all
// executions of a process.
//
// The mode byte:
//
//	bit 0  the first chunk comes in the same write as the request, so it
//	       reaches the Conn as the handshake's read-ahead
//	bit 1  the client offers permessage-deflate
//	bit 2  a 100 µs pause after each of the first 8 chunks
//	bit 3  the client starts writing before Loop.Add
//	bit 4  MaxMessageSize 1000
//	bit 5  ReadBufferSize 300
//	bit 6  SetReadLimit(100)
//
// The ReadMessage run goes first, ended by the client's FIN. The Loop run
// gets a FIN only if that verdict was "no Close frame" (EOF): otherwise
// the bytes alone end the connection, and the Loop must find that out
// without an EOF to wake it.
func FuzzLoop(f *testing.F) {
	f.Fuzz(func(t *testing.T, stream, splits []byte, mode byte) {
		if len(stream) > maxLoopInput {
			return
		}
		s, err := loopServer()
		if err != nil {
			t.Fatal(err)
		}
		run := loopRun{stream: stream, splits: splits, mode: mode}
		blocking := s.run(t, &run, false, true)
		loop := s.run(t, &run, true, blocking.Initiator == websocket.None)
		if diff := cmp.Diff(blocking, loop); diff != "" {
			t.Fatalf("Loop and ReadMessage disagree (-ReadMessage +Loop):\n%s\nmode %#x, chunks %v\nstream % x",
				diff, mode, run.chunks(), stream)
		}
	})
}

// maxLoopInput caps a stream, so one execution stays in the milliseconds.
const maxLoopInput = 64 << 10

// maxLoopWrites caps the client's writes; the rest of the stream goes in
// one last write.
const maxLoopWrites = 256

// loopWait bounds every wait of one execution; reaching it is a failure
// (a lost wakeup, a connection that never ends).
const loopWait = 3 * time.Second

// loopRequest is the client's opening handshake.
const loopRequest = "GET / HTTP/1.1\r\nHost: fuzz\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: " + rfcKeyB64 + "\r\nSec-WebSocket-Version: 13\r\n"

type loopRun struct {
	stream, splits []byte
	mode           byte
}

// chunks returns the client's writes: the sizes from splits, at most
// maxLoopWrites of them.
func (r *loopRun) chunks() []int {
	c := chunks(len(r.stream), r.splits)
	if len(c) > maxLoopWrites {
		rest := 0
		for _, n := range c[maxLoopWrites-1:] {
			rest += n
		}
		c = append(c[:maxLoopWrites-1], rest)
	}
	return c
}

// loopOutcome is what a server read path did with a stream.
type loopOutcome struct {
	Msgs      []loopMsg
	Code      uint16
	Reason    string
	Initiator websocket.Initiator
	Frames    websocket.CloseFrames
	Wire      []byte // everything the server sent, 101 response included
}

type loopMsg struct {
	Type websocket.MessageType
	Data string
}

// loopShared is the process's listener and Loop, created on first use.
type loopShared struct {
	ln   net.Listener
	loop *websocket.Loop

	mu   sync.Mutex
	recs map[*websocket.Conn]*loopRecord
}

type loopRecord struct {
	msgs   []loopMsg
	closes []error
	closed chan struct{}
}

var (
	loopOnce   sync.Once
	loopShare  *loopShared
	loopGetErr error
)

func loopServer() (*loopShared, error) {
	loopOnce.Do(func() {
		s := &loopShared{recs: make(map[*websocket.Conn]*loopRecord)}
		s.ln, loopGetErr = net.Listen("tcp", "127.0.0.1:0")
		if loopGetErr != nil {
			return
		}
		s.loop, loopGetErr = websocket.NewLoop(&websocket.LoopOptions{
			OnMessage: func(c *websocket.Conn, typ websocket.MessageType, p []byte) {
				s.mu.Lock()
				if r := s.recs[c]; r != nil {
					r.msgs = append(r.msgs, loopMsg{typ, string(p)})
				}
				s.mu.Unlock()
			},
			OnClose: func(c *websocket.Conn, err error) {
				s.mu.Lock()
				if r := s.recs[c]; r != nil {
					r.closes = append(r.closes, err)
					if len(r.closes) == 1 {
						close(r.closed)
					}
				}
				s.mu.Unlock()
			},
			Pollers: 1,
		})
		loopShare = s
	})
	return loopShare, loopGetErr
}

// pair opens a loopback connection to the shared listener.
func (s *loopShared) pair() (client, server net.Conn, err error) {
	client, err = net.DialTimeout("tcp", s.ln.Addr().String(), loopWait)
	if err != nil {
		return nil, nil, err
	}
	s.ln.(*net.TCPListener).SetDeadline(time.Now().Add(loopWait))
	server, err = s.ln.Accept()
	if err != nil {
		client.Close()
		return nil, nil, err
	}
	return client, server, nil
}

// run feeds r.stream to a new server Conn, read by the Loop if useLoop,
// else by ReadMessage; fin makes the client half-close after its writes.
func (s *loopShared) run(t *testing.T, r *loopRun, useLoop, fin bool) loopOutcome {
	t.Helper()
	cn, sn, err := s.pair()
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	defer sn.Close()
	sizes := r.chunks()
	head := []byte(loopRequest)
	if r.mode&2 != 0 {
		head = append(head, "Sec-WebSocket-Extensions: permessage-deflate\r\n"...)
	}
	head = append(head, "\r\n"...)
	if r.mode&1 != 0 && len(sizes) > 0 {
		head = append(head, r.stream[:sizes[0]]...)
		sizes = sizes[1:]
	}
	// The client writes the head (which may be larger than the socket
	// buffers), then the rest of the stream once start is closed.
	deadline := time.Now().Add(loopWait)
	cn.SetWriteDeadline(deadline)
	from := len(r.stream)
	for _, n := range sizes {
		from -= n
	}
	start := make(chan struct{})
	go func() {
		if _, err := cn.Write(head); err != nil {
			return
		}
		<-start
		for i, n := range sizes {
			if _, err := cn.Write(r.stream[from : from+n]); err != nil {
				return // the server closed after a violation
			}
			from += n
			if r.mode&4 != 0 && i < 8 {
				time.Sleep(100 * time.Microsecond)
			}
		}
		if fin {
			cn.(*net.TCPConn).CloseWrite()
		}
	}()
	write := sync.OnceFunc(func() { close(start) })
	defer write() // a failure before the start must not strand the writer
	opts := &websocket.AcceptOptions{}
	opts.Compression = r.mode&2 != 0
	if r.mode&0x10 != 0 {
		opts.MaxMessageSize = 1000
	}
	if r.mode&0x20 != 0 {
		opts.ReadBufferSize = 300
	}
	sn.SetDeadline(deadline)
	c, err := websocket.Upgrade(sn, nil, opts)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	sn.SetDeadline(time.Time{})
	defer c.CloseNow()
	if r.mode&0x40 != 0 {
		c.SetReadLimit(100)
	}

	var o loopOutcome
	var ended func() (error, bool) // the final error, and whether it came in time
	if useLoop {
		rec := &loopRecord{closed: make(chan struct{})}
		s.mu.Lock()
		s.recs[c] = rec
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			delete(s.recs, c)
			s.mu.Unlock()
		}()
		if r.mode&8 != 0 {
			write()
		}
		var ce *websocket.CloseError
		if err := s.loop.Add(c); err != nil && !errors.As(err, &ce) {
			t.Fatalf("Add: %v", err)
		}
		if r.mode&8 == 0 {
			write()
		}
		ended = func() (error, bool) {
			var ok bool
			select {
			case <-rec.closed:
				ok = true
			case <-time.After(time.Until(deadline) + 50*time.Millisecond):
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			o.Msgs = rec.msgs
			if !ok {
				return nil, false
			}
			if len(rec.closes) != 1 {
				t.Fatalf("OnClose called %d times", len(rec.closes))
			}
			return rec.closes[0], true
		}
	} else {
		done := make(chan error, 1)
		go func() {
			var buf []byte
			for {
				typ, p, err := c.ReadMessage(buf)
				if err != nil {
					done <- err
					return
				}
				buf = p
				o.Msgs = append(o.Msgs, loopMsg{typ, string(p)})
			}
		}()
		write()
		ended = func() (error, bool) {
			select {
			case err := <-done:
				return err, true
			case <-time.After(time.Until(deadline) + 50*time.Millisecond):
				c.CloseNow()
				<-done
				return nil, false
			}
		}
	}

	// What the server sends, until it closes.
	cn.SetReadDeadline(deadline)
	var rerr error
	o.Wire, rerr = readUntilClosed(cn)
	err, ok := ended()
	path := "ReadMessage"
	if useLoop {
		path = "Loop"
	}
	if !ok || rerr != nil {
		t.Fatalf("%s: the connection did not end within %v (%d messages so far; client: %v)\nmode %#x, fin %v, chunks %v\nstream % x",
			path, loopWait, len(o.Msgs), rerr, r.mode, fin, r.chunks(), r.stream)
	}
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("%s ended with %v, not a *CloseError", path, err)
	}
	o.Code, o.Reason, o.Initiator, o.Frames = uint16(ce.Code), ce.Reason, ce.Initiator, ce.Frames
	return o
}

// readUntilClosed returns what arrives on nc until EOF or a reset (the
// server closed with client bytes unread; what it sent before is still
// read first); an error only if nc's read deadline passed.
func readUntilClosed(nc net.Conn) ([]byte, error) {
	var out bytes.Buffer
	_, err := out.ReadFrom(nc)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return out.Bytes(), err
	}
	return out.Bytes(), nil
}

func init() {
	// The server-role seeds of the state machine targets, every stream
	// once, with modes that spread over the bits above; the captured ws
	// client traffic with and without permessage-deflate.
	var seeds []seed
	for i, s := range connSeeds(clientFrame, serverFrame) {
		mode := byte(i*5) & 0x3d // bit 1 (deflate) only for deflate seeds
		if s.vals[2].(byte)>>4&3 == 3 {
			mode |= 2
		}
		seeds = append(seeds, seed{s.name, []any{s.vals[0], s.vals[1], mode}})
	}
	// More messages than a Loop delivers in one turn (maxServe, 32), and a
	// Close: in one write after Add, and whole in the handshake's
	// read-ahead (no later byte, no FIN to wake the Loop).
	var burst []byte
	for i := range 50 {
		burst = append(burst, clientFrame(0x81, []byte{'m', byte('0' + i/10), byte('0' + i%10)})...)
	}
	burst = append(burst, clientFrame(0x88, closePayload(1000, "bye"))...)
	seeds = append(seeds,
		seed{"burst-close", []any{burst, []byte{}, byte(0)}},
		seed{"burst-close-read-ahead", []any{burst, []byte{}, byte(0x01)}},
		seed{"ws-node-client", []any{wsNodeClient, []byte{0, 9, 200}, byte(0x01)}},
		seed{"ws-node-client-deflate", []any{wsNodeClientDeflate, []byte{3}, byte(0x0a)}},
		seed{"ws-node-client-byte-at-a-time", []any{wsNodeClient, []byte{0}, byte(0x0c)}},
	)
	addSeeds("FuzzLoop", seeds...)
}

// TestLoopSeedsEnd pins that the seed streams exercise both endings:
// some end on their bytes alone (Close frame, violation), some need the
// EOF.
func TestLoopSeedsEnd(t *testing.T) {
	s, err := loopServer()
	if err != nil {
		t.Fatal(err)
	}
	count := map[websocket.Initiator]int{}
	for _, sd := range seedCorpora["FuzzLoop"] {
		r := loopRun{stream: sd.vals[0].([]byte), splits: sd.vals[1].([]byte), mode: sd.vals[2].(byte)}
		count[s.run(t, &r, false, true).Initiator]++
	}
	for _, ini := range []websocket.Initiator{websocket.None, websocket.Peer, websocket.Local} {
		if count[ini] == 0 {
			t.Errorf("no seed ends with initiator %v (verdicts by initiator: %v)", ini, count)
		}
	}
}
