//go:build linux

package run

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// readBroadcasts reads the broadcasts of MeasureIdle on every client from
// one goroutine woken by epoll(7), with one read(2) per ready socket: the
// clients' side then costs a fraction of what a goroutine per client
// does (10,000 goroutine wake-ups per broadcast), so that the broadcast
// row times the server rather than the clients. Message k of a client is
// done on got[k] once its 2+payload bytes are in and its header checked;
// a client that fails or stays silent for 60 s counts its missing
// messages in bad.
func readBroadcasts(conns []net.Conn, payload int, got []sync.WaitGroup, bad *atomic.Int64) error {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("epoll_create1: %w", err)
	}
	fds := make([]int, len(conns))
	for i, c := range conns {
		tc, ok := c.(*net.TCPConn)
		if !ok {
			syscall.Close(epfd)
			readBroadcastsEach(conns, payload, got, bad)
			return nil
		}
		rc, err := tc.SyscallConn()
		if err == nil {
			err = rc.Control(func(fd uintptr) { fds[i] = int(fd) })
		}
		if err == nil {
			ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(i)}
			err = syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, fds[i], &ev)
		}
		if err != nil {
			syscall.Close(epfd)
			return fmt.Errorf("client %d: %w", i, err)
		}
	}
	size := 2 + payload
	go func() {
		defer syscall.Close(epfd)
		recv := make([]int, len(conns)) // bytes each client received
		left := len(conns)              // clients not done
		fail := func(i int) {
			for k := recv[i] / size; k < len(got); k++ {
				bad.Add(1)
				got[k].Done()
			}
			recv[i] = len(got) * size
			syscall.EpollCtl(epfd, syscall.EPOLL_CTL_DEL, fds[i], nil)
			left--
		}
		var events [256]syscall.EpollEvent
		buf := make([]byte, 4096)
		deadline := time.Now().Add(60 * time.Second)
		for left > 0 {
			if time.Now().After(deadline) {
				for i := range conns {
					if recv[i] < len(got)*size {
						fail(i)
					}
				}
				return
			}
			n, err := syscall.EpollWait(epfd, events[:], 1000)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				for i := range conns {
					if recv[i] < len(got)*size {
						fail(i)
					}
				}
				return
			}
			for _, ev := range events[:n] {
				i := int(ev.Fd)
				if recv[i] >= len(got)*size {
					continue
				}
				m, err := syscall.Read(fds[i], buf[:min(len(buf), len(got)*size-recv[i])])
				if err == syscall.EAGAIN || err == syscall.EINTR {
					continue
				}
				if err != nil || m <= 0 {
					fail(i)
					continue
				}
				ok := true
				for j, b := range buf[:m] {
					switch (recv[i] + j) % size {
					case 0:
						ok = ok && b == 0x82
					case 1:
						ok = ok && int(b) == payload
					}
				}
				if !ok {
					fail(i)
					continue
				}
				before := recv[i] / size
				recv[i] += m
				for k := before; k < recv[i]/size; k++ {
					got[k].Done()
				}
				if recv[i] == len(got)*size {
					syscall.EpollCtl(epfd, syscall.EPOLL_CTL_DEL, fds[i], nil)
					left--
				}
			}
		}
	}()
	return nil
}
