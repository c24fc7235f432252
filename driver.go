package websocket

import (
	"net"
	"sync"
	"time"
)

// driver is a Conn's I/O policy: who reads the connection, how its bytes
// reach the transport, and how it ends when the end is found. It is the one
// seam between the blocking Conn and a Loop:
//
//	                 blocking (default)            Loop (loop.go, loopwrite.go)
//	who reads        the application: ReadMessage  the poller: OnMessage
//	read             net.Conn Read, may block      non-blocking read of the fd
//	write            net.Conn Write with the       non-blocking write; the rest
//	                 write deadline (TLS: the      is queued (bounded) and
//	                 asyncWriter)                  written on EPOLLOUT
//	end found        close frames sent, then the   the same on a goroutine: a
//	                 socket closed, here           poller never waits
//
// The state machine, readEvent and the frame writers are shared: they call
// the driver for I/O and never ask which one it is. A Conn starts with the
// blocking driver; Loop.Add installs the Loop's (Conn.io).
type driver interface {
	// read reads from the transport for the holder of the read side.
	read(c *Conn, p []byte) (int, error)
	// write writes b whole, or returns how much of it was committed (see
	// Conn.netWrite) and the error. writev writes b, then p.
	write(c *Conn, b []byte) (int, error)
	writev(c *Conn, b, p []byte) (int64, error)
	// setWriteDeadline applies the Conn's write deadline to the
	// transport.
	setWriteDeadline(c *Conn, t time.Time) error
	// admit is asked before n bytes of kind are written. A non-nil
	// error refuses them before any byte is written.
	admit(c *Conn, n int, kind admitKind) error
	// flushed waits until the bytes handed to the transport are written,
	// bounded by the write deadline: before a connection ends after its
	// Close frame.
	flushed(c *Conn) error

	// readerErr is nil when the application reads the connection
	// (ReadMessage, NextReader), or the error telling it who does.
	readerErr() error
	// released is called after a goroutine let go of the read side.
	released(c *Conn)

	// end runs fn, which sends what the closing handshake needs and ends
	// the connection, possibly waiting for the transport; it returns the
	// error for the caller of readEvent.
	end(c *Conn, fn func() error) error
	// closeTransport closes the transport once the connection ended,
	// and tells whoever is waiting for the end (Loop.OnClose).
	closeTransport(c *Conn, ce *CloseError)
	// awaitClose waits, after Close sent the Close frame, for the peer's
	// Close (and the connection's end), until deadline.
	awaitClose(c *Conn, deadline time.Time, timer <-chan time.Time)
}

// admitKind says what a write about to be admitted is.
type admitKind uint8

const (
	// admitData: a frame that may be refused (ErrWriteQueueFull).
	admitData admitKind = iota
	// admitCommitted: a frame that must go out whatever the answer: its
	// compressed payload already advanced the compression context.
	admitCommitted
	// admitControl: control frames the state machine queued (Pongs);
	// refused ones wait in the machine and go later.
	admitControl
)

// io returns the connection's driver.
func (c *Conn) io() driver {
	if lc := c.lc.Load(); lc != nil {
		return lc
	}
	return blocking{}
}

// blocking is the driver of a Conn read by its application's goroutines:
// every call may block, bounded by the deadlines.
type blocking struct{}

func (blocking) read(c *Conn, p []byte) (int, error) { return c.nc.Read(p) }

// write writes to the transport: directly, or through the asyncWriter of
// a TLS transport. Like net.Conn's Write, it returns the number of bytes
// of b committed before an error.
func (blocking) write(c *Conn, b []byte) (int, error) {
	if c.aw != nil {
		return c.aw.write(b)
	}
	return c.nc.Write(b)
}

// writev writes b and then p, with one writev on a socket.
func (blocking) writev(c *Conn, b, p []byte) (int64, error) {
	if c.aw != nil {
		n, err := c.aw.writev(b, p)
		return int64(n), err
	}
	v := iovecs.Get().(*iovec)
	v.bufs = append(v.arr[:0], b, p)
	n, err := v.bufs.WriteTo(c.nc)
	v.arr, v.bufs = [2][]byte{}, nil
	iovecs.Put(v)
	return n, err
}

// iovec is the argument of a blocking writev. net.Buffers.WriteTo takes
// its receiver by pointer and hands it to the socket, so one on the stack
// would escape: they are pooled instead of kept in every Conn.
type iovec struct {
	arr  [2][]byte
	bufs net.Buffers
}

var iovecs = sync.Pool{New: func() any { return new(iovec) }}

// setWriteDeadline applies the write deadline to the transport, or, for a
// transport that a deadline would break (TLS, see asyncWriter), to the
// caller's wait only.
func (blocking) setWriteDeadline(c *Conn, t time.Time) error {
	if c.aw != nil {
		c.aw.setDeadline(t)
		return nil
	}
	// Not under the write side (SetWriteDeadline): Loop.Add may be
	// replacing nc.
	c.smu.Lock()
	defer c.smu.Unlock()
	return c.nc.SetWriteDeadline(t)
}

func (blocking) admit(*Conn, int, admitKind) error { return nil }

func (blocking) flushed(c *Conn) error {
	if c.aw != nil {
		_, err := c.aw.write(nil)
		return err
	}
	return nil // a blocking write returned when its bytes were taken
}

func (blocking) readerErr() error { return nil }
func (blocking) released(*Conn)   {}

func (blocking) end(_ *Conn, fn func() error) error { return fn() }

// closeTransport may run while Loop.Add replaces nc (a CloseNow on
// another goroutine): then it closes whichever holds the socket now.
func (blocking) closeTransport(c *Conn, _ *CloseError) { c.transport().Close() }

// awaitClose reads, discarding data, until the peer's Close ends the
// connection or the deadline passes. Another reader may hold the read side
// meanwhile; then it sees the Close, and this waits for it to let go.
func (blocking) awaitClose(c *Conn, deadline time.Time, timer <-chan time.Time) {
	for {
		if !c.g.acquire(lockR, timer) {
			if c.closed() == nil {
				c.finish(c.stateError(ErrCloseTimeout))
			}
			return
		}
		c.nc.SetReadDeadline(deadline)
		for {
			if _, _, err := c.readEvent(nil, false); err != nil {
				if isTimeout(err) {
					c.finish(c.stateError(ErrCloseTimeout))
				}
				break
			}
			c.chunk = nil // discard data
		}
		c.g.release(lockR)
	}
}
