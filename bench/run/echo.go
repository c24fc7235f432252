package run

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"runtime"
	"time"

	"github.com/hybi/websocket/bench/lib"
)

// EchoSample is one measurement of round trips on one connection.
type EchoSample struct {
	RoundTrips int
	Elapsed    time.Duration
	// Per round trip, client side (this process) and server side (the
	// child).
	ClientAllocs, ClientBytes float64
	ServerAllocs, ServerBytes float64
}

// MsgsPerSec is round trips per second.
func (s EchoSample) MsgsPerSec() float64 { return float64(s.RoundTrips) / s.Elapsed.Seconds() }

// Echo is a client connected to a child echo server.
type Echo struct {
	child  *Child
	client lib.Client
	// ps are the payloads sent in turn: one for binary data; for text, 8
	// different texts from the same vocabulary, so that a compressor
	// keeping its context sees similar but never identical messages.
	ps [][]byte
	i  int
}

// OpenEcho starts lib's echo server in a child and connects lib's client.
func OpenEcho(l lib.Lib, deflate bool, size int) (*Echo, error) {
	child, err := StartChild(l.Name, false, deflate)
	if err == lib.ErrUnsupported {
		// No raw path: the net/http one.
		child, err = StartChild(l.Name, true, deflate)
	}
	if err != nil {
		return nil, err
	}
	c, err := l.Dial(child.Addr, lib.ClientConfig{Deflate: deflate})
	if err != nil {
		child.Stop()
		return nil, err
	}
	e := &Echo{child: child, client: c}
	if !deflate {
		e.ps = [][]byte{Payload(size, false)}
	} else {
		for seed := range 8 {
			e.ps = append(e.ps, Text(size, seed))
		}
	}
	return e, nil
}

// OpenTCPEcho starts the echo floor in a child (serveTCPEcho) and connects
// a plain TCP client that announces size once in an 8-byte big-endian
// prefix; each round trip then writes size bytes (one Write, or pieces of
// at most 1 MiB − 4 KiB: see maxTCPWrite) and reads size bytes with
// io.ReadFull, with no framing and no masking.
func OpenTCPEcho(size int) (*Echo, error) {
	if size <= 0 || size > maxTCPEcho {
		return nil, fmt.Errorf("tcp echo: size %d out of range", size)
	}
	child, err := startChild("tcp,raw,echo")
	if err != nil {
		return nil, err
	}
	nc, err := net.DialTimeout("tcp", child.Addr, 10*time.Second)
	if err != nil {
		child.Stop()
		return nil, err
	}
	var hdr [8]byte
	binary.BigEndian.PutUint64(hdr[:], uint64(size))
	if _, err := nc.Write(hdr[:]); err != nil {
		nc.Close()
		child.Stop()
		return nil, err
	}
	c := &tcpClient{nc: nc, buf: make([]byte, size)}
	return &Echo{child: child, client: c, ps: [][]byte{Payload(size, false)}}, nil
}

// tcpClient is the client side of the echo floor.
type tcpClient struct {
	nc  net.Conn
	buf []byte // the echo, reused
}

// RoundTrip writes p, which must be as long as the size announced, with
// writePieces and reads the echo with io.ReadFull.
func (c *tcpClient) RoundTrip(p []byte) ([]byte, error) {
	if len(p) != len(c.buf) {
		return nil, fmt.Errorf("tcp echo: %d bytes, announced %d", len(p), len(c.buf))
	}
	if err := writePieces(c.nc, p); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(c.nc, c.buf); err != nil {
		return nil, err
	}
	return c.buf, nil
}

func (c *tcpClient) Close() error { return c.nc.Close() }

// Text returns size bytes of English-like text that compresses well; seed
// picks the word sequence.
func Text(size, seed int) []byte {
	words := []string{"the ", "quick ", "brown ", "fox ", "jumps ", "over ", "a ", "lazy ", "dog, ", "websocket ",
		"frames ", "carry ", "messages ", "between ", "client ", "and ", "server. ", "compression ", "saves ", "bandwidth; "}
	var b bytes.Buffer
	x := uint32(seed)*2654435761 + 1
	for b.Len() < size {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b.WriteString(words[x%uint32(len(words))])
	}
	return b.Bytes()[:size]
}

// Payload returns size bytes: pseudo-random when !text, else Text.
func Payload(size int, text bool) []byte {
	if text {
		return Text(size, 0)
	}
	p := make([]byte, size)
	x := uint32(2463534242)
	for i := range p {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		p[i] = byte(x)
	}
	return p
}

// Run does round trips for about d (at least min of them) and measures.
func (e *Echo) Run(d time.Duration, min int) (EchoSample, error) {
	var s EchoSample
	// Warm up: buffers grown, pools filled.
	for range 20 {
		if err := e.once(); err != nil {
			return s, err
		}
	}
	before, err := e.child.Stats()
	if err != nil {
		return s, err
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	n := 0
	for {
		// Check the clock every 16 round trips only.
		for range 16 {
			if err := e.once(); err != nil {
				return s, err
			}
		}
		n += 16
		if n >= min && time.Since(start) >= d {
			break
		}
	}
	s.Elapsed = time.Since(start)
	runtime.ReadMemStats(&m1)
	after, err := e.child.Stats()
	if err != nil {
		return s, err
	}
	s.RoundTrips = n
	f := float64(n)
	s.ClientAllocs = float64(m1.Mallocs-m0.Mallocs) / f
	s.ClientBytes = float64(m1.TotalAlloc-m0.TotalAlloc) / f
	s.ServerAllocs = float64(after.Mallocs-before.Mallocs) / f
	s.ServerBytes = float64(after.TotalAlloc-before.TotalAlloc) / f
	return s, nil
}

func (e *Echo) next() []byte {
	p := e.ps[e.i%len(e.ps)]
	e.i++
	return p
}

func (e *Echo) once() error {
	p := e.next()
	got, err := e.client.RoundTrip(p)
	if err != nil {
		return err
	}
	if len(got) != len(p) {
		return fmt.Errorf("echo: got %d bytes, sent %d", len(got), len(p))
	}
	return nil
}

// Check does one round trip and compares the echo byte for byte.
func (e *Echo) Check() error {
	p := e.next()
	got, err := e.client.RoundTrip(p)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, p) {
		return fmt.Errorf("echo: %d bytes differ from the %d sent", len(got), len(p))
	}
	return nil
}

// Close closes the client and stops the child.
func (e *Echo) Close() {
	e.client.Close()
	e.child.Stop()
}
