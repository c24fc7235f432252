package websocket

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultWriteQueueLimit is the LoopOptions.WriteQueueLimit used when it
// is 0.
const DefaultWriteQueueLimit = 1 << 20

// ErrWriteQueueFull is returned by a write to a connection served by a
// Loop whose peer reads slower than the application writes: the bytes the
// socket did not take would pass LoopOptions.WriteQueueLimit. Nothing of
// the refused frame was sent, the connection stays open (unless
// LoopOptions.QueueFullCode closes it) and later writes succeed once the
// peer catches up.
var ErrWriteQueueFull = errors.New("websocket: write queue full: the peer reads slower than the application writes; nothing of this message was sent")

// writeQueue holds what a Loop-served socket did not take: the write path
// of a connection a poller serves never blocks. A write tries the socket
// once (non-blocking); what is left is queued, in order, and the poller
// writes it when epoll reports the socket writable again. Bytes behind
// queued ones are queued too, so frames are never torn or reordered.
type writeQueue struct {
	mu   sync.Mutex
	buf  *[]byte // queued bytes (*buf)[off:]; nil when none
	off  int
	err  error         // the socket's write error, for good
	wait chan struct{} // closed when the queue empties; nil unless flushed waits

	n        atomic.Int64 // queued bytes, read without mu
	deadline atomic.Int64 // unix nanos bounding flushed, 0: none
	closing  atomic.Bool  // QueueFullCode's close was started
}

// queueBufs hold the first buffer of a queue; larger ones grow by append
// and are dropped when the queue empties.
var queueBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, asyncPiece)
	return &b
}}

// push queues b. The caller holds mu. The buffer grows to at most limit
// bytes while what it holds fits in limit (a frame admit lets past the
// limit grows it to just what it needs), and bytes already written are
// dropped from its front before it grows, so a peer's queue costs no more
// memory than the limit.
func (q *writeQueue) push(b []byte, limit int) {
	if len(b) == 0 {
		return
	}
	if q.buf == nil {
		q.buf = queueBufs.Get().(*[]byte)
		q.off = 0
	}
	if len(*q.buf)+len(b) > cap(*q.buf) {
		q.grow(len(b), limit)
	}
	*q.buf = append(*q.buf, b...)
	q.n.Add(int64(len(b)))
}

// grow makes room for n more bytes (see push). The caller holds mu.
func (q *writeQueue) grow(n, limit int) {
	old := *q.buf
	if q.off > 0 {
		m := copy(old, old[q.off:])
		old, q.off = old[:m], 0
		*q.buf = old
		if m+n <= cap(old) {
			return
		}
	}
	need := len(old) + n
	nb := make([]byte, len(old), max(need, min(2*cap(old), limit)))
	copy(nb, old)
	if cap(old) == asyncPiece {
		*q.buf = old[:0]
		queueBufs.Put(q.buf)
		q.buf = new([]byte)
	}
	*q.buf = nb
}

// pop drops n written bytes from the front. The caller holds mu.
func (q *writeQueue) pop(n int) {
	q.off += n
	q.n.Add(-int64(n))
	if q.off == len(*q.buf) {
		q.drop()
		if q.wait != nil {
			close(q.wait)
			q.wait = nil
		}
	}
}

// drop forgets the queued bytes. The caller holds mu.
func (q *writeQueue) drop() {
	if q.buf == nil {
		return
	}
	q.n.Add(-int64(len(*q.buf) - q.off))
	if cap(*q.buf) == asyncPiece {
		*q.buf = (*q.buf)[:0]
		queueBufs.Put(q.buf)
	}
	q.buf, q.off = nil, 0
}

// rawWriteLocked writes b to the socket once without blocking, or reports
// net.ErrClosed when the connection ended (its descriptor may already
// belong to another connection). The caller holds q.mu.
func (lc *loopConn) rawWriteLocked(c *Conn, b, p []byte) (int, error) {
	if !lc.enter(c) {
		return 0, net.ErrClosed
	}
	n, err := rawWritev(lc.fd, b, p)
	lc.exit(c)
	if err == errWouldBlock {
		err = nil
	}
	return n, err
}

// queueWrite writes b and then p: to the socket when nothing is queued,
// and queues what the socket did not take. It returns len(b)+len(p)
// unless the socket failed.
func (lc *loopConn) queueWrite(c *Conn, b, p []byte) (int, error) {
	q := &lc.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return 0, q.err
	}
	n := 0
	if q.buf == nil {
		var err error
		if n, err = lc.rawWriteLocked(c, b, p); err != nil {
			q.err = err
			return n, err
		}
	}
	limit := lc.l.opts.writeQueueLimit()
	if n < len(b) {
		q.push(b[n:], limit)
		q.push(p, limit)
	} else {
		q.push(p[n-len(b):], limit)
	}
	return len(b) + len(p), nil
}

// drain writes queued bytes when the poller reports the socket writable,
// then the control frames that waited for room (see admit). It reports
// whether reading, paused meanwhile, should resume.
func (lc *loopConn) drain(c *Conn) (resume bool) {
	q := &lc.q
	q.mu.Lock()
	if q.buf != nil && q.err == nil {
		n, err := lc.rawWriteLocked(c, (*q.buf)[q.off:], nil)
		if err != nil {
			q.err = err
		} else {
			q.pop(n)
		}
	}
	empty := q.buf == nil
	q.mu.Unlock()
	// The flags are loaded before they are swapped: drain runs for every
	// event (an edge-triggered registration reports the socket writable
	// with each read), and they are almost never set.
	if empty && lc.deferred.Load() && lc.deferred.Swap(false) {
		c.ctrlPending.Store(true)
		if c.tryLockWrite() {
			c.unlockWrite() // flushes the control frames
		} // else the holder does when it lets go
	}
	return !lc.deferred.Load() && lc.paused.Load() && lc.paused.Swap(false)
}

// admit applies the queue limit to n bytes (see driver.admit). An empty
// queue takes any frame, so that a message larger than the limit can still
// be sent to a peer that reads.
func (lc *loopConn) admit(c *Conn, n int, kind admitKind) error {
	if lc.p == nil {
		return nil
	}
	q := lc.q.n.Load()
	limit := int64(lc.l.opts.writeQueueLimit())
	if q == 0 || q+int64(n) <= limit {
		return nil
	}
	if kind == admitControl {
		// A peer that does not read gets no more than the limit; its
		// Pongs wait in the state machine, where a newer one replaces
		// an older (RFC 6455 §5.5.3), until drain makes room.
		lc.deferred.Store(true)
		return errWouldBlock
	}
	committed := kind == admitCommitted
	if committed && q+int64(n) <= 2*limit {
		// The frame must go (see compressedCommit); a peer that keeps
		// not reading meets the limit with the next uncommitted one.
		return nil
	}
	code := lc.l.opts.QueueFullCode
	if committed && code == 0 {
		code = ClosePolicyViolation
	}
	if code != 0 && lc.q.closing.CompareAndSwap(false, true) {
		// Close waits for the write side, held by the caller: on a
		// goroutine of its own, once per connection. Close returns at
		// once when OnMessage runs meanwhile (see Loop); a peer that
		// does not read never answers, so the wait for its Close is
		// bounded here in every case.
		go func() {
			c.Close(code, "write queue full")
			t := time.NewTimer(c.opts.closeTimeout())
			defer t.Stop()
			c.g.acquire(lockLoop, t.C) // held by the Loop: returns at the end or the timeout
			if c.closed() == nil {
				c.finish(c.stateError(ErrCloseTimeout))
			}
		}()
	}
	if committed {
		return nil
	}
	return ErrWriteQueueFull
}

// flushed waits until the queue is empty, up to the write deadline.
func (lc *loopConn) flushed(c *Conn) error {
	if lc.p == nil {
		return blocking{}.flushed(c)
	}
	q := &lc.q
	q.mu.Lock()
	if q.buf == nil || q.err != nil {
		err := q.err
		q.mu.Unlock()
		return err
	}
	if q.wait == nil {
		q.wait = make(chan struct{})
	}
	wait := q.wait
	q.mu.Unlock()
	var timeout <-chan time.Time
	if d := q.deadline.Load(); d != 0 {
		t := time.NewTimer(time.Until(time.Unix(0, d)))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-wait:
		return nil
	case <-timeout:
		return errWouldBlock
	}
}

// release drops the queue when the connection ends.
func (q *writeQueue) release() {
	q.mu.Lock()
	q.drop()
	if q.err == nil {
		q.err = net.ErrClosed
	}
	if q.wait != nil {
		close(q.wait)
		q.wait = nil
	}
	q.mu.Unlock()
}
