//go:build linux

package run

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// hbPeerEnv, "addr,n", makes this process the peers of MeasureHBFloor:
// n connections to addr that answer every Ping with a Pong.
const hbPeerEnv = "HYBI_HBFLOOR_PEER"

// HBFloor is the kernel's floor under the heartbeat rows: the CPU one
// heartbeat ping costs a server that uses no WebSocket library.
type HBFloor struct {
	N, Batch     int
	Pings        int
	CPU, Wall    time.Duration
	Reads, Waits int // read(2) and epoll_wait(2) calls
}

// CPUPerPing is the server's CPU time per ping.
func (f HBFloor) CPUPerPing() time.Duration {
	if f.Pings == 0 {
		return 0
	}
	return f.CPU / time.Duration(f.Pings)
}

// MeasureHBFloor holds n loopback TCP connections (their peers in a child
// process, whose CPU is not counted) and, for rounds rounds after one
// warm-up round, writes a 2-byte Ping frame to every socket with one
// write(2) each and reads the Pongs back (6 bytes: a client's frame is
// masked) with one read(2) each, woken by epoll(7), batch sockets at a
// time, in a tight loop on one goroutine: no timer, no goroutine switch,
// no frame parsing. The CPU of this process (getrusage) over the rounds,
// per ping, is the least a server can spend on a heartbeat ping here.
func MeasureHBFloor(n, rounds, batch int) (HBFloor, error) {
	f := HBFloor{N: n, Batch: min(max(batch, 1), n)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return f, err
	}
	defer ln.Close()
	exe, err := os.Executable()
	if err != nil {
		return f, err
	}
	child := exec.Command(exe)
	child.Env = append(os.Environ(), hbPeerEnv+"="+ln.Addr().String()+","+strconv.Itoa(n))
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		return f, err
	}
	defer func() {
		child.Process.Kill()
		child.Wait()
	}()
	conns := make([]net.Conn, 0, n) // kept reachable: their finalizers close the descriptors
	fds := make([]int, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(60 * time.Second))
	for len(conns) < n {
		c, err := ln.Accept()
		if err != nil {
			return f, fmt.Errorf("hbfloor: accepted %d of %d: %w", len(conns), n, err)
		}
		conns = append(conns, c)
		fd, err := rawFD(c)
		if err != nil {
			return f, err
		}
		fds = append(fds, fd)
	}
	ep, err := newEpoll(fds)
	if err != nil {
		return f, err
	}
	defer syscall.Close(ep.fd)
	if _, err := ep.round(fds, f.Batch); err != nil { // warm-up
		return f, err
	}
	cpu0, t0 := cpuTime(), time.Now()
	for range rounds {
		s, err := ep.round(fds, f.Batch)
		if err != nil {
			return f, err
		}
		f.Reads += s.reads
		f.Waits += s.waits
	}
	f.CPU, f.Wall = cpuTime()-cpu0, time.Since(t0)
	f.Pings = n * rounds
	return f, nil
}

type epoll struct {
	fd     int
	events []syscall.EpollEvent
	got    []int // Pong bytes read this round, by index
	index  map[int32]int
}

func newEpoll(fds []int) (*epoll, error) {
	efd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	ep := &epoll{fd: efd, events: make([]syscall.EpollEvent, 256), got: make([]int, len(fds)), index: make(map[int32]int, len(fds))}
	for i, fd := range fds {
		ep.index[int32(fd)] = i
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}
		if err := syscall.EpollCtl(efd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return nil, err
		}
	}
	return ep, nil
}

type roundStats struct{ reads, waits int }

// pongLen is a client's empty Pong: 2 header bytes and the 4-byte mask.
const pongLen = 6

// round pings every socket, batch sockets at a time, and reads each
// batch's Pongs before the next batch.
func (ep *epoll) round(fds []int, batch int) (roundStats, error) {
	var st roundStats
	ping := []byte{0x89, 0x00}
	var buf [64]byte
	for lo := 0; lo < len(fds); lo += batch {
		hi := min(lo+batch, len(fds))
		for i := lo; i < hi; i++ {
			ep.got[i] = 0
			if _, err := syscall.Write(fds[i], ping); err != nil {
				return st, fmt.Errorf("hbfloor: write: %w", err)
			}
		}
		for left := hi - lo; left > 0; {
			k, err := syscall.EpollWait(ep.fd, ep.events, 10000)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				return st, err
			}
			st.waits++
			if k == 0 {
				return st, fmt.Errorf("hbfloor: no Pong within 10s (%d missing)", left)
			}
			for _, ev := range ep.events[:k] {
				i := ep.index[ev.Fd]
				r, err := syscall.Read(int(ev.Fd), buf[:])
				st.reads++
				if err == syscall.EAGAIN {
					continue
				}
				if err != nil || r == 0 {
					return st, fmt.Errorf("hbfloor: read: %d, %v", r, err)
				}
				before := ep.got[i]
				ep.got[i] += r
				if before < pongLen && ep.got[i] >= pongLen {
					left--
				}
			}
		}
	}
	return st, nil
}

// hbPeer, the child of MeasureHBFloor (spec "addr,n"), dials n
// connections to addr (dialEach, from 127.0.0.1 to 127.0.0.SourceAddrs)
// and answers every Ping with a Pong until the server closes them.
func hbPeer(spec string) error {
	addr, ns, _ := strings.Cut(spec, ",")
	n, err := strconv.Atoi(ns)
	if err != nil {
		return fmt.Errorf("bad %s %q", hbPeerEnv, spec)
	}
	conns := make([]net.Conn, n)
	defer runtime.KeepAlive(conns) // their finalizers would close the descriptors
	fds := make([]int, n)
	// From SourceAddrs source addresses, as the clients of the other
	// scale rows: one address's ephemeral ports do not last for ~20,000
	// connections to one server port.
	err = dialEach(n, func(i int) error {
		c, err := dialFrom(addr, i)
		if err != nil {
			return err
		}
		conns[i] = c
		fds[i], err = rawFD(c)
		return err
	})
	if err != nil {
		return err
	}
	ep, err := newEpoll(fds)
	if err != nil {
		return err
	}
	pong := []byte{0x8a, 0x80, 1, 2, 3, 4}
	var buf [64]byte
	for {
		k, err := syscall.EpollWait(ep.fd, ep.events, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		for _, ev := range ep.events[:k] {
			fd := int(ev.Fd)
			r, err := syscall.Read(fd, buf[:])
			if err == syscall.EAGAIN {
				continue
			}
			if err != nil || r == 0 {
				return nil // the server is gone
			}
			for range r / 2 {
				if _, err := syscall.Write(fd, pong); err != nil {
					return err
				}
			}
		}
	}
}

// rawFD returns the descriptor of a TCP connection (non-blocking, still
// owned by c).
func rawFD(c net.Conn) (int, error) {
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		return 0, err
	}
	fd := -1
	if err := rc.Control(func(f uintptr) { fd = int(f) }); err != nil {
		return 0, err
	}
	return fd, nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
