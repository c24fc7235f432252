//go:build linux && (amd64 || arm64)

package netpoll

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
)

// Supported reports whether Poller works on this platform: true on
// linux/amd64 and linux/arm64, whose syscall.EpollEvent keeps the kernel's
// 8-byte epoll_data in its Fd and Pad fields.
const Supported = true

const (
	// epollET is EPOLLET as a uint32 (syscall declares it as a negative
	// int on amd64 and a positive one on arm64).
	epollET = syscall.EPOLLET & 0xffffffff

	// addEvents are the events Add asks for.
	addEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | epollET

	// hangupEvents set Event.Hangup. EPOLLHUP and EPOLLERR are always
	// reported, asked for or not.
	hangupEvents = syscall.EPOLLHUP | syscall.EPOLLRDHUP | syscall.EPOLLERR

	// maxEvents is the length of the buffer handed to epoll_wait: one Wait
	// returns at most this many events, and the rest stay in the kernel's
	// ready list for the next Wait.
	maxEvents = 256
)

// poller is the Linux state of a Poller.
type poller struct {
	epfd   int // epoll instance
	wakeR  int // read end of the wake-up pipe, registered level-triggered in epfd
	wakeW  int // write end, written once by close
	events []syscall.EpollEvent

	mu       sync.Mutex
	idle     sync.Cond // signalled (with mu) when waiting becomes false
	waiting  bool      // a Wait is between its two critical sections, maybe in epoll_wait
	closed   bool      // close has been called; the wake-up pipe is written
	released bool      // epfd, wakeR and wakeW are closed
}

// setToken stores t in the 8 bytes of ev's epoll_data, which are the Fd and
// Pad fields on linux/amd64 and linux/arm64. The kernel copies those bytes
// back unchanged, so writing the low half to Fd and the high half to Pad and
// reading them back the same way round-trips t on either byte order.
func setToken(ev *syscall.EpollEvent, t uint64) {
	ev.Fd = int32(uint32(t))
	ev.Pad = int32(uint32(t >> 32))
}

// token is the inverse of setToken.
func token(ev *syscall.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

func (p *poller) init() error {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("netpoll: epoll_create1: %w", err)
	}
	var pipe [2]int
	if err := syscall.Pipe2(pipe[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(epfd)
		return fmt.Errorf("netpoll: pipe2: %w", err)
	}
	// Level-triggered and never drained: once close writes its byte, every
	// epoll_wait on epfd returns at once, however the wake-up races with a
	// Wait that is about to block. Its token is never looked at: the pipe
	// is readable only after closed is set, and a Wait that sees closed
	// discards its events (see wait).
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, pipe[0], &ev); err != nil {
		syscall.Close(pipe[0])
		syscall.Close(pipe[1])
		syscall.Close(epfd)
		return fmt.Errorf("netpoll: epoll_ctl add wake-up pipe: %w", err)
	}
	p.epfd, p.wakeR, p.wakeW = epfd, pipe[0], pipe[1]
	p.events = make([]syscall.EpollEvent, maxEvents)
	p.idle.L = &p.mu
	return nil
}

func (p *poller) add(fd int, t uint64, write bool) error {
	ev := syscall.EpollEvent{Events: addEvents}
	if write {
		ev.Events |= syscall.EPOLLOUT
	}
	setToken(&ev, t)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("netpoll: epoll_ctl add fd %d: %w", fd, err)
	}
	return nil
}

func (p *poller) remove(fd int) error {
	// Linux before 2.6.9 wants a non-nil event even for EPOLL_CTL_DEL.
	var ev syscall.EpollEvent
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, fd, &ev)
	switch {
	case err == nil, errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.EBADF):
		// EBADF can only be about fd: epfd is open until released.
		return nil
	default:
		return fmt.Errorf("netpoll: epoll_ctl del fd %d: %w", fd, err)
	}
}

// wait is Wait with a timeout in milliseconds for epoll_wait (-1: none); on
// timeout it returns (0, nil). Tests use the timeout so that none can hang.
func (p *poller) wait(events []Event, msec int) (int, error) {
	p.mu.Lock()
	switch {
	case p.closed:
		p.mu.Unlock()
		return 0, ErrClosed
	case p.waiting:
		p.mu.Unlock()
		return 0, errConcurrentWait
	case len(events) == 0:
		p.mu.Unlock()
		return 0, errNoRoom
	}
	p.waiting = true
	p.mu.Unlock()

	// Only the goroutine that set waiting touches p.events, and close
	// leaves epfd open until waiting is false again.
	buf := p.events
	if len(events) < len(buf) {
		buf = buf[:len(events)]
	}
	var n int
	var err error
	for {
		n, err = syscall.EpollWait(p.epfd, buf, msec)
		if err != syscall.EINTR {
			break
		}
	}

	p.mu.Lock()
	p.waiting = false
	closed := p.closed
	if closed {
		p.idle.Broadcast()
	}
	p.mu.Unlock()
	if closed {
		return 0, ErrClosed
	}
	if err != nil {
		return 0, fmt.Errorf("netpoll: epoll_wait: %w", err)
	}
	// closed was false after epoll_wait returned, and close sets it before
	// writing the wake-up pipe, so none of these events is the pipe's.
	for i := range buf[:n] {
		ev := &buf[i]
		events[i] = Event{
			Token:    token(ev),
			Hangup:   ev.Events&hangupEvents != 0,
			Readable: ev.Events&(syscall.EPOLLIN|hangupEvents) != 0,
			Writable: ev.Events&syscall.EPOLLOUT != 0,
		}
	}
	return n, nil
}

func (p *poller) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		if _, err := syscall.Write(p.wakeW, []byte{1}); err != nil && p.waiting {
			// Cannot happen for an empty pipe we own; if it did, the
			// blocked Wait would never return, so neither may Close, and
			// the descriptors must stay open. Leak them instead.
			return fmt.Errorf("netpoll: waking Wait: %w", err)
		}
	}
	for p.waiting {
		p.idle.Wait()
	}
	if p.released {
		return nil
	}
	p.released = true
	err := syscall.Close(p.epfd)
	if e := syscall.Close(p.wakeR); err == nil {
		err = e
	}
	if e := syscall.Close(p.wakeW); err == nil {
		err = e
	}
	if err != nil {
		return fmt.Errorf("netpoll: close: %w", err)
	}
	return nil
}
