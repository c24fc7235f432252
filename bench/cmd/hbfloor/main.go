//go:build linux

// Command hbfloor measures the kernel's floor under the heartbeat rows of
// docs/performance.md ("Idle connections with the heartbeat on"): the CPU
// one heartbeat round costs a server that uses no WebSocket library at
// all. It holds n loopback TCP connections (their peers in a child
// process, so that only the server's side is counted) and, for a number
// of rounds, writes a 2-byte Ping frame to every socket with one write(2)
// each and reads the Pongs back (6 bytes each: a client's frame is
// masked) with one read(2) each, woken by epoll(7), in a tight loop on one
// goroutine: no timer, no goroutine switch, no frame parsing. The CPU of
// the process (getrusage) over the rounds divided by the pings is the
// floor of "CPU / ping" on this machine.
//
//	cd bench && go run ./cmd/hbfloor -n 10000
//
// -batches lists how many sockets are pinged before their Pongs are read:
// all n at once, and n/16, the share of a heartbeat grid step
// (Options.PingInterval/16) that a Loop's poller handles per tick.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hybi/websocket/bench/run"
)

// peerEnv holds the server's address in the child that holds the peers.
const peerEnv = "HYBI_HBFLOOR_PEER"

func main() {
	n := flag.Int("n", 10000, "connections")
	rounds := flag.Int("rounds", 20, "heartbeat rounds measured (after one warm-up round)")
	batches := flag.String("batches", "", "sockets pinged before their Pongs are read, comma-separated (default: n and n/16)")
	flag.Parse()
	log.SetFlags(0)
	run.RaiseFileLimit(1 << 17)
	if addr := os.Getenv(peerEnv); addr != "" {
		if err := peer(addr, *n); err != nil {
			log.Fatalf("peer: %v", err)
		}
		return
	}
	bs := []int{*n, max(*n/16, 1)}
	if *batches != "" {
		bs = bs[:0]
		for _, f := range strings.Split(*batches, ",") {
			b, err := strconv.Atoi(f)
			if err != nil || b <= 0 {
				log.Fatalf("-batches: bad %q", f)
			}
			bs = append(bs, min(b, *n))
		}
	}
	if err := server(*n, *rounds, bs); err != nil {
		log.Fatal(err)
	}
}

// server accepts n connections from a child and measures the rounds.
func server(n, rounds int, batches []int) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	child := exec.Command(os.Args[0], "-n", strconv.Itoa(n))
	child.Env = append(os.Environ(), peerEnv+"="+ln.Addr().String())
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		return err
	}
	defer func() {
		child.Process.Kill()
		child.Wait()
	}()
	conns := make([]net.Conn, 0, n) // kept reachable: their finalizers close the descriptors
	fds := make([]int, 0, n)
	for len(conns) < n {
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(30 * time.Second))
		c, err := ln.Accept()
		if err != nil {
			return fmt.Errorf("accepted %d of %d: %w", len(conns), n, err)
		}
		fd, err := rawFD(c)
		if err != nil {
			return err
		}
		conns = append(conns, c)
		fds = append(fds, fd)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	ep, err := newEpoll(fds)
	if err != nil {
		return err
	}
	defer syscall.Close(ep.fd)
	fmt.Printf("Kernel floor of one heartbeat round: %d loopback TCP connections, %d rounds, Go %s, load average %s\n\n", n, rounds, strings.TrimPrefix(runtime.Version(), "go"), loadavg())
	fmt.Printf("| Pinged per batch | pings | CPU (user + sys) | CPU / ping | wall / ping | reads / ping | epoll_wait / ping |\n|---|---|---|---|---|---|---|\n")
	for _, b := range batches {
		if _, err := ep.round(fds, b); err != nil { // warm-up
			return err
		}
		var st roundStats
		cpu0, t0 := cpuTime(), time.Now()
		for range rounds {
			s, err := ep.round(fds, b)
			if err != nil {
				return err
			}
			st.reads += s.reads
			st.waits += s.waits
		}
		cpu, wall := cpuTime()-cpu0, time.Since(t0)
		pings := n * rounds
		fmt.Printf("| %d | %d | %v | %v | %v | %.2f | %.3f |\n", b, pings, cpu.Round(time.Millisecond),
			(cpu / time.Duration(pings)).Round(100*time.Nanosecond), (wall / time.Duration(pings)).Round(100*time.Nanosecond),
			float64(st.reads)/float64(pings), float64(st.waits)/float64(pings))
	}
	return nil
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
				return st, fmt.Errorf("write: %w", err)
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
				return st, fmt.Errorf("no Pong within 10s (%d missing)", left)
			}
			for _, ev := range ep.events[:k] {
				i := ep.index[ev.Fd]
				r, err := syscall.Read(int(ev.Fd), buf[:])
				st.reads++
				if err == syscall.EAGAIN {
					continue
				}
				if err != nil || r == 0 {
					return st, fmt.Errorf("read: %d, %v", r, err)
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

// peer dials n connections to addr and answers every Ping with a Pong.
func peer(addr string, n int) error {
	conns := make([]net.Conn, 0, n)
	fds := make([]int, 0, n)
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		fd, err := rawFD(c)
		if err != nil {
			return err
		}
		conns = append(conns, c)
		fds = append(fds, fd)
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

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
