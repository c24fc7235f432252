package websocket

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/mask"
)

// frameConn is a net.Conn whose every Read returns one whole masked frame,
// as a socket does when each message of a request-response peer arrives
// on its own, and whose Write discards what it is given.
type frameConn struct{ f []byte }

func (c *frameConn) Read(p []byte) (int, error)       { return copy(p, c.f), nil }
func (c *frameConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *frameConn) Close() error                     { return nil }
func (c *frameConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *frameConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *frameConn) SetDeadline(time.Time) error      { return nil }
func (c *frameConn) SetReadDeadline(time.Time) error  { return nil }
func (c *frameConn) SetWriteDeadline(time.Time) error { return nil }

// BenchmarkServerEchoPath is the user-space part of what a goroutine-per-
// connection server spends on one echoed message (ReadMessage into the
// previous message's memory, then WriteMessage), without the system calls
// and wake-ups: those are most of a real server's CPU per message (bench's
// busy cells), and they move with the machine's load where this does not.
func BenchmarkServerEchoPath(b *testing.B) {
	for _, size := range []int{16, 1024} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			key := mask.Key{1, 2, 3, 4}
			p := make([]byte, size)
			mask.Apply(key, 0, p)
			f := frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Key: key, Length: int64(size)})
			c, err := newConn(&frameConn{f: append(f, p...)}, false, nil, &Options{}, "", nil)
			if err != nil {
				b.Fatal(err)
			}
			var buf []byte
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				typ, m, err := c.ReadMessage(buf)
				if err != nil {
					b.Fatal(err)
				}
				buf = m
				if err := c.WriteMessage(typ, m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
