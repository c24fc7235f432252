package websocket

import (
	"errors"
	"net"
	"runtime"
	"sync"
	"syscall"
)

// ErrBroadcastBacklog is the error a Hub reports (Hub.OnDrop) for a
// connection it dropped because it fell behind: its backlog of
// broadcast messages not yet written was full, or, on a connection served
// by a Loop, its write queue was (ErrWriteQueueFull, matched too). The hub
// closes such a connection with 1008 (ClosePolicyViolation).
var ErrBroadcastBacklog = errors.New("websocket: broadcast backlog full: the connection reads slower than the hub broadcasts; it was dropped and closed with 1008")

type backlogError struct{ err error }

func (e *backlogError) Error() string        { return ErrBroadcastBacklog.Error() + ": " + e.err.Error() }
func (e *backlogError) Unwrap() error        { return e.err }
func (e *backlogError) Is(target error) bool { return target == ErrBroadcastBacklog }

// DefaultHubBacklog is the per-connection backlog of a Hub whose Backlog
// is 0.
const DefaultHubBacklog = 256

// Hub broadcasts PreparedMessages to a set of connections so that a slow
// connection never delays the others. The zero Hub is ready to use.
//
// A connection served by a Loop is written to directly by Broadcast: its
// writes never block (they are queued, see LoopOptions). So is a server
// connection on a TCP or Unix socket with nothing waiting, as long as its
// socket takes the message at once. Any other connection, or one whose
// socket is full, has a backlog of at most Backlog messages not yet
// written, drained by a writer goroutine that runs only while the backlog
// is not empty (an idle member holds no goroutine); since the messages
// are shared PreparedMessages, a connection's backlog costs a pointer per
// message, whatever their size. With many connections Broadcast spreads
// the direct writes over up to GOMAXPROCS goroutines, since each is a
// system call. Broadcast only writes what a socket takes at once and
// queues the rest: it never waits for a connection.
//
// A connection that falls behind (its backlog or its Loop write queue is
// full when a message arrives) is dropped: it leaves the hub, receives no
// further message, and is closed with 1008 (ClosePolicyViolation, reason
// "broadcast backlog full") in the background, bounded by its
// Options.CloseTimeout; then OnDrop is called with an error matching
// ErrBroadcastBacklog. Every message it received before, it received in
// order. A connection whose write fails otherwise (it was closed, a write
// deadline expired) is dropped the same way with that error, and closed
// too. Broadcasts are delivered to every connection in the order of the
// Broadcast calls.
type Hub struct {
	// Backlog is the number of messages a connection not served by a
	// Loop may have waiting before it is dropped; 0 means
	// DefaultHubBacklog.
	Backlog int
	// OnDrop, if set, is called (on a goroutine of the hub's) for every
	// connection the hub dropped, after its Close returned.
	OnDrop func(c *Conn, err error)

	mu      sync.Mutex
	members map[*Conn]*hubMember
	wg      sync.WaitGroup // writer and closing goroutines
	closed  bool
	direct  []*hubMember // Broadcast's scratch: the members written directly
	errs    []error      // and their writes' errors
	writers []*rawWriter // one per goroutine of writeDirect
}

type hubMember struct {
	c  *Conn
	rc syscall.RawConn // a server connection's plain socket, else nil

	// The backlog of a connection not served by a Loop: q[head:] waits
	// to be written, by a writer goroutine while running. (80 bytes in
	// all, the size class of an idle member.)
	q       []*PreparedMessage
	head    int
	inline  [1]*PreparedMessage // q's backing array while it holds one
	mu      sync.Mutex
	loop    bool // served by a Loop: written to by Broadcast itself
	running bool
	gone    bool // left the hub: write nothing more
}

// flushMark in a member's backlog has its writer write what an
// interrupted direct write left owed (Conn.flushOwed).
var flushMark = new(PreparedMessage)

// idle reports whether m has nothing waiting and no writer, so that a
// direct write keeps its order.
func (m *hubMember) idle() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.running && m.head == len(m.q) && !m.gone
}

// leave stops m's writes: its writer, if one runs, starts no other
// message, and what waits is discarded.
func (m *hubMember) leave() {
	if m.loop {
		return
	}
	m.mu.Lock()
	m.gone = true
	m.resetLocked()
	m.mu.Unlock()
}

// resetLocked empties m's backlog, back to its inline array so that an
// idle member holds no buffer. The caller holds m.mu.
func (m *hubMember) resetLocked() {
	clear(m.q[m.head:])
	m.q, m.head = m.inline[:0], 0
}

// push adds pm to m's backlog unless it holds limit messages already, and
// says whether a writer must be started.
func (m *hubMember) push(pm *PreparedMessage, limit int) (ok, start bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gone || len(m.q)-m.head >= limit {
		return false, false
	}
	if m.head > 0 && len(m.q) == cap(m.q) {
		n := copy(m.q, m.q[m.head:])
		clear(m.q[n:])
		m.q, m.head = m.q[:n], 0
	}
	m.q = append(m.q, pm)
	start = !m.running
	m.running = true
	return true, start
}

// next takes the message to write next, or reports that the backlog is
// empty (or m left the hub), in which case the writer must end.
func (m *hubMember) next() *PreparedMessage {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gone || m.head == len(m.q) {
		m.running = false
		m.resetLocked()
		return nil
	}
	pm := m.q[m.head]
	m.q[m.head] = nil
	m.head++
	return pm
}

var errHubClosed = errors.New("websocket: Hub.Add after Hub.Close")

// Add puts c in the hub: it receives every message broadcast from now on.
// A connection served by a Loop must be added after the Loop serves it
// (from OnOpen, for example). Adding a connection twice does nothing.
func (h *Hub) Add(c *Conn) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return errHubClosed
	}
	if h.members == nil {
		h.members = make(map[*Conn]*hubMember)
	}
	if h.members[c] != nil {
		return nil
	}
	m := &hubMember{c: c, loop: c.lc.Load() != nil}
	m.q = m.inline[:0]
	if rawIO && !m.loop && !c.client && c.aw == nil {
		var sc syscall.Conn
		switch nc := c.transport().(type) { // Loop.Add may be replacing nc
		case *net.TCPConn:
			sc = nc
		case *net.UnixConn:
			sc = nc
		}
		if sc != nil {
			m.rc, _ = sc.SyscallConn()
		}
	}
	h.members[c] = m
	return nil
}

// Remove takes c out of the hub (call it when the connection ends); its
// messages still waiting are discarded. It does not close c.
func (h *Hub) Remove(c *Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m := h.members[c]; m != nil {
		delete(h.members, c)
		m.leave()
	}
}

// Len returns the number of connections in the hub.
func (h *Hub) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.members)
}

// Broadcast sends pm to every connection in the hub without waiting for
// any of them, and returns the number of connections that got it (sent or
// queued); the others were dropped (see Hub).
func (h *Hub) Broadcast(pm *PreparedMessage) int {
	if pm == nil {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	direct := h.direct[:0]
	backlog := h.Backlog
	if backlog <= 0 {
		backlog = DefaultHubBacklog
	}
	for _, m := range h.members {
		if m.loop || m.rc != nil && m.idle() {
			direct = append(direct, m)
			continue
		}
		ok, start := m.push(pm, backlog)
		if !ok {
			h.dropLocked(m, ErrBroadcastBacklog)
			continue
		}
		n++
		if start {
			h.wg.Add(1)
			go h.writer(m)
		}
	}
	h.direct = direct
	for i, err := range h.writeDirect(direct, pm) {
		if err == nil {
			n++
			continue
		}
		if errors.Is(err, ErrWriteQueueFull) {
			err = &backlogError{err}
		}
		h.dropLocked(direct[i], err)
	}
	clear(direct) // hold no member after the call
	return n
}

// hubParallelMin is the number of Loop-served members per goroutine below
// which Broadcast writes from the calling goroutine alone.
const hubParallelMin = 512

// writeDirect writes pm to Loop-served members and returns each write's
// error. Their writes never block, but each is a system call: with many
// members they are spread over up to GOMAXPROCS goroutines, so that the
// calls on different sockets run on every core. It returns when all are
// done, so broadcasts stay in order.
func (h *Hub) writeDirect(ms []*hubMember, pm *PreparedMessage) []error {
	if cap(h.errs) < len(ms) {
		h.errs = make([]error, len(ms))
	}
	errs := h.errs[:len(ms)]
	clear(errs)
	workers := max(1, min(runtime.GOMAXPROCS(0), len(ms)/hubParallelMin))
	for len(h.writers) < workers {
		h.writers = append(h.writers, newRawWriter())
	}
	write := func(lo, hi int, w *rawWriter) {
		for i := lo; i < hi; i++ {
			errs[i] = h.writeOne(ms[i], pm, w)
		}
	}
	if workers == 1 {
		write(0, len(ms), h.writers[0])
		return errs
	}
	var wg sync.WaitGroup
	chunk := (len(ms) + workers - 1) / workers
	for k, lo := 1, chunk; lo < len(ms); k, lo = k+1, lo+chunk {
		wg.Add(1)
		go func() {
			defer wg.Done()
			write(lo, min(lo+chunk, len(ms)), h.writers[k])
		}()
	}
	write(0, chunk, h.writers[0])
	wg.Wait()
	return errs
}

// writeOne writes pm to m directly: a Loop's connection never blocks; a
// plain socket's gets only what its socket takes at once, and the rest
// (or the whole message) goes to m's backlog and writer.
func (h *Hub) writeOne(m *hubMember, pm *PreparedMessage, w *rawWriter) error {
	if m.loop {
		return m.c.WritePreparedMessage(pm)
	}
	written, flush, err := m.c.tryWritePrepared(w, m.rc, pm)
	switch {
	case err != nil:
		return err
	case !written:
		h.enqueue(m, pm)
	case flush:
		h.enqueue(m, flushMark)
	}
	return nil
}

// enqueue adds pm to m's backlog, empty since Broadcast found m idle, and
// starts m's writer.
func (h *Hub) enqueue(m *hubMember, pm *PreparedMessage) {
	if _, start := m.push(pm, 1); start {
		h.wg.Add(1)
		go h.writer(m)
	}
}

// Close removes every connection from the hub (without closing them) and
// waits for the hub's goroutines, including the closing of dropped
// connections. Add fails afterwards.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	for c, m := range h.members {
		delete(h.members, c)
		m.leave()
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// dropLocked removes m and closes its connection in the background.
func (h *Hub) dropLocked(m *hubMember, err error) {
	if h.members[m.c] != m {
		return // already removed
	}
	delete(h.members, m.c)
	m.leave()
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		m.c.Close(ClosePolicyViolation, "broadcast backlog full")
		if h.OnDrop != nil {
			h.OnDrop(m.c, err)
		}
	}()
}

// writer writes m's backlog until it is empty or m left the hub.
func (h *Hub) writer(m *hubMember) {
	defer h.wg.Done()
	for pm := m.next(); pm != nil; pm = m.next() {
		var err error
		if pm == flushMark {
			err = m.c.flushOwed()
		} else {
			err = m.c.WritePreparedMessage(pm)
		}
		if err != nil {
			h.mu.Lock()
			h.dropLocked(m, err)
			h.mu.Unlock()
			return
		}
	}
}
