//go:build linux && amd64

package run

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// uringFloors is the io_uring floor, offered on linux/amd64 only.
var uringFloors = []string{"tcp-uring"}

// The io_uring ABI this file uses (include/uapi/linux/io_uring.h and the
// io_uring_setup(2), io_uring_enter(2) man pages), amd64 system call
// numbers.
const (
	sysIOUringSetup = 425
	sysIOUringEnter = 426

	uringSetupCQSize = 1 << 3 // params.cq_entries sets the CQ size
	uringSetupClamp  = 1 << 4 // clamp the sizes to the kernel's limits

	uringFeatSingleMmap = 1 << 0 // SQ and CQ rings share one mapping

	uringOffSQRing = 0
	uringOffCQRing = 0x8000000
	uringOffSQEs   = 0x10000000

	uringEnterGetEvents = 1 << 0

	uringOpRead = 22
	uringOpSend = 26
	uringOpRecv = 27

	msgNoSignal = 0x4000 // MSG_NOSIGNAL: EPIPE without SIGPIPE
)

// uringParams is struct io_uring_params (120 bytes).
type uringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  struct {
		head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
		userAddr                                                        uint64
	}
	cqOff struct {
		head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
		userAddr                                                        uint64
	}
}

// uringSQE is struct io_uring_sqe (64 bytes), with only the fields this
// file sets named.
type uringSQE struct {
	opcode, flags uint8
	ioprio        uint16
	fd            int32
	off, addr     uint64
	len, opFlags  uint32
	userData      uint64
	_             [24]byte
}

// uringCQE is struct io_uring_cqe (16 bytes).
type uringCQE struct {
	userData uint64
	res      int32
	flags    uint32
}

// uring is one io_uring instance, used by one goroutine at a time. The
// SQ ring's array is filled once with the identity, so the SQE of a
// submission is the one at the tail's slot.
type uring struct {
	fd     int
	rings  []byte // SQ and CQ rings (one mapping, IORING_FEAT_SINGLE_MMAP)
	sqeMem []byte

	sqHead, sqTail *uint32 // shared with the kernel
	sqMask, sqSize uint32
	sqes           []uringSQE
	tail           uint32 // the next SQE's index; published to *sqTail

	cqHead, cqTail *uint32 // shared with the kernel
	cqMask         uint32
	cqes           []uringCQE
}

// newUring sets up a ring of sq submission and cq completion entries.
func newUring(sq, cq uint32) (*uring, error) {
	p := uringParams{flags: uringSetupCQSize | uringSetupClamp, cqEntries: cq}
	fd, _, errno := syscall.Syscall(sysIOUringSetup, uintptr(sq), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", errno)
	}
	r := &uring{fd: int(fd)}
	if p.features&uringFeatSingleMmap == 0 {
		r.close()
		return nil, errors.New("io_uring: the kernel lacks IORING_FEAT_SINGLE_MMAP")
	}
	size := max(p.sqOff.array+p.sqEntries*4, p.cqOff.cqes+p.cqEntries*uint32(unsafe.Sizeof(uringCQE{})))
	var err error
	if r.rings, err = syscall.Mmap(r.fd, uringOffSQRing, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE); err != nil {
		r.close()
		return nil, fmt.Errorf("io_uring rings: mmap: %w", err)
	}
	if r.sqeMem, err = syscall.Mmap(r.fd, uringOffSQEs, int(p.sqEntries)*int(unsafe.Sizeof(uringSQE{})), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE); err != nil {
		r.close()
		return nil, fmt.Errorf("io_uring SQEs: mmap: %w", err)
	}
	u32 := func(off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&r.rings[off])) }
	r.sqHead, r.sqTail = u32(p.sqOff.head), u32(p.sqOff.tail)
	r.sqMask, r.sqSize = *u32(p.sqOff.ringMask), p.sqEntries
	r.sqes = unsafe.Slice((*uringSQE)(unsafe.Pointer(&r.sqeMem[0])), p.sqEntries)
	array := unsafe.Slice(u32(p.sqOff.array), p.sqEntries)
	for i := range array {
		array[i] = uint32(i)
	}
	r.tail = atomic.LoadUint32(r.sqTail)
	r.cqHead, r.cqTail = u32(p.cqOff.head), u32(p.cqOff.tail)
	r.cqMask = *u32(p.cqOff.ringMask)
	r.cqes = unsafe.Slice((*uringCQE)(unsafe.Pointer(&r.rings[p.cqOff.cqes])), p.cqEntries)
	return r, nil
}

// close unmaps the rings and closes the ring's descriptor.
func (r *uring) close() {
	if r.sqeMem != nil {
		syscall.Munmap(r.sqeMem)
		r.sqeMem = nil
	}
	if r.rings != nil {
		syscall.Munmap(r.rings)
		r.rings = nil
	}
	if r.fd >= 0 {
		syscall.Close(r.fd)
		r.fd = -1
	}
}

// queue fills the next SQE and publishes it; it is submitted by the next
// enter. A full SQ is submitted first.
func (r *uring) queue(op uint8, fd int32, addr unsafe.Pointer, n int, opFlags uint32, userData uint64) error {
	for r.tail-atomic.LoadUint32(r.sqHead) >= r.sqSize {
		if err := r.enter(0); err != nil {
			return err
		}
	}
	// The address goes to the kernel as a number: the memory is Go's
	// heap (not moved), kept alive by whoever queued it until its
	// completion is reaped.
	r.sqes[r.tail&r.sqMask] = uringSQE{opcode: op, fd: fd, addr: uint64(uintptr(addr)), len: uint32(n), opFlags: opFlags, userData: userData}
	r.tail++
	atomic.StoreUint32(r.sqTail, r.tail)
	return nil
}

// enter submits every queued SQE with one io_uring_enter and, when wait
// is not 0, waits there until at least wait completions are ready.
func (r *uring) enter(wait uint32) error {
	for {
		submit := r.tail - atomic.LoadUint32(r.sqHead)
		if submit == 0 && wait == 0 {
			return nil
		}
		var flags uintptr
		if wait > 0 {
			flags = uringEnterGetEvents
		}
		_, _, errno := syscall.Syscall6(sysIOUringEnter, uintptr(r.fd), uintptr(submit), uintptr(wait), flags, 0, 0)
		switch errno {
		case 0:
			if r.tail == atomic.LoadUint32(r.sqHead) || wait > 0 {
				return nil
			}
			// Some SQEs not taken yet: submit the rest.
		case syscall.EINTR:
			if r.tail == atomic.LoadUint32(r.sqHead) && wait == 0 {
				return nil
			}
		case syscall.EAGAIN, syscall.EBUSY:
			// The kernel holds completions it has no room for
			// (overflow): the caller reaps before more is asked.
			if wait == 0 {
				return nil
			}
			return errRingBusy
		default:
			return fmt.Errorf("io_uring_enter: %w", errno)
		}
	}
}

// errRingBusy: io_uring_enter asked to reap completions first.
var errRingBusy = errors.New("io_uring: completion queue full")

// reap calls f for every ready completion and returns how many there
// were.
func (r *uring) reap(f func(*uringCQE)) int {
	head := *r.cqHead // only this side writes it
	tail := atomic.LoadUint32(r.cqTail)
	for i := head; i != tail; i++ {
		f(&r.cqes[i&r.cqMask])
	}
	atomic.StoreUint32(r.cqHead, tail)
	return int(tail - head)
}

// serveUringBusy is the tcp-uring floor of the busy rows: the tcp-epoll
// floor's server with io_uring in place of epoll and read/write, to
// measure what batching system calls across connections saves.
// GOMAXPROCS pollers, each a goroutine with its own ring; accepted
// connections go to them in turn. A connection's handshake is done on the
// net.Conn by a goroutine of its own, as for tcp-epoll; then its
// descriptor is duplicated, the net.Conn closed, and the duplicate handed
// to the poller (a queue and an eventfd whose read the ring also waits
// on). Each connection has one operation in flight at a time: a recv into
// its buffer, then a send of what it received (again for the rest when
// the socket takes part of it), then a recv again. The poller's loop is
// one io_uring_enter that submits every operation queued since the last
// one and waits for at least one completion, then handles every
// completion ready: with many connections busy, one system call per batch
// instead of one read and one write per message. A connection's buffer
// starts at floorBufMin and doubles, up to floorBufMax, each time a recv
// fills it, as the tcp floor's does (a recv in flight needs its own
// buffer, so no poller-wide one as tcp-epoll has).
func serveUringBusy(ln net.Listener) (*uringFloor, error) {
	s := &uringFloor{busyFloor: busyFloor{ln: ln}}
	s.ps = make([]*uringPoller, runtime.GOMAXPROCS(0))
	for i := range s.ps {
		p, err := newUringPoller(&s.busyFloor)
		if err != nil {
			for _, q := range s.ps[:i] {
				q.release()
			}
			return nil, err
		}
		s.ps[i] = p
	}
	for _, p := range s.ps {
		go p.run()
	}
	var next atomic.Uint64
	acceptEach(ln, func(nc net.Conn) { s.ps[(next.Add(1)-1)%uint64(len(s.ps))].add(nc) })
	return s, nil
}

// uringFloor is the tcp-uring floor's server. Unlike the other floors its
// Close also closes every connection and stops the pollers (for the test
// that nothing leaks).
type uringFloor struct {
	busyFloor
	ps        []*uringPoller
	closeOnce sync.Once
}

// Close stops accepting, closes every connection, stops the pollers and
// releases their rings, and returns when all that is done.
func (s *uringFloor) Close() error {
	err := s.ln.Close()
	s.closeOnce.Do(func() {
		for _, p := range s.ps {
			p.stop()
		}
		for _, p := range s.ps {
			<-p.done
		}
	})
	return err
}

// uringPoller is one event loop of the tcp-uring floor. Only its run
// goroutine touches the ring and conns.
type uringPoller struct {
	s     *busyFloor
	r     *uring
	efd   int     // eventfd: add and stop wake the poller
	ebuf  [8]byte // the eventfd read's target
	conns []*uringConn
	free  []uint64 // free slots of conns
	done  chan struct{}
	// closing: stop was seen; every connection is shut down and each
	// completion from then on closes its connection.
	closing bool
	err     error // why the ring failed, if it did
	// partial counts sends the socket took part of, retried the
	// completions with EAGAIN or EINTR (for the tests).
	partial, retried int

	mu       sync.Mutex
	incoming []int // descriptors handed over by add
	stopping bool  // set by stop
	dead     bool  // the poller is closing: add closes what it gets
}

// uringConn is one connection of a poller; its slot in conns is the
// user_data of its operations.
type uringConn struct {
	fd      int32
	buf     []byte
	out     []byte // being sent: the rest of buf[:n]
	sending bool
	grow    bool // the last recv filled buf: double it before the next
}

// The user_data of the eventfd read; a connection's is its slot.
const uringWakeTag = ^uint64(0)

// uringRingSQ and uringRingCQ size each poller's ring: one operation in
// flight per connection, so the CQ holds a completion of every connection
// of a poller up to 64K connections (beyond that the kernel keeps the
// overflow: IORING_FEAT_NODROP).
const (
	uringRingSQ = 4096
	uringRingCQ = 65536
)

func newUringPoller(s *busyFloor) (*uringPoller, error) {
	r, err := newUring(uringRingSQ, uringRingCQ)
	if err != nil {
		return nil, err
	}
	efd, _, errno := syscall.RawSyscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC, 0)
	if errno != 0 {
		r.close()
		return nil, fmt.Errorf("eventfd2: %w", errno)
	}
	p := &uringPoller{s: s, r: r, efd: int(efd), done: make(chan struct{})}
	if err := p.armWake(); err != nil {
		p.release()
		return nil, err
	}
	return p, nil
}

// release closes the ring and the eventfd; no operation may be in flight.
func (p *uringPoller) release() {
	p.r.close()
	syscall.Close(p.efd)
}

func (p *uringPoller) armWake() error {
	return p.r.queue(uringOpRead, int32(p.efd), unsafe.Pointer(&p.ebuf), len(p.ebuf), 0, uringWakeTag)
}

// wake makes the poller's eventfd read complete.
func (p *uringPoller) wake() {
	one := [8]byte{1}
	syscall.Write(p.efd, one[:])
}

// add does nc's handshake and hands its socket to the poller.
func (p *uringPoller) add(nc net.Conn) {
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
	// The duplicate is the socket's only descriptor from here on.
	nc.Close()
	if fd < 0 {
		return
	}
	p.mu.Lock()
	if p.dead {
		p.mu.Unlock()
		syscall.Close(fd)
		return
	}
	p.incoming = append(p.incoming, fd)
	p.s.conns.Add(1)
	p.mu.Unlock()
	p.wake()
}

// stop asks the poller to close its connections and return.
func (p *uringPoller) stop() {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	p.wake()
}

// run is the event loop; it returns after stop (or when the ring fails,
// which closes every connection of the poller).
func (p *uringPoller) run() {
	defer close(p.done)
	handle := func(c *uringCQE) {
		if c.userData == uringWakeTag {
			if c.res < 0 && c.res != -int32(syscall.EINTR) && c.res != -int32(syscall.EAGAIN) {
				p.fail(fmt.Errorf("eventfd read: %w", syscall.Errno(-c.res)))
				return
			}
			p.mu.Lock()
			in := p.incoming
			p.incoming = nil
			stopping := p.stopping
			p.dead = stopping
			p.mu.Unlock()
			for _, fd := range in {
				p.open(int32(fd))
			}
			if !stopping {
				p.check(p.armWake())
			} else if !p.closing {
				p.closing = true
				p.shutdownAll()
			}
			return
		}
		p.complete(p.conns[c.userData], c.userData, c.res)
	}
	for p.err == nil && !(p.closing && p.live() == 0) {
		err := p.r.enter(1)
		if err != nil && err != errRingBusy {
			p.fail(err)
			break
		}
		p.r.reap(handle)
	}
	if p.err != nil {
		p.abort()
	}
	p.release()
}

// open gives fd a slot and its first recv.
func (p *uringPoller) open(fd int32) {
	c := &uringConn{fd: fd, buf: make([]byte, floorBufMin)}
	var slot uint64
	if n := len(p.free); n > 0 {
		slot = p.free[n-1]
		p.free = p.free[:n-1]
		p.conns[slot] = c
	} else {
		slot = uint64(len(p.conns))
		p.conns = append(p.conns, c)
	}
	p.recv(c, slot)
}

func (p *uringPoller) recv(c *uringConn, slot uint64) {
	if c.grow {
		c.buf = make([]byte, 2*len(c.buf))
		c.grow = false
	}
	p.check(p.r.queue(uringOpRecv, c.fd, unsafe.Pointer(&c.buf[0]), len(c.buf), 0, slot))
}

func (p *uringPoller) send(c *uringConn, slot uint64) {
	p.check(p.r.queue(uringOpSend, c.fd, unsafe.Pointer(&c.out[0]), len(c.out), msgNoSignal, slot))
}

// complete handles the completion of c's operation: a recv's bytes are
// sent back, a send's rest is sent, a finished send is followed by a recv;
// end of stream or an error closes c, and so does any completion once the
// poller is stopping.
func (p *uringPoller) complete(c *uringConn, slot uint64, res int32) {
	if p.closing {
		p.drop(c, slot)
		return
	}
	if res == -int32(syscall.EINTR) || res == -int32(syscall.EAGAIN) {
		// Not expected (the kernel waits for readiness itself); try
		// the same operation again.
		p.retried++
		if c.sending {
			p.send(c, slot)
		} else {
			p.recv(c, slot)
		}
		return
	}
	if res < 0 || (res == 0 && !c.sending) {
		p.drop(c, slot)
		return
	}
	if !c.sending {
		c.grow = int(res) == len(c.buf) && len(c.buf) < floorBufMax
		c.out, c.sending = c.buf[:res], true
		p.send(c, slot)
		return
	}
	c.out = c.out[res:]
	if len(c.out) > 0 {
		p.partial++
		p.send(c, slot)
		return
	}
	c.out, c.sending = nil, false
	p.recv(c, slot)
}

// drop closes c's descriptor and frees its slot; c has no operation in
// flight.
func (p *uringPoller) drop(c *uringConn, slot uint64) {
	syscall.Close(int(c.fd))
	p.conns[slot] = nil
	p.free = append(p.free, slot)
	p.s.conns.Add(-1)
}

func (p *uringPoller) live() int { return len(p.conns) - len(p.free) }

// shutdownAll shuts every live connection down, so that its operation in
// flight completes (a recv with 0, a send with EPIPE) and drops it.
func (p *uringPoller) shutdownAll() {
	for _, c := range p.conns {
		if c != nil {
			syscall.Shutdown(int(c.fd), syscall.SHUT_RDWR)
		}
	}
}

// check records err as the poller's failure.
func (p *uringPoller) check(err error) {
	if err != nil {
		p.fail(err)
	}
}

func (p *uringPoller) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

// abort, after a failure of the ring, closes every connection; closing
// the ring then cancels what was in flight. p.conns keeps the buffers
// referenced (the server keeps p) while the kernel lets go of them.
func (p *uringPoller) abort() {
	p.mu.Lock()
	p.dead = true
	in := p.incoming
	p.incoming = nil
	p.mu.Unlock()
	for _, fd := range in {
		syscall.Close(fd)
		p.s.conns.Add(-1)
	}
	for _, c := range p.conns {
		if c != nil {
			syscall.Close(int(c.fd))
			p.s.conns.Add(-1)
		}
	}
}
