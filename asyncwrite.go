package websocket

import (
	"crypto/tls"
	"net"
	"os"
	"sync"
	"time"
)

// asyncWriter is the write path of a transport whose write side must never
// see a deadline. crypto/tls is one: once a write deadline fires on a
// tls.Conn, "the TLS state is corrupt and all future writes will return
// the same error" (crypto/tls, Conn.SetWriteDeadline), so a write timeout,
// which hybi promises never ends a connection, would end every wss
// connection it touched.
//
// The transport never gets a write deadline. Bytes are handed to a
// goroutine that writes them with none, in order; the caller waits for them
// to be written, bounded by the Conn's write deadline instead of the
// transport's. When the deadline passes first, the caller returns the
// timeout and the bytes it handed over keep flowing: the next write (or
// Flush, or Close) waits for them before its own. The goroutine exists
// only while bytes are outstanding, so an idle connection holds none, and
// every buffer goes back to its pool once written.
//
// A transport that stops taking bytes for good (the peer stopped reading)
// keeps the goroutine in Write until the transport is closed: by Close's
// timeout (CloseError.Err is ErrCloseTimeout), by the heartbeat
// (ErrHeartbeatTimeout), or by CloseNow. Callers are serialized by the
// Conn's write lock, so at most one waits at a time.
type asyncWriter struct {
	nc net.Conn

	mu       sync.Mutex
	pend     *[]byte // handed over, not yet taken by the goroutine
	inflight int     // bytes the goroutine is writing now
	running  bool    // the goroutine is running
	err      error   // the transport's write error, for good
	deadline int64   // unix nanos of the write deadline, 0: none

	wake  chan struct{} // signalled (never closed) on every change a waiter may care about
	timer *time.Timer   // the waiter's, reused
	runFn func()        // w.run, made once: go w.runFn() would allocate per start
}

// asyncPiece is the most bytes handed over at once: one pooled buffer.
// While the goroutine writes one piece, the caller fills the next.
const asyncPiece = 64 << 10

var asyncBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, asyncPiece)
	return &b
}}

// needsAsyncWrite reports whether nc's write side breaks for good when a
// write deadline fires.
func needsAsyncWrite(nc net.Conn) bool {
	_, ok := nc.(*tls.Conn)
	return ok
}

func newAsyncWriter(nc net.Conn) *asyncWriter {
	w := &asyncWriter{nc: nc, wake: make(chan struct{}, 1)}
	w.runFn = w.run
	return w
}

// signal wakes the waiter, if any. Called with mu held.
func (w *asyncWriter) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// setDeadline sets the deadline that bounds the caller's wait; a waiting
// caller sees the change at once.
func (w *asyncWriter) setDeadline(t time.Time) {
	w.mu.Lock()
	if t.IsZero() {
		w.deadline = 0
	} else {
		w.deadline = t.UnixNano()
	}
	w.signal()
	w.mu.Unlock()
}

// write hands b to the goroutine and waits until everything handed over so
// far (b and what earlier writes left) is written. It returns how many
// bytes of b were handed over: on a timeout they are committed and will be
// written; the rest, b[n:], is the caller's to keep. write(nil) waits for
// the outstanding bytes only.
func (w *asyncWriter) write(b []byte) (int, error) { return w.writev(b, nil) }

// writev is write of b followed by p, handed over together.
func (w *asyncWriter) writev(b, p []byte) (int, error) {
	n := 0
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		if w.err != nil {
			return n, w.err
		}
		if len(b) == 0 && len(p) > 0 {
			b, p = p, nil
		}
		if len(b) > 0 {
			if w.pend == nil {
				w.pend = asyncBufs.Get().(*[]byte)
			}
			if k := min(cap(*w.pend)-len(*w.pend), len(b)); k > 0 {
				*w.pend = append(*w.pend, b[:k]...)
				b, n = b[k:], n+k
				if !w.running {
					w.running = true
					go w.runFn()
				}
				continue
			}
		} else if !w.running {
			return n, nil // all written
		}
		// Wait for the goroutine, a deadline change or the deadline.
		var timeout <-chan time.Time
		if d := w.deadline; d != 0 {
			left := time.Duration(d - time.Now().UnixNano())
			if left <= 0 {
				// What is outstanding now is committed: it will be
				// written, so the error must say so, even if the
				// goroutine finishes a moment later.
				out := w.inflight
				if w.pend != nil {
					out += len(*w.pend)
				}
				if out > 0 {
					return n, &queuedError{err: os.ErrDeadlineExceeded, n: out + len(b) + len(p)}
				}
				if len(b) == 0 && len(p) == 0 {
					return n, nil // all written after all
				}
				return n, os.ErrDeadlineExceeded
			}
			if w.timer == nil {
				w.timer = time.NewTimer(left)
			} else {
				w.timer.Reset(left)
			}
			timeout = w.timer.C
		}
		w.mu.Unlock()
		select {
		case <-w.wake:
		case <-timeout:
		}
		w.mu.Lock()
		if w.timer != nil {
			w.timer.Stop()
		}
	}
}

// run writes the handed-over bytes until there are none, or the transport
// fails.
func (w *asyncWriter) run() {
	w.mu.Lock()
	for w.err == nil && w.pend != nil && len(*w.pend) > 0 {
		buf := w.pend
		w.pend = nil
		w.inflight = len(*buf)
		w.mu.Unlock()
		_, err := w.nc.Write(*buf)
		*buf = (*buf)[:0]
		asyncBufs.Put(buf)
		w.mu.Lock()
		w.inflight = 0
		if err != nil {
			w.err = err
		}
		w.signal()
	}
	if w.pend != nil && w.err != nil {
		// The transport failed: what was not written never will be.
		*w.pend = (*w.pend)[:0]
		asyncBufs.Put(w.pend)
		w.pend = nil
	}
	w.running = false
	w.signal()
	w.mu.Unlock()
}
