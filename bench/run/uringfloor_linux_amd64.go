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

// uringFloors is the io_uring floor, offered on linux/amd64 where this
// process may set up a ring with the flags the floor uses: Linux 6.1 or
// later, and io_uring allowed (a sysctl or a seccomp filter, such as
// Docker's default profile, may refuse it). Elsewhere the busy tables have
// no tcp-uring row, and the run goes on without it.
var uringFloors = uringAvailable()

func uringAvailable() []string {
	r, err := newUring(8, 16)
	if err != nil {
		return nil
	}
	r.close()
	return []string{"tcp-uring"}
}

// The io_uring ABI this file uses (include/uapi/linux/io_uring.h and the
// io_uring_setup(2), io_uring_enter(2) man pages), amd64 system call
// numbers.
const (
	sysIOUringSetup = 425
	sysIOUringEnter = 426

	uringSetupCQSize       = 1 << 3  // params.cq_entries sets the CQ size
	uringSetupClamp        = 1 << 4  // clamp the sizes to the kernel's limits
	uringSetupSingleIssuer = 1 << 12 // one task submits (the poller's thread)
	uringSetupDeferTaskrun = 1 << 13 // completion work waits for that task's io_uring_enter

	uringFeatSingleMmap = 1 << 0 // SQ and CQ rings share one mapping

	uringOffSQRing = 0
	uringOffCQRing = 0x8000000
	uringOffSQEs   = 0x10000000

	uringEnterGetEvents = 1 << 0

	uringOpRead = 22
	uringOpSend = 26
	uringOpRecv = 27

	uringSQELink        = 1 << 2 // IOSQE_IO_LINK: the next SQE starts when this one succeeds
	uringSQESkipSuccess = 1 << 6 // IOSQE_CQE_SKIP_SUCCESS: a completion only on failure

	msgWaitAll  = 0x100  // MSG_WAITALL: a stream send completes whole or fails
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
// With IORING_SETUP_SINGLE_ISSUER and DEFER_TASKRUN, only the thread that
// calls newUring may submit, and the kernel finishes completions (the
// recv that data made ready, say) only in that thread's io_uring_enter
// with IORING_ENTER_GETEVENTS: no interrupt of a running poller, and
// the completions ready at once are finished in one batch.
func newUring(sq, cq uint32) (*uring, error) {
	p := uringParams{flags: uringSetupCQSize | uringSetupClamp | uringSetupSingleIssuer | uringSetupDeferTaskrun, cqEntries: cq}
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

// room makes sure that n SQEs can be queued, submitting the queued ones if
// not (the SQEs of a link must go in one submission).
func (r *uring) room(n uint32) error {
	for r.tail-atomic.LoadUint32(r.sqHead)+n > r.sqSize {
		if err := r.enter(0); err != nil {
			return err
		}
	}
	return nil
}

// queue fills the next SQE and publishes it; it is submitted by the next
// enter. The caller has made room. b's memory goes to the kernel as a
// number: it is Go's heap (not moved), kept alive by the caller until the
// operation's completion is reaped.
func (r *uring) queue(op, flags uint8, fd int32, b []byte, opFlags uint32, userData uint64) {
	r.sqes[r.tail&r.sqMask] = uringSQE{opcode: op, flags: flags, fd: fd, addr: uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b)))), len: uint32(len(b)), opFlags: opFlags, userData: userData}
	r.tail++
	atomic.StoreUint32(r.sqTail, r.tail)
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
// floor's server with io_uring in place of epoll_wait, read and write, to
// measure what batching the system calls of many connections saves.
// GOMAXPROCS pollers, each a goroutine locked to its thread with a ring
// of its own (IORING_SETUP_SINGLE_ISSUER, DEFER_TASKRUN); accepted
// connections go to them in turn. A connection's handshake is done on
// the net.Conn by a goroutine of its own, as for tcp-epoll; then its
// descriptor is duplicated, the net.Conn closed, and the duplicate handed
// to the poller (a queue and an eventfd whose read the ring also waits
// on). Each connection has a recv into its buffer in flight; when it
// completes with n bytes, the poller queues a send of those n bytes
// (MSG_WAITALL: the kernel sends the rest of what the socket does not
// take at once, when it can, and reading waits meanwhile) linked to the
// next recv, which starts when the send is done. A send that succeeds
// posts no completion (IOSQE_CQE_SKIP_SUCCESS), so a message costs one
// completion and two SQEs. The poller's loop is one io_uring_enter that
// submits everything queued since the last one and waits for at least
// one completion, then handles every completion ready: with many
// connections busy, one system call per batch of messages instead of a
// read and a write per message. A connection's buffer starts at
// floorBufMin and doubles, up to floorBufMax, each time a recv fills it,
// as the tcp floor's does (a recv in flight needs its own buffer, so no
// poller-wide one as tcp-epoll has).
func serveUringBusy(ln net.Listener) (*uringFloor, error) {
	s := &uringFloor{busyFloor: busyFloor{ln: ln}}
	s.ps = make([]*uringPoller, runtime.GOMAXPROCS(0))
	type made struct {
		p   *uringPoller
		err error
	}
	mc := make(chan made)
	for range s.ps {
		go func() {
			// The ring's only submitter: this thread, for good.
			runtime.LockOSThread()
			p, err := newUringPoller(&s.busyFloor)
			mc <- made{p, err}
			if err == nil {
				p.run()
			}
		}()
	}
	var err error
	for i := range s.ps {
		m := <-mc
		s.ps[i] = m.p
		if m.err != nil {
			err = m.err
		}
	}
	if err != nil {
		for _, p := range s.ps {
			if p != nil {
				p.stop()
				<-p.done
			}
		}
		return nil, err
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
	// closing: stop was seen; every connection is shut down, and each
	// completion from then on ends its connection.
	closing bool
	err     error // why the ring failed, if it did

	mu       sync.Mutex
	incoming []int // descriptors handed over by add
	stopping bool  // set by stop
	dead     bool  // the poller is closing: add closes what it gets
}

// uringConn is one connection of a poller. The user_data of its recv is
// its slot in conns × 2, of its send that + 1.
type uringConn struct {
	fd   int32
	buf  []byte // the recv's
	sent []byte // the send's, when buf grew meanwhile
	grow bool   // the last recv filled buf: double it for the next
	// linked: the recv in flight follows a send; a failed send posts
	// its completion (sendFailed) and cancels that recv (recvCanceled).
	linked, sendFailed, recvCanceled bool
}

// The user_data of the eventfd read.
const uringWakeTag = ^uint64(0)

// uringRingSQ and uringRingCQ size each poller's ring: one completion in
// flight per connection, so the CQ holds one of every connection of a
// poller up to 64K connections (beyond that the kernel keeps the
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
	p.armWake()
	return p, nil
}

// release closes the ring and the eventfd; no operation may be in flight.
func (p *uringPoller) release() {
	p.r.close()
	syscall.Close(p.efd)
}

func (p *uringPoller) armWake() {
	if p.check(p.r.room(1)) {
		p.r.queue(uringOpRead, 0, int32(p.efd), p.ebuf[:], 0, uringWakeTag)
	}
}

// wake makes the poller's eventfd read complete.
func (p *uringPoller) wake() {
	one := [8]byte{1}
	syscall.Write(p.efd, one[:])
}

// add does nc's handshake and hands its socket to the poller.
func (p *uringPoller) add(nc net.Conn) {
	fd := handshakeFd(nc)
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

// run is the event loop; it returns after stop, once every connection is
// closed, or when the ring fails (which closes every connection).
func (p *uringPoller) run() {
	defer close(p.done)
	handle := func(c *uringCQE) {
		if c.userData == uringWakeTag {
			p.woken(c.res)
			return
		}
		p.complete(c.userData, c.res)
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

// woken handles the eventfd read's completion: new connections, or stop.
func (p *uringPoller) woken(res int32) {
	if res < 0 && res != -int32(syscall.EINTR) && res != -int32(syscall.EAGAIN) {
		p.fail(fmt.Errorf("eventfd read: %w", syscall.Errno(-res)))
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
		p.armWake()
	} else if !p.closing {
		// Shut every connection down: its recv completes (with 0), or
		// its send fails and cancels the recv, and each closes then.
		p.closing = true
		for _, c := range p.conns {
			if c != nil {
				syscall.Shutdown(int(c.fd), syscall.SHUT_RDWR)
			}
		}
	}
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
	if p.check(p.r.room(1)) {
		p.r.queue(uringOpRecv, 0, c.fd, c.buf, 0, slot<<1)
	}
}

// echo queues the send of c.buf[:n] and, linked to it, the next recv.
func (p *uringPoller) echo(c *uringConn, slot uint64, n int) {
	if !p.check(p.r.room(2)) {
		return
	}
	p.r.queue(uringOpSend, uringSQELink|uringSQESkipSuccess, c.fd, c.buf[:n], msgNoSignal|msgWaitAll, slot<<1|1)
	c.sent = nil
	if c.grow {
		c.sent, c.buf, c.grow = c.buf, make([]byte, 2*len(c.buf)), false
	}
	c.linked, c.sendFailed, c.recvCanceled = true, false, false
	p.r.queue(uringOpRecv, 0, c.fd, c.buf, 0, slot<<1)
}

// complete handles a completion of a connection's operation: a recv's
// bytes are sent back; end of stream or an error closes the connection
// (a failed send once the recv it cancels has completed too), and so does
// any completion once the poller is closing.
func (p *uringPoller) complete(ud uint64, res int32) {
	slot := ud >> 1
	c := p.conns[slot]
	if ud&1 == 1 {
		// Only a failed send posts a completion.
		c.sendFailed = true
		if c.recvCanceled {
			p.drop(c, slot)
		}
		return
	}
	if c.linked && res == -int32(syscall.ECANCELED) {
		c.recvCanceled = true
		if c.sendFailed {
			p.drop(c, slot)
		}
		return
	}
	if res <= 0 || p.closing {
		p.drop(c, slot)
		return
	}
	c.grow = int(res) == len(c.buf) && len(c.buf) < floorBufMax
	p.echo(c, slot, int(res))
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

// check records err as the poller's failure and reports whether it was
// nil.
func (p *uringPoller) check(err error) bool {
	if err != nil {
		p.fail(err)
	}
	return err == nil
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
