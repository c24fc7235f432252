package fuzz

import (
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hybi/websocket"
	"github.com/hybi/websocket/internal/wstest"
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
	Msgs      []wstest.Msg
	Code      uint16
	Reason    string
	Initiator websocket.Initiator
	Frames    websocket.CloseFrames
	Wire      []byte // everything the server sent, 101 response included
}

// loopShared is the process's harness (internal/wstest) and Loop,
// created on first use.
type loopShared struct {
	*wstest.Harness[*websocket.Conn]
	loop *websocket.Loop
}

var (
	loopOnce   sync.Once
	loopShare  *loopShared
	loopGetErr error
)

func loopServer() (*loopShared, error) {
	loopOnce.Do(func() {
		s := &loopShared{}
		s.Harness, loopGetErr = wstest.NewHarness(wstest.Paths[*websocket.Conn]{
			Read: wstest.ReadAll[websocket.MessageType, *websocket.Conn],
			Add:  func(c *websocket.Conn) error { return s.loop.Add(c) },
			Accept: func(err error) bool {
				var ce *websocket.CloseError
				return errors.As(err, &ce)
			},
			CloseNow: func(c *websocket.Conn) { c.CloseNow() },
		}, loopWait)
		if loopGetErr != nil {
			return
		}
		s.loop, loopGetErr = websocket.NewLoop(&websocket.LoopOptions{
			OnMessage: func(c *websocket.Conn, typ websocket.MessageType, p []byte) { s.Message(c, typ, p) },
			OnClose:   s.Closed,
			Pollers:   1,
		})
		loopShare = s
	})
	return loopShare, loopGetErr
}

// run feeds r.stream to a new server Conn, read by the Loop if useLoop,
// else by ReadMessage; fin makes the client half-close after its writes.
func (s *loopShared) run(t *testing.T, r *loopRun, useLoop, fin bool) loopOutcome {
	t.Helper()
	sizes := r.chunks()
	head := []byte(loopRequest)
	if r.mode&2 != 0 {
		head = append(head, "Sec-WebSocket-Extensions: permessage-deflate\r\n"...)
	}
	head = append(head, "\r\n"...)
	from := 0
	if r.mode&1 != 0 && len(sizes) > 0 {
		head = append(head, r.stream[:sizes[0]]...)
		from = sizes[0]
		sizes = sizes[1:]
	}
	sc := &wstest.Script{Head: head, Wire: r.stream, Start: from, FIN: fin, Early: r.mode&8 != 0}
	for i, n := range sizes {
		from += n
		c := wstest.Cut{End: from}
		if r.mode&4 != 0 && i < 8 {
			c.Pause = 100 * time.Microsecond
		}
		sc.Cuts = append(sc.Cuts, c)
	}
	opts := &websocket.AcceptOptions{}
	opts.Compression = r.mode&2 != 0
	if r.mode&0x10 != 0 {
		opts.MaxMessageSize = 1000
	}
	if r.mode&0x20 != 0 {
		opts.ReadBufferSize = 300
	}
	serve := func(nc net.Conn) (*websocket.Conn, error) {
		c, err := websocket.Upgrade(nc, nil, opts)
		if err != nil {
			return nil, err
		}
		if r.mode&0x40 != 0 {
			c.SetReadLimit(100)
		}
		return c, nil
	}
	path, do := "ReadMessage", s.Blocking
	if useLoop {
		path, do = "Loop", s.Loop
	}
	w, err := do(sc, serve)
	if err != nil {
		t.Fatalf("%s: %v\nmode %#x, fin %v, chunks %v\nstream % x", path, err, r.mode, fin, r.chunks(), r.stream)
	}
	var ce *websocket.CloseError
	if !errors.As(w.Err, &ce) {
		t.Fatalf("%s ended with %v, not a *CloseError", path, w.Err)
	}
	return loopOutcome{w.Msgs, uint16(ce.Code), ce.Reason, ce.Initiator, ce.Frames, w.Wire}
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
