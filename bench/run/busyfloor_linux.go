//go:build linux

package run

import (
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
)

// The floors of the busy rows; tcp-uring only where it is built
// (uringfloor_linux_amd64.go).
var busyFloors = append([]string{"tcp", "tcp-epoll"}, uringFloors...)

// serveEpollBusy is the tcp-epoll floor of the busy rows: an event loop on
// raw epoll with no WebSocket code. GOMAXPROCS pollers, each a goroutine
// blocked in epoll_wait on its own epoll instance, as hybi's Loop has;
// accepted connections go to them in turn. A connection's handshake (the
// request head, the fixed 101) is done on the net.Conn by a goroutine of
// its own; then its descriptor is duplicated, the net.Conn closed (which
// takes the socket out of Go's netpoller), and the duplicate registered
// level-triggered for reading. For each readable connection the poller
// makes one read into its 64 KiB buffer and one write of what it read:
// with one message in flight per connection, one epoll_wait (shared by
// the connections ready at once), one read and one write per message.
// A write the socket does not take whole keeps the rest for that
// connection, which then waits for writability instead of readability
// until the rest is written.
func serveEpollBusy(ln net.Listener) (*busyFloor, error) {
	s := &busyFloor{ln: ln}
	ps := make([]*floorPoller, runtime.GOMAXPROCS(0))
	for i := range ps {
		p, err := newFloorPoller(s)
		if err != nil {
			for _, q := range ps[:i] {
				syscall.Close(q.epfd)
			}
			return nil, err
		}
		ps[i] = p
		go p.run()
	}
	var next atomic.Uint64
	acceptEach(ln, func(nc net.Conn) { ps[(next.Add(1)-1)%uint64(len(ps))].add(nc) })
	return s, nil
}

// floorPoller is one event loop of the tcp-epoll floor. Only its run
// goroutine touches buf, events and pending.
type floorPoller struct {
	s       *busyFloor
	epfd    int
	events  []syscall.EpollEvent
	buf     []byte
	pending map[int32][]byte // bytes read and not yet written back, by descriptor
}

func newFloorPoller(s *busyFloor) (*floorPoller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &floorPoller{s: s, epfd: epfd, events: make([]syscall.EpollEvent, 256),
		buf: make([]byte, floorBufMax), pending: map[int32][]byte{}}, nil
}

// handshakeFd does nc's handshake (read the head, write the fixed 101)
// and returns a duplicate of its socket's descriptor, or -1 when any step
// failed. nc is closed either way, so the duplicate is the socket's only
// descriptor: epoll keeps a registration until every descriptor of the
// socket is closed, so the poller's close of the duplicate must be the
// last one. The duplicate shares the socket's file status flags:
// non-blocking, as Go set it.
func handshakeFd(nc net.Conn) int {
	fd := -1
	var head [512]byte
	if _, err := readHead(nc, head[:]); err == nil {
		if _, err := nc.Write(fixed101); err == nil {
			if rc, err := nc.(*net.TCPConn).SyscallConn(); err == nil {
				rc.Control(func(f uintptr) {
					if d, err := syscall.Dup(int(f)); err == nil {
						syscall.CloseOnExec(d)
						fd = d
					}
				})
			}
		}
	}
	nc.Close()
	return fd
}

// add does nc's handshake and hands its socket to the poller.
func (p *floorPoller) add(nc net.Conn) {
	fd := handshakeFd(nc)
	if fd < 0 {
		return
	}
	p.s.conns.Add(1)
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		syscall.Close(fd)
		p.s.conns.Add(-1)
	}
}

// run is the event loop; it returns when epoll_wait fails (never while the
// child runs: the floor lives as long as its process).
func (p *floorPoller) run() {
	for {
		n, err := syscall.EpollWait(p.epfd, p.events, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return
		}
		for _, ev := range p.events[:n] {
			fd := ev.Fd
			if rest, ok := p.pending[fd]; ok {
				p.flush(fd, rest)
				continue
			}
			r, err := syscall.Read(int(fd), p.buf)
			if err == syscall.EAGAIN {
				continue
			}
			if err != nil || r == 0 {
				p.drop(fd)
				continue
			}
			p.write(fd, p.buf[:r])
		}
	}
}

// write writes b back to fd; what the socket does not take is kept, and fd
// waits for writability.
func (p *floorPoller) write(fd int32, b []byte) {
	for len(b) > 0 {
		w, err := syscall.Write(int(fd), b)
		if err == syscall.EAGAIN {
			break
		}
		if err != nil {
			p.drop(fd)
			return
		}
		b = b[w:]
	}
	if len(b) == 0 {
		return
	}
	p.pending[fd] = append([]byte(nil), b...)
	ev := syscall.EpollEvent{Events: syscall.EPOLLOUT, Fd: fd}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, int(fd), &ev); err != nil {
		p.drop(fd)
	}
}

// flush writes what fd kept; once all is written, fd waits for reading
// again.
func (p *floorPoller) flush(fd int32, rest []byte) {
	for len(rest) > 0 {
		w, err := syscall.Write(int(fd), rest)
		if err == syscall.EAGAIN {
			p.pending[fd] = rest
			return
		}
		if err != nil {
			p.drop(fd)
			return
		}
		rest = rest[w:]
	}
	delete(p.pending, fd)
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: fd}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, int(fd), &ev); err != nil {
		p.drop(fd)
	}
}

// drop closes fd, which also takes it out of the epoll instance.
func (p *floorPoller) drop(fd int32) {
	delete(p.pending, fd)
	syscall.Close(int(fd))
	p.s.conns.Add(-1)
}
