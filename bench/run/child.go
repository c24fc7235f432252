package run

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hybi/websocket/bench/lib"
)

// childEnv selects child mode: "lib,http|raw,deflate|plain". The library
// "tcp" is a bare TCP server that answers any request head with a fixed 101
// response: the floor of the upgrade and idle rows. "tcp,raw,echo" is the
// floor of the echo rows instead: a plain TCP echo with no WebSocket code
// (see serveTCPEcho). "tcp,raw,busy", "tcp-epoll,raw,busy" and
// "tcp-uring,raw,busy" are the floors of the busy rows (serveTCPBusy,
// serveEpollBusy, serveUringBusy).
const childEnv = "HYBI_BENCH_CHILD"

// profileEnv, when set to a directory, makes every child write a CPU
// profile of its whole life there.
const profileEnv = "HYBI_BENCH_PROFILE"

// MaybeChild runs the child server and exits when this process was started
// as one; otherwise it returns at once. Call it first in main and TestMain.
func MaybeChild() {
	if spec := os.Getenv(hbPeerEnv); spec != "" {
		if err := hbPeer(spec); err != nil {
			fmt.Fprintln(os.Stderr, "hbfloor peer:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	spec := os.Getenv(childEnv)
	if spec == "" {
		return
	}
	if err := serveChild(spec, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// RaiseFileLimit raises RLIMIT_NOFILE as far as the process may: the soft
// limit to the hard one, and the hard one to want when privileged.
func RaiseFileLimit(want uint64) uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0
	}
	if r.Max < want {
		up := syscall.Rlimit{Cur: want, Max: want}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &up) == nil {
			return want
		}
	}
	r.Cur = r.Max
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r)
	return r.Cur
}

// Stats is a child's answer to "stats" and "mem".
type Stats struct {
	Mallocs    uint64 `json:"mallocs"`
	TotalAlloc uint64 `json:"total_alloc"`
	HeapInuse  uint64 `json:"heap_inuse"`
	HeapAlloc  uint64 `json:"heap_alloc"`
	StackInuse uint64 `json:"stack_inuse"`
	RSS        uint64 `json:"rss"`
	Conns      int    `json:"conns"`
	Goroutines int    `json:"goroutines"`
}

func readStats(gc bool) Stats {
	if gc {
		debug.FreeOSMemory()
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return Stats{Mallocs: m.Mallocs, TotalAlloc: m.TotalAlloc, HeapInuse: m.HeapInuse, HeapAlloc: m.HeapAlloc,
		StackInuse: m.StackInuse, RSS: rss(), Goroutines: runtime.NumGoroutine()}
}

// RSS is this process's resident set size, in bytes (0 where
// /proc/self/statm is missing).
func RSS() uint64 { return rss() }

// rss is the resident set size from /proc/self/statm, in bytes.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

func serveChild(spec string, in io.Reader, out io.Writer) error {
	RaiseFileLimit(1 << 17)
	parts := strings.Split(spec, ",")
	if len(parts) != 3 {
		return fmt.Errorf("bad spec %q", spec)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	var srv lib.Server
	if dir := os.Getenv(profileEnv); dir != "" {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("server-%s-%s-%s-%d.pprof", parts[0], parts[1], parts[2], os.Getpid())))
		if err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	switch {
	case parts[0] == "tcp" && parts[2] == "echo":
		srv = serveTCPEcho(ln)
	case parts[0] == "tcp" && parts[2] == "busy":
		srv = serveTCPBusy(ln)
	case parts[0] == "tcp-epoll" && parts[2] == "busy":
		if srv, err = serveEpollBusy(ln); err != nil {
			fmt.Fprintf(out, "@@ error %v\n", err)
			return nil
		}
	case parts[0] == "tcp-uring" && parts[2] == "busy":
		if srv, err = serveUringBusy(ln); err != nil {
			fmt.Fprintf(out, "@@ error %v\n", err)
			return nil
		}
	case parts[0] == "tcp":
		srv = serveTCP(ln, parts[1] == "http")
	default:
		l, ok := lib.ByName(parts[0])
		if !ok {
			return fmt.Errorf("unknown library %q", parts[0])
		}
		srv, err = l.Serve(ln, lib.ServerConfig{HTTP: parts[1] == "http", Deflate: parts[2] == "deflate"})
		if err != nil {
			fmt.Fprintf(out, "@@ error %v\n", err)
			return nil
		}
	}
	fmt.Fprintf(out, "@@ addr %s\n", ln.Addr())
	sc := bufio.NewScanner(in)
	reply := make([]byte, 0, 256)
	for sc.Scan() {
		if bytes.Equal(sc.Bytes(), []byte("stats")) {
			// The allocation counters: answered without allocating,
			// since what happens between two "stats" is counted.
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			reply = append(reply[:0], `@@ {"mallocs":`...)
			reply = strconv.AppendUint(reply, m.Mallocs, 10)
			reply = append(reply, `,"total_alloc":`...)
			reply = strconv.AppendUint(reply, m.TotalAlloc, 10)
			reply = append(reply, `,"conns":`...)
			reply = strconv.AppendInt(reply, int64(srv.Conns()), 10)
			reply = append(reply, "}\n"...)
			if _, err := out.Write(reply); err != nil {
				return err
			}
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "mem":
			s := readStats(true)
			if dir := os.Getenv(profileEnv); dir != "" {
				memProfiles++
				writeHeapProfile(filepath.Join(dir, fmt.Sprintf("heap-%s-%s-%d-%d.pprof", parts[0], parts[1], os.Getpid(), memProfiles)))
			}
			s.Conns = srv.Conns()
			b, _ := json.Marshal(s)
			fmt.Fprintf(out, "@@ %s\n", b)
		case "broadcast":
			n, _ := strconv.Atoi(f[1])
			start := time.Now()
			err := srv.Broadcast(make([]byte, n))
			fmt.Fprintf(out, "@@ ok %d %v\n", time.Since(start).Nanoseconds(), err)
		case "quit":
			srv.Close()
			return nil
		}
	}
	return sc.Err()
}

// tcpServer is the floor: accept, read a request head, answer a fixed 101,
// then hold the connection with a goroutine blocked in Read.
type tcpServer struct {
	ln net.Listener
	// The raw path's connections, for the broadcast floor (a slice: 8
	// bytes per connection in the idle row).
	mu    sync.Mutex
	conns []net.Conn
}

var fixed101 = []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")

func serveTCP(ln net.Listener, viaHTTP bool) *tcpServer {
	s := &tcpServer{ln: ln}
	if viaHTTP {
		// The net/http floor: hijack, answer, hold.
		serveHTTPFloor(ln)
		return s
	}
	acceptEach(ln, func(nc net.Conn) {
		var buf [512]byte
		if _, err := readHead(nc, buf[:]); err != nil {
			nc.Close()
			return
		}
		nc.Write(fixed101)
		s.mu.Lock()
		s.conns = append(s.conns, nc)
		s.mu.Unlock()
		for {
			if _, err := nc.Read(buf[:]); err != nil {
				nc.Close()
				s.remove(nc)
				return
			}
		}
	})
	return s
}

// acceptEach serves every connection ln accepts with serve, each on a
// goroutine of its own, until ln is closed.
func acceptEach(ln net.Listener, serve func(net.Conn)) {
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(nc)
		}
	}()
}

// remove takes a closed connection out of the broadcast floor's list.
func (s *tcpServer) remove(nc net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.Index(s.conns, nc); i >= 0 {
		last := len(s.conns) - 1
		s.conns[i] = s.conns[last]
		s.conns[last] = nil
		s.conns = s.conns[:last]
	}
}

// maxTCPEcho bounds the message size a tcp echo client may announce: the
// buffer is allocated up front from a length taken from input.
const maxTCPEcho = 64 << 20

// maxTCPWrite bounds one Write of the echo floor, on both sides: 1 MiB −
// 4 KiB, the largest piece hybi hands the kernel (maxWrite in the root
// package's pool.go). On Linux loopback a single write of 1 MiB or more
// halves a blocking echo's throughput (the writer fills the socket and
// parks until the reader drains it), which would put the floor below the
// libraries it is the floor of.
const maxTCPWrite = 1<<20 - 4<<10

// writePieces writes p to w with one Write when it is at most maxTCPWrite
// bytes long, else in pieces of at most maxTCPWrite bytes.
func writePieces(w io.Writer, p []byte) error {
	for len(p) > 0 {
		n := min(len(p), maxTCPWrite)
		if _, err := w.Write(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// serveTCPEcho is the floor of the echo rows: on each accepted connection,
// read an 8-byte big-endian message size n once, then for ever read exactly
// n bytes with io.ReadFull and write them back (writePieces: one Write, or
// pieces of at most 1 MiB − 4 KiB). No framing, no masking, no WebSocket
// code: what loopback TCP allows for a blocking echo of n bytes.
func serveTCPEcho(ln net.Listener) *tcpServer {
	acceptEach(ln, func(nc net.Conn) {
		defer nc.Close()
		var hdr [8]byte
		if _, err := io.ReadFull(nc, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint64(hdr[:])
		if n == 0 || n > maxTCPEcho {
			return
		}
		buf := make([]byte, n)
		for {
			if _, err := io.ReadFull(nc, buf); err != nil {
				return
			}
			if err := writePieces(nc, buf); err != nil {
				return
			}
		}
	})
	return &tcpServer{ln: ln}
}

// Broadcast is the floor of the broadcast rows: the frame (p binary, at
// most 125 bytes) built once and written to every connection with one
// Write each, from one goroutine, with no WebSocket code.
func (s *tcpServer) Broadcast(p []byte) error {
	if len(p) > 125 {
		return errors.New("tcp: broadcast of more than 125 bytes")
	}
	f := append([]byte{0x82, byte(len(p))}, p...)
	s.mu.Lock()
	conns := s.conns
	s.mu.Unlock()
	var first error
	for _, nc := range conns {
		if _, err := nc.Write(f); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (s *tcpServer) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
func (s *tcpServer) Close() error { return s.ln.Close() }

// readHead reads from r until the end of an HTTP head (CRLF CRLF) and
// returns the bytes read; buf bounds the head.
func readHead(r io.Reader, buf []byte) ([]byte, error) {
	n := 0
	for {
		if n == len(buf) {
			return nil, errors.New("head too long")
		}
		m, err := r.Read(buf[n:])
		n += m
		if bytes.Contains(buf[:n], crlf2) {
			return buf[:n], nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// Child is a running child server, seen from the parent.
type Child struct {
	Addr string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
}

// StartChild starts a child serving library name ("tcp" for the floor).
// It returns lib.ErrUnsupported when the library lacks that configuration.
func StartChild(name string, http, deflate bool) (*Child, error) {
	spec := name + ",raw,plain"
	if http {
		spec = name + ",http,plain"
	}
	if deflate {
		spec = strings.Replace(spec, "plain", "deflate", 1)
	}
	return startChild(spec)
}

// startChild starts a child with spec (see childEnv).
func startChild(spec string) (*Child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"="+spec)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &Child{cmd: cmd, in: in, out: bufio.NewReader(outp)}
	line, err := c.line()
	if err != nil {
		c.Stop()
		return nil, err
	}
	if strings.HasPrefix(line, "error ") {
		c.Stop()
		if strings.Contains(line, lib.ErrUnsupported.Error()) {
			return nil, lib.ErrUnsupported
		}
		return nil, errors.New(line)
	}
	c.Addr = strings.TrimPrefix(line, "addr ")
	return c, nil
}

// line returns the next protocol line, skipping anything else a library
// prints on standard output (nbio logs there).
func (c *Child) line() (string, error) {
	for {
		s, err := c.out.ReadString('\n')
		if err != nil {
			return "", err
		}
		if rest, ok := strings.CutPrefix(s, "@@ "); ok {
			return strings.TrimSpace(rest), nil
		}
	}
}

func (c *Child) ask(cmd string) (string, error) {
	if _, err := fmt.Fprintln(c.in, cmd); err != nil {
		return "", err
	}
	return c.line()
}

// Stats returns the child's allocation counters; Mem also collects garbage
// and returns freed memory to the OS first, for heap, stack and RSS figures.
func (c *Child) Stats() (Stats, error) { return c.stats("stats") }
func (c *Child) Mem() (Stats, error)   { return c.stats("mem") }

func (c *Child) stats(cmd string) (Stats, error) {
	var s Stats
	line, err := c.ask(cmd)
	if err != nil {
		return s, err
	}
	err = json.Unmarshal([]byte(line), &s)
	return s, err
}

// Broadcast asks the child to send n bytes to every connection.
func (c *Child) Broadcast(n int) error {
	line, err := c.ask("broadcast " + strconv.Itoa(n))
	if err != nil {
		return err
	}
	if !strings.HasSuffix(line, "<nil>") {
		return errors.New("broadcast: " + line)
	}
	return nil
}

// Stop ends the child, waiting at most a few seconds.
func (c *Child) Stop() {
	fmt.Fprintln(c.in, "quit")
	c.in.Close()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}

var crlf2 = []byte("\r\n\r\n")

func serveHTTPFloor(ln net.Listener) {
	h := func(w http.ResponseWriter, r *http.Request) {
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		nc.Write(fixed101)
		_ = brw
		var buf [512]byte
		for {
			if _, err := nc.Read(buf[:]); err != nil {
				nc.Close()
				return
			}
		}
	}
	go (&http.Server{Handler: http.HandlerFunc(h)}).Serve(ln)
}

var memProfiles int

func writeHeapProfile(name string) {
	f, err := os.Create(name)
	if err != nil {
		return
	}
	defer f.Close()
	pprof.Lookup("heap").WriteTo(f, 0)
}
