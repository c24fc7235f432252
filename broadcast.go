package websocket

import (
	"errors"
	"net"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// ErrBroadcastBacklog is the error a Hub reports (Hub.OnDrop) for a
// connection it dropped because it fell behind: its backlog of
// broadcast messages not yet written was full (Hub.Backlog messages while
// stalled, or Hub.MaxBacklogBytes), or, on a connection served by a Loop,
// its write queue was (ErrWriteQueueFull, matched too). The hub closes
// such a connection with 1008 (ClosePolicyViolation).
var ErrBroadcastBacklog = errors.New("websocket: broadcast backlog full: the connection reads slower than the hub broadcasts; it was dropped and closed with 1008")

type backlogError struct{ err error }

func (e *backlogError) Error() string        { return ErrBroadcastBacklog.Error() + ": " + e.err.Error() }
func (e *backlogError) Unwrap() error        { return e.err }
func (e *backlogError) Is(target error) bool { return target == ErrBroadcastBacklog }

// DefaultHubBacklog is the per-connection backlog of a Hub whose Backlog
// is 0.
const DefaultHubBacklog = 256

// DefaultHubStallTimeout is a Hub's StallTimeout when it is 0.
const DefaultHubStallTimeout = 5 * time.Second

// DefaultHubBacklogBytes is a Hub's MaxBacklogBytes when it is 0.
const DefaultHubBacklogBytes = 64 << 20

// Hub broadcasts PreparedMessages to a set of connections so that a slow
// connection never delays the others. The zero Hub is ready to use.
//
// A connection served by a Loop is written to directly by Broadcast: its
// writes never block (they are queued, see LoopOptions). So is a server
// connection on a TCP or Unix socket with nothing waiting, as long as its
// socket takes the message at once. Any other connection, or one whose
// socket is full, has a backlog of messages not yet written, drained by a
// writer goroutine that runs only while the backlog is not empty (an idle
// member holds no goroutine); since the messages are shared
// PreparedMessages, a connection's backlog costs a pointer per message,
// and all the backlogs together hold at most the messages of the longest
// one. With many connections Broadcast spreads the direct writes over up
// to GOMAXPROCS goroutines, since each is a system call. Broadcast only
// writes what a socket takes at once and queues the rest: it never waits
// for a connection.
//
// A connection that falls behind is dropped. Falling behind is being
// stalled, not being slower than a burst: a connection is dropped when a
// message arrives and its backlog holds Backlog messages while it has
// not finished writing one for StallTimeout (its peer stopped reading, or
// reads far slower than the hub broadcasts), or when the message would
// take its backlog past MaxBacklogBytes whatever its progress. So a
// burst of thousands of messages reaches every client that keeps
// reading, and the memory held for the slowest one stays bounded. On a
// connection served by a Loop, falling behind is a full write queue
// (LoopOptions.WriteQueueLimit, in bytes): raise it for bursts larger than
// its default. A dropped connection leaves the hub, receives no further
// message, and is closed with 1008 (ClosePolicyViolation, reason
// "broadcast backlog full") in the background, bounded by its
// Options.CloseTimeout; then OnDrop is called with an error matching
// ErrBroadcastBacklog. Every message it received before, it received in
// order. A connection whose write fails otherwise (it was closed, a write
// deadline expired) is dropped the same way with that error, and closed
// too. Broadcasts are delivered to every connection in the order of the
// Broadcast calls.
type Hub struct {
	// Backlog is the number of messages a connection not served by a
	// Loop may have waiting before it counts as behind; 0 means
	// DefaultHubBacklog. A connection that is behind is dropped if it
	// has not finished writing a message for StallTimeout.
	Backlog int
	// StallTimeout is how long a connection whose backlog is full may go
	// without finishing a write before it is dropped; 0 means
	// DefaultHubStallTimeout, and a negative value drops it as soon as
	// its backlog is full.
	StallTimeout time.Duration
	// MaxBacklogBytes bounds the bytes waiting for one connection not
	// served by a Loop (their payloads and 16 bytes per message), stalled
	// or not (a message larger than it is
	// still queued when nothing else waits); 0 means
	// DefaultHubBacklogBytes. Since the backlogs share their messages,
	// it also bounds what all of them hold together.
	MaxBacklogBytes int
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
	// to be written, by a writer goroutine while running; bytes is the
	// payload bytes waiting (saturating), progress the instant on
	// hubClock at which the writer started or last finished a write.
	// (80 bytes in all, the size class of an idle member.)
	q        []*PreparedMessage
	head     int32
	bytes    uint32
	inline   [1]*PreparedMessage // q's backing array while it holds one
	mu       sync.Mutex
	loop     bool // served by a Loop: written to by Broadcast itself
	running  bool
	gone     bool // left the hub: write nothing more
	progress uint32
}

// hubPolicy is what makes a member fall behind (see Hub).
type hubPolicy struct {
	backlog  int
	stall    uint32 // in hubClock units (ms); 0: on the count alone
	maxBytes int
}

// hubEpoch and hubClock time members' progress in milliseconds on the
// monotonic clock, in 32 bits so that an idle member stays small. The
// clock wraps after 49 days; differences stay right for anything
// shorter, which StallTimeout is (it is capped).
var hubEpoch = time.Now()

func hubClock() uint32 { return uint32(time.Since(hubEpoch).Milliseconds()) }

// maxHubStall caps StallTimeout well below hubClock's wrap.
const maxHubStall = 24 * time.Hour

// policy returns h's limits with their defaults applied.
func (h *Hub) policy() hubPolicy {
	pol := hubPolicy{backlog: h.Backlog, maxBytes: h.MaxBacklogBytes}
	if pol.backlog <= 0 {
		pol.backlog = DefaultHubBacklog
	}
	if pol.maxBytes <= 0 {
		pol.maxBytes = DefaultHubBacklogBytes
	}
	switch s := h.StallTimeout; {
	case s == 0:
		pol.stall = uint32(DefaultHubStallTimeout / time.Millisecond)
	case s > 0:
		pol.stall = uint32(max(min(s, maxHubStall)/time.Millisecond, 1))
	}
	return pol
}

// size is what pm counts for in a backlog's bytes: its payload and 16
// bytes for its frame header and its pointer, so that even empty
// messages fill a backlog.
func (pm *PreparedMessage) size() int { return len(pm.data) + 16 }

// flushMark in a member's backlog has its writer write what an
// interrupted direct write left owed (Conn.flushOwed).
var flushMark = new(PreparedMessage)

// idle reports whether m has nothing waiting and no writer, so that a
// direct write keeps its order.
func (m *hubMember) idle() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.running && int(m.head) == len(m.q) && !m.gone
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
	m.q, m.head, m.bytes = m.inline[:0], 0, 0
}

// push adds pm to m's backlog unless m is behind (see Hub), and says
// whether a writer must be started.
func (m *hubMember) push(pm *PreparedMessage, pol hubPolicy) (ok, start bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gone {
		return false, false
	}
	size := pm.size()
	if waiting := len(m.q) - int(m.head); waiting > 0 {
		if uint64(m.bytes)+uint64(size) > uint64(pol.maxBytes) {
			return false, false
		}
		if waiting >= pol.backlog && hubClock()-m.progress >= pol.stall {
			return false, false
		}
	}
	if m.head > 0 && len(m.q) == cap(m.q) {
		n := copy(m.q, m.q[m.head:])
		clear(m.q[n:])
		m.q, m.head = m.q[:n], 0
	}
	m.q = append(m.q, pm)
	m.bytes = uint32(min(uint64(m.bytes)+uint64(size), 1<<32-1))
	start = !m.running
	if start {
		m.running = true
		m.progress = hubClock()
	}
	return true, start
}

// next takes the message to write next, or reports that the backlog is
// empty (or m left the hub), in which case the writer must end. done
// says that the writer finished a message since its last call.
func (m *hubMember) next(done bool) *PreparedMessage {
	var now uint32
	if done {
		now = hubClock()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if done {
		m.progress = now
	}
	if m.gone || int(m.head) == len(m.q) {
		m.running = false
		m.resetLocked()
		return nil
	}
	pm := m.q[m.head]
	m.q[m.head] = nil
	m.head++
	m.bytes -= uint32(min(uint64(pm.size()), uint64(m.bytes)))
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
	pol := h.policy()
	for _, m := range h.members {
		if m.loop || m.rc != nil && m.idle() {
			direct = append(direct, m)
			continue
		}
		ok, start := m.push(pm, pol)
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
	if _, start := m.push(pm, hubPolicy{backlog: 1, maxBytes: 1}); start {
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
	for pm := m.next(false); pm != nil; pm = m.next(true) {
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
