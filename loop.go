package websocket

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/internal/netpoll"
)

// Loop serves the reading side of many connections from a few goroutines,
// instead of one goroutine blocked in ReadMessage per connection. An idle
// connection served by a Loop costs its socket and its Conn, no goroutine
// stack and no read buffer (docs/performance.md has the measured figure).
//
// Hand a Conn to the loop with Add after the handshake (Upgrade, Accept or
// Dial). From then on the loop reads it: every data message arrives through
// LoopOptions.OnMessage, the end of the connection through
// LoopOptions.OnClose, and ReadMessage and NextReader return an error.
// Everything else works as usual, from any goroutine: WriteMessage,
// NextWriter, Ping, Close, CloseNow, write deadlines and the heartbeat
// (read deadlines have nothing to act on: the Loop never blocks on a read;
// the heartbeat is how a Loop detects a dead peer). Pings are answered, a
// peer's Close is answered and the connection closed, and protocol
// violations fail the connection, exactly as for a blocking reader.
//
// Close waits for the peer's Close, which the Loop reads; called while the
// connection's OnMessage runs (typically from OnMessage itself), it sends
// the Close frame and returns nil at once instead, and OnClose reports how
// the closing handshake ended.
//
// On Linux (amd64 and arm64) a Loop waits with epoll on a few poller
// goroutines and reads each connection without blocking when bytes arrive.
// Elsewhere, and for connections without a file descriptor (TLS), it falls
// back to a goroutine per connection with the same callbacks.
type Loop struct {
	opts    LoopOptions
	pollers []*poller
	next    atomic.Uint32
	closed  atomic.Bool
	// running counts the loop's goroutines (pollers, fallback readers)
	// and its callbacks in flight, for Shutdown.
	running atomic.Int64

	mu    sync.Mutex
	conns map[*Conn]struct{} // every connection served, for Close
}

// LoopOptions configure a Loop.
type LoopOptions struct {
	// OnMessage is called for every data message, with its type and
	// payload; p is valid only until OnMessage returns. It runs on a
	// poller goroutine shared by many connections: writes from it never
	// block (see WriteQueueLimit), but a slow computation delays the
	// other connections of that poller, so hand long work to another
	// goroutine. Required.
	OnMessage func(c *Conn, typ MessageType, p []byte)
	// OnClose, when set, is called once when a connection served by the
	// loop ends, with the connection's *CloseError (see Conn.CloseNow and
	// CloseError for what it tells). It runs on the goroutine that ended
	// the connection: a poller, a writer, a timer or the caller of Close.
	OnClose func(c *Conn, err error)
	// Pollers is the number of poller goroutines; 0 means GOMAXPROCS.
	Pollers int

	// WriteQueueLimit bounds, per connection, the bytes waiting for a
	// peer that reads slower than the application writes; 0 means
	// DefaultWriteQueueLimit. Writes to a connection a poller serves
	// never block (so OnMessage may write): what the socket does not
	// take now is queued and written when it takes bytes again, in
	// order. A write that would pass the limit is refused with
	// ErrWriteQueueFull before any of it is sent, unless the queue is
	// empty (a message larger than the limit goes to a peer that reads).
	// Connections without a descriptor (TLS) write from their own
	// goroutine, bounded by the write deadline, as outside a Loop.
	WriteQueueLimit int
	// QueueFullCode, when not 0, also closes a connection whose write
	// met a full queue, with this code (ClosePolicyViolation or
	// CloseTryAgainLater are the usual ones): the peer that does not
	// read is dropped instead of its messages.
	QueueFullCode CloseCode
}

func (o *LoopOptions) writeQueueLimit() int {
	if o.WriteQueueLimit > 0 {
		return o.WriteQueueLimit
	}
	return DefaultWriteQueueLimit
}

// lockLoop is a fourth lock bit (see lock.go), held for good by a Loop
// serving the connection: Close waits on it for the connection's end.
const lockLoop = lockMsg << 1

var (
	errLoopOwned = errors.New("websocket: the connection is read by a Loop; its messages arrive through LoopOptions.OnMessage")
	errLoopAdded = errors.New("websocket: the connection is already served by a Loop")
	// errLoopClosing stops a poller's serve when the peer's Close is
	// being answered on another goroutine.
	errLoopClosing = errors.New("websocket: closing")
)

// ErrLoopClosed is returned by Loop.Add after Close or Shutdown; Add has
// then closed the connection (CloseNow).
var ErrLoopClosed = errors.New("websocket: the Loop is closed")

// NewLoop starts a Loop's poller goroutines.
func NewLoop(opts *LoopOptions) (*Loop, error) {
	if opts == nil || opts.OnMessage == nil {
		return nil, errors.New("websocket: NewLoop needs LoopOptions.OnMessage")
	}
	l := &Loop{opts: *opts, conns: make(map[*Conn]struct{})}
	if netpoll.Supported {
		n := opts.Pollers
		if n <= 0 {
			n = runtime.GOMAXPROCS(0)
		}
		for range n {
			l.running.Add(1)
			p, err := newPoller(l)
			if err != nil {
				l.running.Add(-1)
				l.Close()
				return nil, err
			}
			l.pollers = append(l.pollers, p)
		}
	}
	return l, nil
}

// Add makes the loop read c from now on. c must have no read in progress
// (Add waits for one to return). Bytes that arrived with the handshake are
// delivered at once, on the calling goroutine.
func (l *Loop) Add(c *Conn) error {
	if l.closed.Load() {
		c.CloseNow()
		return ErrLoopClosed
	}
	if err := c.lockRead(); err != nil {
		return err
	}
	if c.lc.Load() != nil {
		c.unlockRead()
		return errLoopAdded
	}
	lc := &c.ls // inside the Conn: Add allocates nothing
	lc.l = l
	fd, ok := connFD(c.nc)
	if ok && len(l.pollers) > 0 {
		lc.p = l.pollers[int(l.next.Add(1))%len(l.pollers)]
		lc.fd = fd
	}
	c.g.tryAcquire(lockLoop) // for Close to wait on: never released
	// The write side moves from blocking writes to the queue: wait for a
	// write in progress.
	if !c.g.acquire(lockW, nil) {
		c.unlockRead()
		return c.closed()
	}
	var old net.Conn
	if lc.p != nil && !c.client {
		old = c.takeSocket(lc)
	}
	c.lc.Store(lc)
	c.g.release(lockW)
	buffered := c.r < c.w
	c.unlockRead()
	if old != nil {
		// Its descriptor only: the socket lives on in lc.sock.fd.
		old.Close()
	}

	l.mu.Lock()
	if l.closed.Load() {
		l.mu.Unlock()
		c.CloseNow()
		return ErrLoopClosed
	}
	l.conns[c] = struct{}{}
	l.mu.Unlock()
	if c.closed() != nil {
		// It ended meanwhile; finish did not see it registered.
		l.forget(c)
		return c.closed()
	}

	if lc.p == nil {
		l.running.Add(1)
		go l.readLoop(c)
		return nil
	}
	// Under lc.mu, so that a finish on another goroutine either sees the
	// registration (and removes it) or happened before (then c.closed()
	// says so here): the descriptor is never registered after it closed.
	lc.mu.Lock()
	if ce := c.closed(); ce != nil {
		lc.mu.Unlock()
		return ce
	}
	err := lc.p.add(c, lc)
	if err == nil && c.hb != nil {
		lc.p.hb.adopt(c)
	}
	lc.mu.Unlock()
	if err != nil {
		c.CloseNow()
		return err
	}
	if buffered {
		// Bytes that came with the handshake: no event will announce
		// them. Served here, with a buffer of our own (the poller's is
		// its goroutine's).
		var bufs serveBufs
		lc.l.running.Add(1)
		for lc.serve(c, &bufs) {
		}
		lc.l.running.Add(-1)
	}
	return nil
}

// Close closes every connection the loop serves, at once and without a
// closing handshake (call Conn.Close first for one, or use Shutdown), and
// stops the pollers. It does not wait for callbacks: an OnMessage or
// OnClose already running may still be finishing when Close returns
// (Shutdown waits for them).
func (l *Loop) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	l.closeAll()
	return nil
}

// served returns the connections the loop serves now.
func (l *Loop) served() []*Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	conns := make([]*Conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	return conns
}

// closeAll ends every connection and stops the pollers.
func (l *Loop) closeAll() {
	for _, c := range l.served() {
		c.CloseNow()
	}
	for _, p := range l.pollers {
		p.close()
	}
}

// Shutdown closes the loop gracefully, as http.Server.Shutdown does a
// server: Add refuses connections from now on; every connection the loop
// serves is sent a Close frame with CloseGoingAway (without waiting for
// one connection's answer before the next), and Shutdown waits for their
// closing handshakes, each bounded by the connection's CloseTimeout. Then
// it closes the loop as Close does and waits until its goroutines have
// stopped and no OnMessage or OnClose runs any more.
//
// If ctx ends first, the connections left are closed at once and
// Shutdown returns ctx.Err(). Called after Close, it only waits. It must
// not be called from OnMessage or OnClose: it would wait for that very
// callback until ctx ends.
func (l *Loop) Shutdown(ctx context.Context) error {
	if !l.closed.Swap(true) {
		for _, c := range l.served() {
			if ctx.Err() != nil {
				break
			}
			c.closeNoWait(CloseGoingAway, "")
		}
		err := waitUntil(ctx, func() bool {
			l.mu.Lock()
			defer l.mu.Unlock()
			return len(l.conns) == 0
		})
		l.closeAll()
		if err != nil {
			return err
		}
	}
	return waitUntil(ctx, func() bool { return l.running.Load() == 0 })
}

// waitUntil polls done, from every millisecond to every 50, until it
// holds or ctx ends.
func waitUntil(ctx context.Context, done func() bool) error {
	d := time.Millisecond
	t := time.NewTimer(d)
	defer t.Stop()
	for !done() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		d = min(2*d, 50*time.Millisecond)
		t.Reset(d)
	}
	return nil
}

// forget drops c from the loop's set.
func (l *Loop) forget(c *Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// readLoop is the fallback: a goroutine per connection.
func (l *Loop) readLoop(c *Conn) {
	defer l.running.Add(-1)
	var buf []byte
	for {
		typ, msg, err := c.readMessage(buf)
		if err != nil {
			if isTimeout(err) {
				continue // a read deadline the application set
			}
			return
		}
		buf = msg
		c.ls.inCallback.Store(true)
		l.opts.OnMessage(c, typ, msg)
		c.ls.inCallback.Store(false)
	}
}

// loopConn is a Conn's state in a Loop (Conn.ls, in use once Conn.lc
// points to it).
type loopConn struct {
	// The fields a message touches come first, in the order of their use
	// (l to typ, then q), so that they share the Conn's cache lines with
	// lc: on a server with many busy connections each message finds its
	// connection's lines cold, and every further line is a miss.
	l  *Loop
	p  *poller // nil: served by a goroutine (readLoop)
	fd int

	// busy counts the goroutines using fd (the poller reading it, writers
	// writing it), plus busyDetached once the connection ended: fd must
	// not be closed while one uses it (the number could be reused by a
	// new connection), so the last of them closes it (see enter, exit and
	// detach). An atomic word, not a mutex: it is taken and let go twice
	// per message (the read and the write).
	busy   atomic.Int32
	hangup atomic.Bool // an event reported Hangup; set for good
	// deferred: control frames wait in the state machine for room in q.
	deferred atomic.Bool
	// paused: reading stopped while control frames were deferred.
	paused atomic.Bool
	// closing: the connection is being closed on another goroutine after
	// a protocol error or the peer's Close; the poller leaves it alone.
	closing atomic.Bool
	// missed: a readiness event came while another goroutine held the
	// read side. Epoll is edge-triggered, so whoever holds it serves the
	// connection again when it lets go.
	missed atomic.Bool
	// inCallback: OnMessage is running for this connection (Close must
	// not wait for the Loop then: the Loop is waiting for OnMessage).
	inCallback atomic.Bool

	// nonblock makes the Conn's reads non-blocking reads of fd; set by
	// the poller while it holds the read side.
	nonblock bool
	// drained: a non-blocking read of this serveOnce returned less than
	// it asked for, so the socket was empty then. Epoll is
	// edge-triggered: bytes arriving after that read report the
	// descriptor again, so the read that would only return EAGAIN is
	// skipped (one system call less per message on an echo), unless the
	// peer's FIN was already reported (hangup): no new edge follows it,
	// so the read to EOF must not be skipped.
	drained bool
	// open and typ: a message is being received (its type is typ, the
	// opcode of its first frame); msg holds it when the socket ran dry
	// mid-message, nil otherwise, so an idle connection holds no message
	// buffer.
	open bool
	typ  frame.Opcode

	// q holds what the socket did not take (loopwrite.go).
	q writeQueue

	msg []byte

	// mu orders Add's registration with the poller against detach's
	// removal.
	mu sync.Mutex

	// sock holds the socket of a server connection over TCP that a
	// poller serves (Linux): Add took its descriptor over (fd) and closed
	// the net.Conn; it is then the Conn's nc.
	sock loopSocket
}

// busyDetached is the bit of loopConn.busy that detach sets.
const busyDetached = 1 << 30

// errWouldBlock is what a non-blocking read returns when the socket has no
// bytes; it counts as a timeout, so the Conn keeps its state and the
// message so far. A pointer of a concrete type, so that err ==
// errWouldBlock compares two words inline: compared with a variable of
// type error, an error is compared by a call to the runtime, and a Loop's
// path makes that comparison several times per message.
var errWouldBlock = &wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "websocket: no bytes ready" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

// maxServe bounds the messages delivered for one connection before the
// poller turns to the others that are ready.
const maxServe = 32

// serveBufs are the buffers a goroutine serving Loop connections lends
// them, one connection at a time.
type serveBufs struct {
	// msg assembles a message that arrives in pieces (which serve may
	// grow), unless one is already in loopConn.msg.
	msg []byte
	// rd, on a poller, is the read buffer each connection it serves is
	// read into (nil elsewhere: the connection's own buffer is used).
	rd *[]byte
}

// pollerReadBuf is the size of a poller's read buffer: one read takes a
// 16 KiB message whole, or many small ones.
const pollerReadBuf = 64 << 10

// pollerReadBufs hold the pollers' read buffers, and those a connection
// keeps while it has frames left in one (see returnReadBuf).
var pollerReadBufs = sync.Pool{New: func() any {
	b := make([]byte, pollerReadBuf)
	return &b
}}

// lendReadBuf points c's read buffer at the poller's for one serve: a
// ready connection is read into it up to its length at once, and its
// frames are parsed where they lie. The few bytes c holds (an unfinished
// frame header) move into it first. The caller holds the read side.
func (c *Conn) lendReadBuf(rd []byte) {
	part := c.rbuf[c.r:c.w]
	if len(part) > len(rd) {
		return // cannot happen (see returnReadBuf); read as before
	}
	n := copy(rd, part)
	c.releaseReadBuf()
	c.rbuf, c.rsrc, c.r, c.w = rd, rbufLent, 0, n
}

// returnReadBuf ends lendReadBuf. What c has not parsed (when the socket
// ran dry, at most an unfinished frame header: the state machine takes
// payload as it comes and keeps control frames itself) moves into c's
// inline buffer, so a connection never holds the poller's buffer between
// serves; unless more is left (serve stopped at maxServe with frames
// unread), then c keeps the buffer and the poller takes another from the
// pool. A buffer c kept that way is given back the same way at the end of
// a later serve, lent or not. The caller holds the read side.
func (c *Conn) returnReadBuf(bufs *serveBufs) {
	if c.rsrc != rbufLent && c.rsrc != rbufBig {
		return
	}
	part := c.rbuf[c.r:c.w]
	switch {
	case len(part) == 0 || c.closed() != nil:
		c.releaseReadBuf()
	case len(part) <= inlineRead:
		// part may lie in a buffer c kept: give that back only once
		// part is copied.
		kept := c.rbufp
		if c.rsrc == rbufLent {
			kept = nil
		}
		c.rbufp, c.rsrc = nil, rbufNone
		c.useInline()
		c.w = copy(c.rbuf, part)
		if kept != nil {
			pollerReadBufs.Put(kept)
		}
	case c.rsrc == rbufLent:
		c.rbufp, c.rsrc = bufs.rd, rbufBig
		bufs.rd = pollerReadBufs.Get().(*[]byte)
	}
}

// serve reads what c's socket holds and delivers the messages. It reports
// whether it stopped early (maxServe) with bytes possibly left.
func (lc *loopConn) serve(c *Conn, bufs *serveBufs) (more bool) {
	for {
		more, served := lc.serveOnce(c, bufs)
		// missed is read before it is swapped: almost always false,
		// and a load costs less than a swap.
		if !served || more || !lc.missed.Load() || !lc.missed.Swap(false) {
			return more
		}
		// An edge came while we held the read side: read again.
	}
}

// missedEdge is called by a goroutine that released the read side outside
// serve: it serves an edge that came meanwhile, with a buffer of its own.
func (lc *loopConn) missedEdge(c *Conn) {
	if lc.missed.Swap(false) {
		var bufs serveBufs
		lc.l.running.Add(1)
		for lc.serve(c, &bufs) {
		}
		lc.l.running.Add(-1)
	}
}

// serveOnce is one pass of serve; served is false when another goroutine
// held the read side (the edge is then left to it through missed).
func (lc *loopConn) serveOnce(c *Conn, bufs *serveBufs) (more, served bool) {
	if lc.closing.Load() {
		return false, true
	}
	if !c.g.tryAcquire(lockR) {
		lc.missed.Store(true)
		// The holder may have let go before it could see missed.
		if !c.g.tryAcquire(lockR) {
			return false, false
		}
		lc.missed.Store(false)
	}
	if !lc.enter(c) {
		c.g.release(lockR)
		return false, true
	}
	lc.nonblock, lc.drained = true, false
	if bufs.rd != nil {
		c.lendReadBuf(*bufs.rd)
	}
	// No defers: a panic in OnMessage ends the program anyway (nothing
	// recovers on a poller), and four deferred calls behind five returns
	// would not be open-coded.
	more = lc.deliver(c, bufs)
	c.returnReadBuf(bufs)
	lc.nonblock = false
	lc.exit(c)
	c.g.release(lockR)
	return more, true
}

// deliver is serveOnce's loop: it reads c's socket and delivers the
// messages, until the socket runs dry (false) or maxServe messages were
// delivered (true). The caller holds the read side and fd.
func (lc *loopConn) deliver(c *Conn, bufs *serveBufs) (more bool) {
	buf := &bufs.msg
	started := lc.open
	b := (*buf)[:0]
	if lc.open {
		b = lc.msg
	}
	for n := 0; ; {
		ev, direct, err := c.readEvent(&b, true)
		if err != nil {
			if err == errWouldBlock {
				if started && !lc.open {
					// The socket ran dry mid-message: the buffer
					// moves to the connection until the message is
					// complete, and the poller takes another.
					*buf = nil
				}
				if started {
					lc.msg, lc.open = b, true
				}
				if c.r == c.w && c.rsrc != rbufLent {
					c.releaseReadBuf()
				}
			}
			return false
		}
		if ev.First {
			lc.typ, started = ev.Opcode, true
		}
		msg := ev.Data
		if !ev.First || !ev.Final || direct {
			// A message in pieces is assembled in b; one that came
			// whole in one event is delivered where it lies (the read
			// buffer), without a copy.
			if !direct {
				b = c.appendData(b, ev.Data)
			}
			if !ev.Final {
				continue
			}
			msg = b
		}
		lc.inCallback.Store(true)
		lc.l.opts.OnMessage(c, MessageType(lc.typ), msg)
		lc.inCallback.Store(false)
		// Keep the larger buffer for the next messages, up to a bound.
		if lc.open {
			lc.msg, lc.open = nil, false
		}
		if cap(b) >= cap(*buf) && cap(b) <= maxPollerBuf {
			*buf = b[:0]
		}
		b, started = (*buf)[:0], false
		if n++; n == maxServe || c.closed() != nil || lc.closing.Load() {
			return n == maxServe
		}
	}
}

// maxPollerBuf bounds the message buffer a poller keeps between messages.
const maxPollerBuf = 4 << 20

// takeSocket makes lc own the socket of c, a server connection a poller
// will serve, when it is TCP: an idle connection then holds its
// descriptor, and no net.TCPConn, net.netFD or runtime poll descriptor.
// It returns the net.Conn that lc.sock replaced, for the caller to close
// once nothing uses it, or nil. The caller holds the read and the write
// side. A connection that ended already keeps its net.Conn: whoever ended
// it closed that, and closes nothing else.
func (c *Conn) takeSocket(lc *loopConn) net.Conn {
	if !lc.sock.take(c.nc) {
		return nil
	}
	c.smu.Lock()
	if c.closed() != nil {
		c.smu.Unlock()
		lc.sock.untake()
		return nil
	}
	// From here on a finish on another goroutine closes lc.sock (it
	// reads nc under smu).
	old := c.nc
	c.nc = &lc.sock
	lc.fd = int(lc.sock.fd)
	c.smu.Unlock()
	return old
}

// socketConn is NetConn for a connection whose socket lc took over.
func (lc *loopConn) socketConn(c *Conn) net.Conn {
	if !lc.enter(c) {
		return &lc.sock // closed: its addresses still answer
	}
	defer lc.exit(c)
	return lc.sock.netConn()
}

// enter marks fd in use by the caller, unless the connection ended.
func (lc *loopConn) enter(c *Conn) bool {
	if c.closed() != nil {
		return false
	}
	for {
		n := lc.busy.Load()
		if n&busyDetached != 0 {
			return false
		}
		if lc.busy.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// exit ends a use of fd: the last use after detach closes the socket.
// Once busyDetached is set no enter succeeds, so the count only falls,
// and exactly one exit (or detach itself, when it found none) sees it
// reach zero.
func (lc *loopConn) exit(c *Conn) {
	if lc.busy.Add(-1) == busyDetached {
		c.nc.Close()
	}
}

// detach is called when the connection ended: the poller forgets it, and
// the caller closes the socket itself unless the poller or a writer is
// using it (then the last of them does).
func (lc *loopConn) detach(c *Conn) (closeNow bool) {
	lc.l.forget(c)
	if lc.p == nil {
		return true
	}
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.p.remove(c, lc)
	return lc.busy.Or(busyDetached) == 0
}

// The Loop's driver (see driver): a connection a poller serves reads and
// writes its descriptor without blocking; one served by a goroutine of its
// own (lc.p == nil: TLS, or no epoll) does blocking I/O on that goroutine,
// as outside a Loop.

func (lc *loopConn) read(c *Conn, p []byte) (int, error) {
	if lc.nonblock {
		if lc.deferred.Load() {
			// Our control frames wait for room in the queue: read no
			// more from a peer that does not read ours (its Pings
			// would be answered by nothing). drain resumes it.
			lc.paused.Store(true)
			return 0, errWouldBlock
		}
		if lc.drained && !lc.hangup.Load() {
			return 0, errWouldBlock
		}
		n, err := rawRead(lc.fd, p)
		lc.drained = err == nil && n < len(p)
		return n, err
	}
	return blocking{}.read(c, p)
}

func (lc *loopConn) write(c *Conn, b []byte) (int, error) {
	if lc.p == nil {
		return blocking{}.write(c, b)
	}
	return lc.queueWrite(c, b, nil)
}

func (lc *loopConn) writev(c *Conn, b, p []byte) (int64, error) {
	if lc.p == nil {
		return blocking{}.writev(c, b, p)
	}
	n, err := lc.queueWrite(c, b, p)
	return int64(n), err
}

// setWriteDeadline: writes never block; the deadline bounds flushed only.
func (lc *loopConn) setWriteDeadline(c *Conn, t time.Time) error {
	if lc.p == nil {
		return blocking{}.setWriteDeadline(c, t)
	}
	if t.IsZero() {
		lc.q.deadline.Store(0)
	} else {
		lc.q.deadline.Store(t.UnixNano())
	}
	return nil
}

func (lc *loopConn) readerErr() error { return errLoopOwned }

func (lc *loopConn) released(c *Conn) { lc.missedEdge(c) }

// end: a poller does not wait for the Close frames to go out or, as a
// client, for the server to close; that goes on on a goroutine.
func (lc *loopConn) end(c *Conn, fn func() error) error {
	if !lc.nonblock {
		return fn()
	}
	lc.closing.Store(true)
	go fn()
	return errLoopClosing
}

func (lc *loopConn) closeTransport(c *Conn, ce *CloseError) {
	if lc.detach(c) {
		c.nc.Close()
	}
	lc.q.release()
	if lc.l.opts.OnClose != nil {
		lc.l.running.Add(1)
		lc.l.opts.OnClose(c, ce)
		lc.l.running.Add(-1)
	}
}

// awaitClose: the Loop reads the peer's Close. Called from OnMessage, Close
// does not wait for it (the Loop is waiting for OnMessage): OnClose
// reports how the handshake ended.
func (lc *loopConn) awaitClose(c *Conn, deadline time.Time, timer <-chan time.Time) {
	if lc.inCallback.Load() {
		// No waiting here, but the handshake is bounded all the same: a
		// peer that never answers is cut off at the deadline.
		c.endBy(deadline)
		return
	}
	c.g.acquire(lockLoop, timer) // held by the Loop: returns at the end or the timeout
	if c.closed() == nil {
		c.finish(c.stateError(ErrCloseTimeout))
	}
}

// poller is one goroutine waiting on one epoll instance.
type poller struct {
	l  *Loop
	np *netpoll.Poller

	// conns holds the connections by file descriptor. The poller looks
	// them up without a lock, once per event; add and remove change
	// them under mu, and a table that grows is copied and replaced
	// before the descriptor is registered, so an event always finds its
	// connection in the table loaded after epoll_wait returned it.
	mu    sync.Mutex
	conns atomic.Pointer[[]atomic.Pointer[Conn]]

	bufs  serveBufs // lent to the connections it serves
	again []*Conn
	ready []*Conn // the connections of one Wait's events, in their order

	hb hbWheel // the heartbeats of its connections (loopheartbeat.go)

	warmed uint32 // what warm returned, summed: keeps its loads
}

func newPoller(l *Loop) (*poller, error) {
	np, err := netpoll.New()
	if err != nil {
		return nil, err
	}
	p := &poller{l: l, np: np, ready: make([]*Conn, 0, pollEvents)}
	p.bufs.rd = pollerReadBufs.Get().(*[]byte)
	go p.run()
	return p, nil
}

func (p *poller) add(c *Conn, lc *loopConn) error {
	p.mu.Lock()
	tp := p.conns.Load()
	if tp == nil || lc.fd >= len(*tp) {
		p.conns.Store(grownTable(tp, lc.fd))
		tp = p.conns.Load()
	}
	(*tp)[lc.fd].Store(c)
	p.mu.Unlock()
	return p.np.AddReadWrite(lc.fd, uint64(lc.fd))
}

// grownTable returns a copy of the table *tp (nil: none) with room for
// descriptor fd. The caller holds the poller's mu.
func grownTable(tp *[]atomic.Pointer[Conn], fd int) *[]atomic.Pointer[Conn] {
	var t []atomic.Pointer[Conn]
	if tp != nil {
		t = *tp
	}
	nt := make([]atomic.Pointer[Conn], max(fd+1, 2*len(t), 64))
	for i := range t {
		nt[i].Store(t[i].Load())
	}
	return &nt
}

func (p *poller) remove(c *Conn, lc *loopConn) {
	p.mu.Lock()
	if tp := p.conns.Load(); tp != nil && lc.fd < len(*tp) {
		(*tp)[lc.fd].CompareAndSwap(c, nil)
	}
	p.mu.Unlock()
	p.np.Remove(lc.fd)
	if c.hb != nil {
		p.hb.remove(c)
	}
}

// warm loads a word from each cache line of c that serving a message
// touches and that may be read without c's locks (atomics, and fields set
// once when c was made), and returns something of them so that the loads
// stay. See poller.run.
func (c *Conn) warm() uint32 {
	var w uint32
	if c.opts != nil {
		w++
	}
	if c.tr != nil {
		w++
	}
	w += c.g.state.Load()
	w += uint32(c.readLimit.Load())
	if c.ctrlPending.Load() {
		w++
	}
	if c.mwOpen.Load() {
		w++
	}
	if lc := c.lc.Load(); lc != nil {
		w += uint32(lc.busy.Load()) + uint32(lc.q.n.Load())
	}
	if c.closed() != nil {
		w++
	}
	return w
}

// lookup returns the connection registered with descriptor fd, or nil.
// Only the poller's goroutine calls it.
func (p *poller) lookup(fd int) *Conn {
	if tp := p.conns.Load(); tp != nil && uint(fd) < uint(len(*tp)) {
		return (*tp)[fd].Load()
	}
	return nil
}

func (p *poller) close() { p.np.Close() }

// pollEvents is the most events one Wait of a poller returns.
const pollEvents = 128

func (p *poller) run() {
	defer p.l.running.Add(-1)
	events := make([]netpoll.Event, pollEvents)
	for {
		n, err := p.np.Wait(events)
		if err != nil {
			return
		}
		// Find the connections first, and load a word of each cache
		// line a message uses in them: with many busy connections their
		// state is cold by the time an event comes, and these loads,
		// independent of one another, overlap, where serving the
		// connections one by one would meet each miss alone, between
		// system calls.
		ready := p.ready[:0]
		var warm uint32
		for _, ev := range events[:n] {
			c := p.lookup(int(ev.Token))
			if c != nil {
				warm += c.warm()
			}
			ready = append(ready, c)
		}
		p.warmed += warm
		for i, ev := range events[:n] {
			c := ready[i]
			if c == nil {
				continue
			}
			ready[i] = nil
			lc := c.lc.Load()
			if lc == nil {
				continue
			}
			// drain runs under the queue's lock: a writer that just
			// found the socket full may not have queued its rest yet.
			if ev.Hangup {
				lc.hangup.Store(true)
			}
			resume := ev.Writable && lc.drain(c)
			if (ev.Readable || resume) && lc.serve(c, &p.bufs) {
				p.again = append(p.again, c)
			}
		}
		// Connections that had more to deliver, round-robin until all
		// are drained.
		for len(p.again) > 0 {
			busy := p.again
			p.again = p.again[len(p.again):]
			for i, c := range busy {
				if c.lc.Load().serve(c, &p.bufs) {
					p.again = append(p.again, c)
				}
				busy[i] = nil
			}
		}
		p.again = p.again[:0]
	}
}
