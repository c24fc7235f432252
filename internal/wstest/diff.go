package wstest

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"os"
	"sync"
	"time"
)

// The blocking-vs-Loop differential harness. A server connection read by
// ReadMessage (blocking reads) and one served by a Loop (non-blocking
// reads when the poller says so) must agree on every client stream,
// however it is cut into TCP writes. The harness owns the client side
// (a loopback listener, the scripted writes, reading what the server
// sends until it closes) and the bookkeeping of both paths; the caller
// owns the connection type. This package cannot import the root package
// (the root's own tests import it), so the paths come as functions.

// Cut is one TCP write of the client: the stream up to End, then Pause.
type Cut struct {
	End   int
	Pause time.Duration
}

// Script is what the client does on its connection.
type Script struct {
	// Head is written at once, in one write, before serve runs: an
	// opening handshake and the bytes that come with it. May be empty.
	Head []byte
	// Wire is the rest of the stream, written after serve from Start on
	// in the writes Cuts gives (each End is at most len(Wire)); a write
	// that fails (the server closed) ends the writing.
	Wire  []byte
	Start int
	Cuts  []Cut
	// FIN: the client half-closes after its last write.
	FIN bool
	// Early: on the Loop path, the client starts writing Wire before
	// Add, so bytes arrive while the connection is being registered.
	Early bool
}

// Msg is a delivered message; payloads over 64 bytes are summarized by
// their length, start and FNV-1a hash, so a diff stays readable.
type Msg struct {
	Type string
	Data string
}

// NewMsg records a message of type typ.
func NewMsg(typ fmt.Stringer, p []byte) Msg {
	if len(p) <= 64 {
		return Msg{typ.String(), string(p)}
	}
	h := fnv.New64a()
	h.Write(p)
	return Msg{typ.String(), fmt.Sprintf("%d bytes %q… fnv64a %016x", len(p), p[:16], h.Sum64())}
}

// Outcome is what one read path did with a stream.
type Outcome struct {
	Msgs []Msg
	Err  error  // the error the connection ended with
	Wire []byte // everything the server sent after Serve
}

// Paths are the two read paths of the caller's connection type C.
type Paths[C comparable] struct {
	// Read reads c with the blocking path until it ends, calling msg for
	// every message, and returns the error it ended with.
	Read func(c C, msg func(typ fmt.Stringer, p []byte)) error
	// Add hands c to the Loop, whose OnMessage and OnClose call the
	// Harness's Message and Closed. An error Add returns that Accept
	// calls acceptable (a connection that ended while being added) does
	// not fail the run.
	Add    func(c C) error
	Accept func(err error) bool
	// CloseNow ends c at once.
	CloseNow func(c C)
	// Ended, if set, returns the error c ended with, which must be the
	// one OnClose reported.
	Ended func(c C) error
}

// Harness holds what the runs share: a loopback listener and the Loop's
// records. Its methods are safe for concurrent use.
type Harness[C comparable] struct {
	Paths Paths[C]
	// Wait bounds every wait of one run; reaching it is a failure (a lost
	// wakeup, a connection that never ends).
	Wait time.Duration

	ln   net.Listener
	mu   sync.Mutex // serializes Dial+Accept, so each Accept gets its Dial
	recs sync.Map   // C → *record

	strayMu sync.Mutex
	stray   int
}

// record collects what the Loop delivered for one connection.
type record struct {
	mu     sync.Mutex
	msgs   []Msg
	closed chan error // OnClose's error
}

// NewHarness listens on 127.0.0.1; Close stops it.
func NewHarness[C comparable](p Paths[C], wait time.Duration) (*Harness[C], error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &Harness[C]{Paths: p, Wait: wait, ln: ln}, nil
}

// Close stops the listener.
func (h *Harness[C]) Close() error { return h.ln.Close() }

// Message is the Loop's OnMessage.
func (h *Harness[C]) Message(c C, typ fmt.Stringer, p []byte) {
	r := h.record(c)
	r.mu.Lock()
	r.msgs = append(r.msgs, NewMsg(typ, p))
	r.mu.Unlock()
}

// Closed is the Loop's OnClose.
func (h *Harness[C]) Closed(c C, err error) { h.record(c).closed <- err }

// Stray returns how many Loop callbacks came for a connection whose run
// had ended (or never started).
func (h *Harness[C]) Stray() int {
	h.strayMu.Lock()
	defer h.strayMu.Unlock()
	return h.stray
}

func (h *Harness[C]) record(c C) *record {
	r, ok := h.recs.Load(c)
	if !ok {
		h.strayMu.Lock()
		h.stray++
		h.strayMu.Unlock()
		return &record{closed: make(chan error, 2)}
	}
	return r.(*record)
}

// pair returns both ends of a new loopback TCP connection.
func (h *Harness[C]) pair() (client, server net.Conn, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	client, err = net.DialTimeout("tcp", h.ln.Addr().String(), h.Wait)
	if err != nil {
		return nil, nil, err
	}
	h.ln.(*net.TCPListener).SetDeadline(time.Now().Add(h.Wait))
	server, err = h.ln.Accept()
	if err != nil {
		client.Close()
		return nil, nil, err
	}
	return client, server, nil
}

// Blocking runs s against a new connection, made by serve from the
// accepted end (serve reads s.Head, if any), and read by Paths.Read. The
// error is the harness's (the connection did not end in time, the setup
// failed), never the connection's, which is in the Outcome.
func (h *Harness[C]) Blocking(s *Script, serve func(net.Conn) (C, error)) (Outcome, error) {
	return h.run(s, serve, false)
}

// Loop runs s against a new connection made by serve and served by the
// Loop until OnClose.
func (h *Harness[C]) Loop(s *Script, serve func(net.Conn) (C, error)) (Outcome, error) {
	return h.run(s, serve, true)
}

func (h *Harness[C]) run(s *Script, serve func(net.Conn) (C, error), loop bool) (o Outcome, err error) {
	cn, sn, err := h.pair()
	if err != nil {
		return o, err
	}
	defer cn.Close()
	defer sn.Close()
	deadline := time.Now().Add(h.Wait)
	cn.SetWriteDeadline(deadline)
	start := make(chan struct{})
	go s.write(cn, start)
	release := sync.OnceFunc(func() { close(start) })
	defer release() // a failure before the start must not strand the writer

	sn.SetDeadline(deadline)
	c, err := serve(sn)
	if err != nil {
		return o, fmt.Errorf("serve: %w", err)
	}
	sn.SetDeadline(time.Time{})
	defer h.Paths.CloseNow(c)

	var ended func() (error, bool) // the final error, and whether it came in time
	wait := func() <-chan time.Time { return time.After(time.Until(deadline) + 50*time.Millisecond) }
	if loop {
		r := &record{closed: make(chan error, 2)}
		h.recs.Store(c, r)
		defer h.recs.Delete(c)
		if s.Early {
			release()
		}
		if err := h.Paths.Add(c); err != nil && (h.Paths.Accept == nil || !h.Paths.Accept(err)) {
			return o, fmt.Errorf("Loop.Add: %w", err)
		}
		release()
		ended = func() (error, bool) {
			var err error
			var ok bool
			select {
			case err = <-r.closed:
				ok = true
			case <-wait():
			}
			r.mu.Lock()
			o.Msgs = r.msgs
			r.mu.Unlock()
			return err, ok
		}
		defer func() {
			if err == nil && len(r.closed) > 0 {
				err = errors.New("OnClose was called twice")
			}
		}()
	} else {
		done := make(chan error, 1)
		var msgs []Msg // owned by the reader until done
		go func() {
			done <- h.Paths.Read(c, func(typ fmt.Stringer, p []byte) { msgs = append(msgs, NewMsg(typ, p)) })
		}()
		release()
		ended = func() (error, bool) {
			select {
			case err := <-done:
				o.Msgs = msgs
				return err, true
			case <-wait():
				h.Paths.CloseNow(c)
				err := <-done
				o.Msgs = msgs
				return err, false
			}
		}
	}

	wire, rerr := readUntilClosed(cn, deadline)
	o.Wire = wire
	cerr, ok := ended()
	o.Err = cerr
	path := "ReadMessage"
	if loop {
		path = "Loop"
	}
	if !ok {
		return o, fmt.Errorf("%s: the connection did not end within %v (%d messages delivered; client: %v)", path, h.Wait, len(o.Msgs), rerr)
	}
	if rerr != nil {
		return o, fmt.Errorf("%s: %w", path, rerr)
	}
	if loop && h.Paths.Ended != nil {
		if got := h.Paths.Ended(c); got != cerr {
			return o, fmt.Errorf("OnClose reported %v, the connection ended with %v", cerr, got)
		}
	}
	return o, nil
}

// write writes the head, then, once start is closed, the rest of the
// stream as the cuts say, then half-closes if s.FIN. Write errors are
// expected (the server closes after a protocol error without reading the
// rest) and end the writing.
func (s *Script) write(cn net.Conn, start <-chan struct{}) {
	if len(s.Head) > 0 {
		if _, err := cn.Write(s.Head); err != nil {
			return
		}
	}
	<-start
	prev := s.Start
	for _, c := range s.Cuts {
		if _, err := cn.Write(s.Wire[prev:c.End]); err != nil {
			return
		}
		prev = c.End
		if c.Pause > 0 {
			time.Sleep(c.Pause)
		}
	}
	if s.FIN {
		cn.(*net.TCPConn).CloseWrite()
	}
}

// readUntilClosed returns what arrives on nc until EOF or a reset (the
// server closed with client bytes unread; what it sent before is still
// read first); an error only if the deadline passed.
func readUntilClosed(nc net.Conn, deadline time.Time) ([]byte, error) {
	nc.SetReadDeadline(deadline)
	var out bytes.Buffer
	_, err := out.ReadFrom(nc)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return out.Bytes(), errors.New("the server did not close the connection in time")
	}
	return out.Bytes(), nil
}

// ReadAll is the blocking read path of a connection type with gorilla's
// ReadMessage: it reads messages into one reused buffer until an error,
// which it returns. Paths.Read is ReadAll[MessageType, *Conn].
func ReadAll[M fmt.Stringer, C interface {
	ReadMessage(buf []byte) (M, []byte, error)
}](c C, msg func(typ fmt.Stringer, p []byte)) error {
	var buf []byte
	for {
		typ, p, err := c.ReadMessage(buf)
		if err != nil {
			return err
		}
		buf = p
		msg(typ, p)
	}
}
