package netpoll

import "errors"

// ErrClosed is returned by Wait, Add and Remove once Close has been called.
var ErrClosed = errors.New("netpoll: poller closed")

// errConcurrentWait is returned by a Wait that finds another Wait running.
var errConcurrentWait = errors.New("netpoll: Wait called while another Wait is running")

// errNoRoom is returned by Wait when given an empty events slice.
var errNoRoom = errors.New("netpoll: Wait called with an empty events slice")

// Event is one readiness report from Wait.
type Event struct {
	// Token is the value Add was given for the descriptor.
	Token uint64
	// Hangup is set when the kernel reported EPOLLHUP, EPOLLRDHUP or
	// EPOLLERR: the peer closed or shut down its side, or the connection
	// failed. Bytes sent before the hangup may still be unread, often
	// reported in the same event. Read until syscall.Read returns 0 (end of
	// stream) or an error (such as ECONNRESET), which tells which of these
	// happened: a close and a half-close (the peer's shutdown of its
	// writing side) look alike here (EPOLLIN|EPOLLRDHUP), and only a reset
	// adds EPOLLHUP and EPOLLERR. Like any event it is edge-triggered: it
	// is not repeated for a caller that does not read to the end.
	Hangup bool
	// Readable is set when bytes (or the end of the stream, or an error)
	// wait to be read: EPOLLIN, or any of Hangup's events.
	Readable bool
	// Writable is set, for a descriptor added with AddReadWrite, when the
	// socket takes bytes (EPOLLOUT). Being edge-triggered, it is reported
	// once when the descriptor is added and then after a write found the
	// socket full and room appeared, often together with a Readable event.
	Writable bool
}

// Poller waits for bytes on many descriptors at once with one epoll
// instance.
//
// Add, Remove and Close may be called from any goroutine, also while Wait is
// blocked. Wait must be called by one goroutine at a time (normally the
// event loop's); a second concurrent Wait returns an error.
//
// A registered descriptor must stay open, and its net.Conn reachable, until
// Remove: closing the net.Conn (or letting it be garbage collected, whose
// finalizer closes the descriptor) removes the descriptor from the poller
// without telling it, and the number may be reused by an unrelated
// connection.
type Poller struct {
	sys poller // platform state; see netpoll_linux.go and netpoll_other.go
}

// New returns a Poller backed by a new epoll instance (close-on-exec) and a
// wake-up pipe used by Close. Where Supported is false it returns an error
// saying that event loops are not supported on this platform.
func New() (*Poller, error) {
	p := new(Poller)
	if err := p.sys.init(); err != nil {
		return nil, err
	}
	return p, nil
}

// Add registers fd, an O_NONBLOCK socket owned by the net package, and makes
// Wait report it with token.
//
// The registration is EPOLLIN|EPOLLRDHUP|EPOLLET, edge-triggered: an event is
// reported each time new bytes arrive (or the peer hangs up), however much is
// already buffered, and never merely because unread bytes remain. After an
// event the caller must read until syscall.Read returns EAGAIN; bytes it
// leaves behind produce no further event until more bytes arrive. Bytes that
// are already buffered when Add is called are reported once.
//
// Adding a descriptor that is already registered fails with an error
// wrapping syscall.EEXIST. After Close, Add returns ErrClosed.
func (p *Poller) Add(fd int, token uint64) error { return p.sys.add(fd, token, false) }

// AddReadWrite is Add, with writability reported too (EPOLLOUT, edge-
// triggered, Event.Writable): once at registration, then each time the
// socket takes bytes again after a write found it full.
func (p *Poller) AddReadWrite(fd int, token uint64) error { return p.sys.add(fd, token, true) }

// Remove unregisters fd (EPOLL_CTL_DEL). Call it before closing the
// connection. Events for fd that Wait has already returned are not taken
// back.
//
// Remove returns nil when fd is not registered (ENOENT) or is no longer an
// open descriptor (EBADF): in both cases fd is not in the poller afterwards,
// which is what the caller wanted. Closing the last descriptor of a socket
// already removes it from every epoll set. Other failures are returned
// wrapped, so errors.Is works on the syscall.Errno. After Close, Remove
// returns ErrClosed.
func (p *Poller) Remove(fd int) error { return p.sys.remove(fd) }

// Wait blocks until at least one registered descriptor is ready, fills the
// front of events with what happened and returns how many it filled: at
// least 1, at most len(events) and at most 256. Ready descriptors that do
// not fit stay queued in the kernel and are reported by the next Wait.
// Interrupted system calls (EINTR) are retried.
//
// Wait does not allocate. It must be called by one goroutine at a time; it
// returns an error if events is empty or another Wait is running. Once Close
// has been called, a blocked Wait and every later one return (0, ErrClosed),
// discarding any events collected at the same time.
func (p *Poller) Wait(events []Event) (int, error) { return p.sys.wait(events, -1) }

// Close makes a Wait that is blocked, and every later Wait, Add and Remove,
// return ErrClosed. It wakes a blocked Wait through the wake-up pipe, waits
// for that Wait to leave epoll_wait and then closes the poller's own
// descriptors, so none is closed while in use; the registered sockets are
// not touched. If no Wait is running, Close releases the descriptors at
// once.
//
// Close may be called more than once and from any goroutine, also
// concurrently with Wait; every call returns once the descriptors are
// closed, and calls after the first return nil.
func (p *Poller) Close() error { return p.sys.close() }
