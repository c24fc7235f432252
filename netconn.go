package websocket

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// NetConn returns a net.Conn whose bytes travel as the data messages of c,
// for tunnelling another protocol (HTTP/1.1, SSH, a database protocol)
// through a WebSocket. It is a different thing from the method
// Conn.NetConn, which returns the socket under c.
//
// The messages form one byte stream:
//
//   - Each Write sends p as one message of type typ (Text or Binary); a
//     Write of zero bytes sends nothing. With Text, each Write must be
//     whole UTF-8 on its own (else ErrInvalidText, and nothing is sent):
//     prefer Binary for a byte stream. The peer's message limit
//     (Options.MaxMessageSize, 32 MiB by default) bounds one Write.
//   - Read returns the payloads of the received messages in order; a
//     Read returns bytes of one message at most, and the next Read goes
//     on with the rest of it or with the next message. Messages of zero
//     bytes are skipped. A message of the other type fails the stream: c
//     is closed with CloseUnsupportedData (1003) and Read returns an error
//     whose CloseStatus is 1003.
//
// Deadlines behave as on a TCP connection, with hybi's promise on top: a
// Read or Write that passes its deadline (SetDeadline, SetReadDeadline,
// SetWriteDeadline; a deadline already in the past fails at once, also
// when bytes are buffered) returns an error satisfying
// errors.Is(err, os.ErrDeadlineExceeded) and net.Error's Timeout(), and
// the WebSocket underneath stays open: after the deadline is moved, the
// next Read resumes exactly where the last one stopped. A Write whose
// deadline passed after its message was committed returns len(p) with an
// error that also matches ErrWriteQueued: the rest of the message goes out
// before the next one, so the Write must not be repeated. net/http's
// server relies on this: it interrupts its background read with a past
// deadline and then reads the next request on the same connection.
//
// Close sends a normal Close (1000) and waits for the closing handshake,
// at most Options.CloseTimeout (as Conn.Close). It may be called at any
// time from any goroutine; a blocked Read or Write then returns. After
// Close, every method returns an error matching net.ErrClosed. When the
// peer ends the stream with a clean close (a Close frame with 1000, 1001
// or no code), Read returns io.EOF; any other end is a *net.OpError
// wrapping the *CloseError that says how the connection ended (the peer's
// code, or 1006 and the cause when the transport failed).
//
// ctx bounds the lifetime of the net.Conn: when it ends, the net.Conn is
// closed as by Close, and errors then also match context.Cause(ctx). A
// deadline of ctx is not a Read or Write deadline.
//
// LocalAddr and RemoteAddr are those of the connection under c. All
// methods are safe for concurrent use. In steady state Read and Write
// allocate nothing (TestNetConnZeroAllocs).
//
// Once c is wrapped, its own reading and writing methods must not be used,
// since the net.Conn owns the stream; Ping, SetReadLimit and the heartbeat
// of Options are fine. NetConn does not work on a Conn served by a Loop.
func NetConn(ctx context.Context, c *Conn, typ MessageType) net.Conn {
	nc := &netConn{c: c, typ: typ}
	if _, err := typ.opcode(); err != nil {
		nc.bad = err
	}
	if ctx.Done() != nil {
		nc.stop = context.AfterFunc(ctx, func() {
			nc.close(&ctxClosedError{cause: context.Cause(ctx)})
		})
	}
	return nc
}

// netConn is the net.Conn NetConn returns.
type netConn struct {
	c    *Conn
	typ  MessageType
	bad  error       // typ is not Text or Binary
	stop func() bool // stops the context's AfterFunc, nil if none

	// rmu guards r, the reader of the message being read (nil between
	// messages). It is held during a Read, so that concurrent Reads take
	// turns.
	rmu sync.Mutex
	r   io.Reader

	// closed is set once, by Close or when ctx ends, to why the net.Conn
	// is closed.
	closed atomic.Pointer[closeCause]
}

type closeCause struct{ err error }

// ctxClosedError is why a net.Conn whose context ended is closed: it
// matches net.ErrClosed and the context's cause.
type ctxClosedError struct{ cause error }

func (e *ctxClosedError) Error() string {
	return "websocket: net.Conn closed: context ended: " + e.cause.Error()
}
func (e *ctxClosedError) Unwrap() []error { return []error{net.ErrClosed, e.cause} }

// errNetConnClosed is why a net.Conn closed by Close is closed.
var errNetConnClosed = net.ErrClosed

// opError wraps err as net.Conn implementations do: a *net.OpError naming
// the operation and both addresses.
func (nc *netConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "websocket", Source: nc.c.LocalAddr(), Addr: nc.c.RemoteAddr(), Err: err}
}

// closedError returns the error of an operation on a closed net.Conn, or
// nil while it is open.
func (nc *netConn) closedError(op string) error {
	if cc := nc.closed.Load(); cc != nil {
		return nc.opError(op, cc.err)
	}
	return nil
}

// mapError turns an error of c into the error of the net.Conn operation
// op. Timeouts pass through unchanged (the stream stays usable).
func (nc *netConn) mapError(op string, err error) error {
	if err == nil {
		return nil
	}
	if err := nc.closedError(op); err != nil {
		return err
	}
	ce, ok := err.(*CloseError)
	if !ok {
		if isTimeout(err) {
			return err
		}
		return nc.opError(op, err)
	}
	if op == "read" && ce.Initiator == Peer && ce.Err == nil {
		switch ce.Code {
		case CloseNormal, CloseGoingAway, CloseNoStatus:
			return io.EOF
		}
	}
	return nc.opError(op, ce)
}

// Read reads the next bytes of the stream of message payloads.
func (nc *netConn) Read(p []byte) (int, error) {
	if err := nc.closedError("read"); err != nil {
		return 0, err
	}
	if nc.bad != nil {
		return 0, nc.opError("read", nc.bad)
	}
	if len(p) == 0 {
		return 0, nil
	}
	nc.rmu.Lock()
	defer nc.rmu.Unlock()
	c := nc.c
	for {
		// As on a socket, a deadline that has passed fails the read even
		// when bytes are buffered.
		if d := c.rdeadline.Load(); d != 0 && time.Now().UnixNano() >= d {
			return 0, os.ErrDeadlineExceeded
		}
		if nc.r == nil {
			typ, r, err := c.NextReader()
			if err != nil {
				return 0, nc.mapError("read", err)
			}
			if typ != nc.typ {
				return 0, nc.wrongType(typ)
			}
			nc.r = r
		}
		n, err := nc.r.Read(p)
		if err == io.EOF {
			nc.r = nil
			if n == 0 {
				continue // the next message
			}
			err = nil
		}
		if err != nil {
			return n, nc.mapError("read", err)
		}
		if n > 0 {
			return n, nil
		}
	}
}

// wrongType fails the stream on a message of the other type (RFC 6455
// §7.4.1: 1003, "it has received a type of data it cannot accept").
func (nc *netConn) wrongType(got MessageType) error {
	c := nc.c
	c.Close(CloseUnsupportedData, "net.Conn of "+nc.typ.String()+" messages")
	err := fmt.Errorf("websocket: net.Conn of %v messages received a %v message", nc.typ, got)
	if ce := c.closed(); ce != nil {
		err = fmt.Errorf("%w: %w", err, ce)
	}
	return nc.opError("read", err)
}

// Write sends p as one message.
func (nc *netConn) Write(p []byte) (int, error) {
	if err := nc.closedError("write"); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	err := nc.c.WriteMessage(nc.typ, p)
	if err == nil {
		return len(p), nil
	}
	if _, ok := err.(*queuedError); ok {
		// Committed: the rest goes out first on the next write.
		return len(p), err
	}
	return 0, nc.mapError("write", err)
}

// Close closes the stream with a normal Close (1000).
func (nc *netConn) Close() error {
	if !nc.close(errNetConnClosed) {
		return nc.opError("close", net.ErrClosed)
	}
	return nil
}

// close closes the net.Conn for reason why; it reports whether this call
// did it.
func (nc *netConn) close(why error) bool {
	if !nc.closed.CompareAndSwap(nil, &closeCause{err: why}) {
		return false
	}
	if nc.stop != nil {
		nc.stop()
	}
	// The result says whether the peer answered in time; the stream is
	// closed either way, like a socket whose close is not acknowledged.
	nc.c.Close(CloseNormal, "")
	return true
}

// LocalAddr returns the local address of the connection under the
// WebSocket.
func (nc *netConn) LocalAddr() net.Addr { return nc.c.LocalAddr() }

// RemoteAddr returns the remote address of the connection under the
// WebSocket.
func (nc *netConn) RemoteAddr() net.Addr { return nc.c.RemoteAddr() }

// SetDeadline sets the read and write deadlines.
func (nc *netConn) SetDeadline(t time.Time) error {
	if err := nc.SetReadDeadline(t); err != nil {
		return err
	}
	return nc.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline (see NetConn).
func (nc *netConn) SetReadDeadline(t time.Time) error {
	if err := nc.closedError("set read deadline"); err != nil {
		return err
	}
	return nc.c.SetReadDeadline(t)
}

// SetWriteDeadline sets the write deadline (see NetConn).
func (nc *netConn) SetWriteDeadline(t time.Time) error {
	if err := nc.closedError("set write deadline"); err != nil {
		return err
	}
	return nc.c.SetWriteDeadline(t)
}
