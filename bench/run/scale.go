package run

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hybi/websocket/bench/lib"
)

// The scale rows: many busy connections, one slow reader among them, and
// idle connections with the heartbeat on. Every client is a raw client of
// this file, identical for every server, run in this process; the server
// runs in a child process whose CPU time and memory are read from /proc.

// SourceAddrs is how many loopback source addresses (127.0.0.1 to
// 127.0.0.SourceAddrs) the clients spread over, so that many connections
// to one server port never exhaust the ephemeral ports of one address.
const SourceAddrs = 8

// scaleConn is a raw client connection after the handshake.
type scaleConn struct {
	nc  net.Conn
	br  *bufio.Reader
	buf []byte // a received payload
	// floor: the server is one of BusyFloors, which sends back the
	// client's own masked frame, so a frame read must be masked (and
	// its key is skipped); otherwise it must not be.
	floor bool
}

// dialFrom connects from 127.0.0.(1+i%SourceAddrs) to addr.
func dialFrom(addr string, i int) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%SourceAddrs))}}
	return d.Dial("tcp", addr)
}

// dialScale connects as dialFrom does and performs the fixed client
// handshake of rawHandshake (clientHandshake).
func dialScale(addr string, i int) (*scaleConn, error) {
	nc, err := dialFrom(addr, i)
	if err != nil {
		return nil, err
	}
	if _, err := clientHandshake(nc, addr, ""); err != nil {
		nc.Close()
		return nil, err
	}
	return &scaleConn{nc: nc, br: bufio.NewReaderSize(nc, 4096)}, nil
}

// dialers is how many goroutines open the connections of a scale row.
const dialers = 8

// dialEach calls dial(i) for i from 0 to n−1 from dialers goroutines
// (each takes every dialers-th i) and returns the first error; a goroutine
// stops at its first error.
func dialEach(n int, dial func(i int) error) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for w := range dialers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += dialers {
				if err := dial(i); err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("connection %d of %d: %w", i, n, err)
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// openScale opens n connections to addr with dialEach and returns them
// with the wall time it took.
func openScale(addr string, n int) ([]*scaleConn, time.Duration, error) {
	conns := make([]*scaleConn, n)
	start := time.Now()
	err := dialEach(n, func(i int) (err error) {
		conns[i], err = dialScale(addr, i)
		return err
	})
	el := time.Since(start)
	if err != nil {
		closeScale(conns)
		return nil, el, err
	}
	return conns, el, nil
}

func closeScale(conns []*scaleConn) {
	for _, c := range conns {
		if c != nil {
			c.nc.Close()
		}
	}
}

// maskedFrame returns one masked binary client frame carrying p, with a
// random mask key: what every client connection sends for each message.
func maskedFrame(p []byte) []byte {
	var hdr []byte
	switch n := len(p); {
	case n < 126:
		hdr = []byte{0x82, 0x80 | byte(n)}
	case n <= 0xffff:
		hdr = []byte{0x82, 0x80 | 126, byte(n >> 8), byte(n)}
	default:
		hdr = binary.BigEndian.AppendUint64([]byte{0x82, 0x80 | 127}, uint64(n))
	}
	var key [4]byte
	rand.Read(key[:])
	f := append(hdr, key[:]...)
	for i, b := range p {
		f = append(f, b^key[i&3])
	}
	return f
}

// readFrame reads one server frame (unmasked) and returns its opcode and
// payload, valid until the next call.
func (c *scaleConn) readFrame() (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return 0, nil, err
	}
	if masked := h[1]&0x80 != 0; masked != c.floor || h[0]&0x80 == 0 {
		return 0, nil, fmt.Errorf("unexpected frame header % x", h)
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var e [2]byte
		if _, err := io.ReadFull(c.br, e[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(e[:]))
	case 127:
		var e [8]byte
		if _, err := io.ReadFull(c.br, e[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(e[:])
	}
	if c.floor {
		var key [4]byte
		if _, err := io.ReadFull(c.br, key[:]); err != nil {
			return 0, nil, err
		}
	}
	if n > lib.MaxMessage {
		return 0, nil, fmt.Errorf("frame of %d bytes", n)
	}
	if uint64(cap(c.buf)) < n {
		c.buf = make([]byte, n)
	}
	c.buf = c.buf[:n]
	if _, err := io.ReadFull(c.br, c.buf); err != nil {
		return 0, nil, err
	}
	return h[0] & 0x0f, c.buf, nil
}

// roundTrip sends frame and reads the echo of a size-byte binary message.
func (c *scaleConn) roundTrip(frame []byte, size int) error {
	if _, err := c.nc.Write(frame); err != nil {
		return err
	}
	op, p, err := c.readFrame()
	if err != nil {
		return err
	}
	if op != 2 || len(p) != size {
		return fmt.Errorf("echo: opcode %d, %d bytes, want 2 and %d", op, len(p), size)
	}
	return nil
}

// selfCPU returns this process's user plus system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU returns the user plus system CPU time of process pid so far,
// from /proc/pid/stat (clock ticks of 10 ms).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name may hold spaces: fields count from after ')'.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// procPeakRSS returns VmHWM of process pid, in bytes.
func procPeakRSS(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseUint(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// resetPeakRSS makes VmHWM start again from the current RSS (Linux
// clear_refs 5); it reports whether the kernel allowed it.
func resetPeakRSS(pid int) bool {
	return os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0) == nil
}

func (c *Child) pid() int { return c.cmd.Process.Pid }

// Latency is a set of round-trip times.
type Latency struct {
	P50, P90, P99, Max time.Duration
}

func latency(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	at := func(q float64) time.Duration { return d[min(len(d)-1, int(q*float64(len(d))))] }
	return Latency{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: d[len(d)-1]}
}

// BusySample is one cell of the busy-connections table.
type BusySample struct {
	Conns, Size, Msgs int
	Elapsed           time.Duration
	Latency
	ServerCPU time.Duration
	// ClientCPU is this process's CPU time over the cell: the clients.
	ClientCPU time.Duration
	PeakRSS   uint64 // the server's VmHWM during the cell (since the connections opened when the kernel cannot reset it)
}

// MsgsPerSec is echoed messages per second, all connections together.
func (s BusySample) MsgsPerSec() float64 { return float64(s.Msgs) / s.Elapsed.Seconds() }

// CPUPerMillion is the server's CPU seconds per million echoed messages.
func (s BusySample) CPUPerMillion() float64 { return s.ServerCPU.Seconds() / float64(s.Msgs) * 1e6 }

// ClientPerMillion is the clients' CPU seconds per million echoed messages.
func (s BusySample) ClientPerMillion() float64 { return s.ClientCPU.Seconds() / float64(s.Msgs) * 1e6 }

// OtherPerMillion is the CPU time of all CPUs over the cell that neither
// the server nor the clients used, in seconds per million messages: what
// other processes took, or idle time. Near 0 when the two processes had
// the machine to themselves and kept it busy.
func (s BusySample) OtherPerMillion() float64 {
	all := s.Elapsed.Seconds() * float64(runtime.NumCPU())
	return (all - s.ServerCPU.Seconds() - s.ClientCPU.Seconds()) / float64(s.Msgs) * 1e6
}

// BusyLimit bounds one cell of MeasureBusy: a server that has not echoed
// every message by then fails the cell.
const BusyLimit = 60 * time.Second

// MeasureBusy starts lib name's server in a child, opens conns connections
// and, for each size, has every connection echo msgs(size)/conns binary
// messages of that size, one in flight per connection (so conns messages
// in flight in all), after a warm-up of two round trips per connection.
// name may also be one of BusyFloors: a server with no WebSocket code that
// writes back the bytes it reads, whose echo is the client's own frame.
func MeasureBusy(name string, conns int, sizes []int, msgs func(size int) int) ([]BusySample, error) {
	child, err := startBusy(name)
	if err != nil {
		return nil, err
	}
	defer child.Stop()
	cs, _, err := openScale(child.Addr, conns)
	if err != nil {
		return nil, err
	}
	defer closeScale(cs)
	for _, c := range cs {
		c.floor = IsBusyFloor(name)
	}
	var out []BusySample
	for _, size := range sizes {
		per := max(1, msgs(size)/conns)
		frame := maskedFrame(Payload(size, false))
		if _, err := echoAll(cs, frame, size, 2, nil); err != nil {
			return out, fmt.Errorf("%d B warm-up: %w", size, err)
		}
		resetPeakRSS(child.pid())
		rtts := make([]time.Duration, per*conns)
		cpu0, self0 := procCPU(child.pid()), selfCPU()
		el, err := echoAll(cs, frame, size, per, rtts)
		if err != nil {
			return out, fmt.Errorf("%d B: %w", size, err)
		}
		s := BusySample{Conns: conns, Size: size, Msgs: per * conns, Elapsed: el,
			ServerCPU: procCPU(child.pid()) - cpu0, ClientCPU: selfCPU() - self0, PeakRSS: procPeakRSS(child.pid())}
		s.Latency = latency(rtts)
		out = append(out, s)
	}
	return out, nil
}

// startBusy starts the server of a busy row in a child: a floor of
// BusyFloors, or lib name's raw path where it has one, else its net/http
// path.
func startBusy(name string) (*Child, error) {
	if IsBusyFloor(name) {
		return startChild(name + ",raw,busy")
	}
	child, err := StartChild(name, false, false)
	if errors.Is(err, lib.ErrUnsupported) {
		child, err = StartChild(name, true, false)
	}
	return child, err
}

// echoAll has every connection of cs do per round trips of frame at once,
// each connection on its own goroutine, and returns the wall time from the
// common start to the last echo. rtts, when not nil, gets every round
// trip's time (per entries per connection, in order).
func echoAll(cs []*scaleConn, frame []byte, size, per int, rtts []time.Duration) (time.Duration, error) {
	var wg sync.WaitGroup
	var failed atomic.Int64
	var firstErr atomic.Value
	startCh := make(chan struct{})
	deadline := time.Now().Add(BusyLimit)
	for i, c := range cs {
		if c == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.nc.SetDeadline(deadline)
			defer c.nc.SetDeadline(time.Time{})
			<-startCh
			for j := range per {
				t0 := time.Now()
				if err := c.roundTrip(frame, size); err != nil {
					if failed.Add(1) == 1 {
						firstErr.Store(fmt.Errorf("connection %d: %w", i, err))
					}
					return
				}
				if rtts != nil {
					rtts[i*per+j] = time.Since(t0)
				}
			}
		}()
	}
	start := time.Now()
	close(startCh)
	wg.Wait()
	el := time.Since(start)
	if n := failed.Load(); n > 0 {
		return el, fmt.Errorf("%d connections failed, the first: %v", n, firstErr.Load())
	}
	return el, nil
}

// SlowSample compares the busy echo of conns−1 connections on one
// hybi-loop-slow server with and without one more connection that sends
// but never reads.
type SlowSample struct {
	Conns, Size, Msgs int
	QueueLimit        int
	// Without and With are the other connections' round trips without
	// and with the slow reader.
	Without, With Latency
	WithoutRate   float64 // msgs/s
	WithRate      float64
	// SlowSent is what the slow reader sent; SlowHeap the server's heap
	// in use, after a collection, with the slow reader's queue full,
	// minus the same after connection 0 sent messages of the same size
	// as a reading peer: the memory its slowness costs.
	SlowSent int64
	SlowHeap int64
	// SlowFreed is the heap the server freed (runtime.MemStats.HeapAlloc,
	// in bytes) when the slow reader closed its end: the slow
	// connection's own memory; IdleFreed the same for an idle one.
	SlowFreed, IdleFreed int64
	// SlowOpen says the server still held the slow connection at the end
	// (the refuse policy keeps it).
	SlowOpen bool
}

// settledMem is child.Mem asked twice: sync.Pools keep what they held
// through one collection (the victim cache), so only the second sees the
// heap without buffers parked in pools, on both sides of a difference.
// That is done three times, 50 ms apart, and the reading with the least
// heap in use is kept: what the server still had in flight when asked
// (the tail of a socket's backlog being read, a reply being written) only
// ever adds to a reading.
func settledMem(c *Child) (Stats, error) {
	var best Stats
	for i := range 3 { // the least HeapInuse; HeapAlloc moves with it
		if i > 0 {
			time.Sleep(50 * time.Millisecond)
		}
		if _, err := c.Mem(); err != nil {
			return Stats{}, err
		}
		s, err := c.Mem()
		if err != nil {
			return Stats{}, err
		}
		if i == 0 || s.HeapInuse < best.HeapInuse {
			best = s
		}
	}
	return best, nil
}

// SlowRate is how fast the slow reader sends: one SlowMsg-byte message
// every SlowEvery; its socket's receive buffer is shrunk to SlowRcvBuf, so
// that its echoes back up into the server's queue within a fraction of a
// second.
const (
	SlowMsg    = 16 << 10
	SlowEvery  = 2 * time.Millisecond
	SlowRcvBuf = 64 << 10
)

// MeasureSlow runs hybi-loop-slow (queue limit: lib.QueueLimitEnv, set by
// the caller, or lib.SlowQueueLimit) with conns connections: connection 0
// is left idle while the others echo msgs messages of size bytes (one in
// flight each), then connection 0 turns into a slow reader, sending a
// SlowMsg message every SlowEvery without ever reading, for a head start
// of headStart and for the whole of a second identical echo run.
func MeasureSlow(conns, size, msgs int, headStart time.Duration) (SlowSample, error) {
	s := SlowSample{Conns: conns, Size: size, QueueLimit: lib.SlowQueueLimit}
	if n, err := strconv.Atoi(os.Getenv(lib.QueueLimitEnv)); err == nil && n > 0 {
		s.QueueLimit = n
	}
	child, err := StartChild("hybi-loop-slow", false, false)
	if err != nil {
		return s, err
	}
	defer child.Stop()
	cs, _, err := openScale(child.Addr, conns)
	if err != nil {
		return s, err
	}
	defer closeScale(cs)
	slow, others := cs[0], cs[1:]
	per := max(1, msgs/len(others))
	s.Msgs = per * len(others)
	frame := maskedFrame(Payload(size, false))
	if _, err := echoAll(others, frame, size, 2, nil); err != nil {
		return s, fmt.Errorf("warm-up: %w", err)
	}
	run := func() (Latency, float64, error) {
		rtts := make([]time.Duration, per*len(others))
		el, err := echoAll(others, frame, size, per, rtts)
		return latency(rtts), float64(per*len(others)) / el.Seconds(), err
	}
	if s.Without, s.WithoutRate, err = run(); err != nil {
		return s, err
	}
	// The baseline of the memory difference: connection 0 first sends
	// SlowMsg messages as a reading peer does and gets their echoes, so
	// that the server's buffers for messages of that size (its read
	// buffer, the poller's message buffer) are counted on both sides and
	// the difference is what being slow costs: the write queue.
	if _, err := echoAll(cs[:1], maskedFrame(Payload(SlowMsg, false)), SlowMsg, 20, nil); err != nil {
		return s, fmt.Errorf("slow connection's warm-up: %w", err)
	}
	before, err := settledMem(child)
	if err != nil {
		return s, err
	}

	// The slow reader: never reads, sends at a fixed pace until stopped.
	slow.nc.(*net.TCPConn).SetReadBuffer(SlowRcvBuf)
	stop := make(chan struct{})
	done := make(chan error, 1)
	var sent atomic.Int64
	go func() {
		f := maskedFrame(Payload(SlowMsg, false))
		t := time.NewTicker(SlowEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				done <- nil
				return
			case <-t.C:
			}
			slow.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := slow.nc.Write(f); err != nil {
				done <- err
				return
			}
			sent.Add(int64(len(f)))
		}
	}()
	time.Sleep(headStart)
	s.With, s.WithRate, err = run()
	close(stop)
	if serr := <-done; serr != nil && err == nil {
		err = fmt.Errorf("slow reader: %w", serr)
	}
	if err != nil {
		return s, err
	}
	s.SlowSent = sent.Load()
	after, err := settledMem(child)
	if err != nil {
		return s, err
	}
	s.SlowHeap = int64(after.HeapInuse) - int64(before.HeapInuse)
	s.SlowOpen = after.Conns == conns
	// What the server frees when the slow connection goes is its own
	// memory (its queue, any buffer it holds, its Conn), and only that:
	// buffers a poller keeps for all its connections stay. The same for
	// one of the others, an idle connection now, is what any connection
	// holds; the difference is what being slow costs.
	closeOne := func(i, want int) (Stats, error) {
		cs[i].nc.Close()
		cs[i] = nil
		st, err := settledMem(child)
		for wait := time.Now().Add(10 * time.Second); err == nil && st.Conns > want && time.Now().Before(wait); {
			time.Sleep(20 * time.Millisecond)
			st, err = settledMem(child)
		}
		if err == nil && st.Conns > want {
			err = fmt.Errorf("the server still holds connection %d 10 s after it closed", i)
		}
		return st, err
	}
	gone, err := closeOne(0, conns-1)
	if err != nil {
		return s, err
	}
	gone2, err := closeOne(1, conns-2)
	if err != nil {
		return s, err
	}
	s.SlowFreed = int64(after.HeapAlloc) - int64(gone.HeapAlloc)
	s.IdleFreed = int64(gone.HeapAlloc) - int64(gone2.HeapAlloc)
	return s, nil
}

// HBSample is one row of the idle-with-heartbeat table.
type HBSample struct {
	N        int
	Interval time.Duration
	Connect  time.Duration // to upgrade all N, 8 dialers in parallel
	// Per connection, after a collection, over the same server with no
	// connection.
	RSS, Heap, Stack float64
	// CPU is the server's CPU time over Window with the heartbeat
	// running; Pings the pings the clients got in that window.
	Window time.Duration
	CPU    time.Duration
	Pings  int64
	// Broadcast is the time from asking the server for a 64-byte
	// broadcast until every client has it.
	Broadcast time.Duration
}

// CPUPerSec is the server's CPU share (of one core) during the window.
func (s HBSample) CPUPerSec() float64 { return s.CPU.Seconds() / s.Window.Seconds() }

// CPUPerPing is the server's CPU time per ping sent.
func (s HBSample) CPUPerPing() time.Duration {
	if s.Pings == 0 {
		return 0
	}
	return s.CPU / time.Duration(s.Pings)
}

// MeasureIdleHB starts server name (one of lib.Scale's -hb servers; the
// heartbeat interval is lib.HeartbeatEnv's, which the caller sets), opens n
// connections whose clients answer every ping with a pong, measures memory
// per connection, the server's CPU over window, and a 64-byte broadcast.
func MeasureIdleHB(name string, n int, window time.Duration) (HBSample, error) {
	s := HBSample{N: n, Interval: lib.Heartbeat(), Window: window}
	child, err := StartChild(name, false, false)
	if err != nil {
		return s, err
	}
	defer child.Stop()
	warm, _, err := openScale(child.Addr, 50)
	if err != nil {
		return s, err
	}
	closeScale(warm)
	time.Sleep(100 * time.Millisecond)
	base, err := child.Mem()
	if err != nil {
		return s, err
	}
	cs, el, err := openScale(child.Addr, n)
	s.Connect = el
	if err != nil {
		return s, err
	}
	defer closeScale(cs)
	var pings atomic.Int64
	var got sync.WaitGroup
	got.Add(n)
	var bad atomic.Int64
	var readers sync.WaitGroup
	for _, c := range cs {
		readers.Add(1)
		go func() {
			defer readers.Done()
			pong := maskedFrame(nil)
			pong[0] = 0x8a
			gotOne := false
			for {
				op, p, err := c.readFrame()
				if err != nil {
					if !gotOne {
						bad.Add(1)
						got.Done()
					}
					return
				}
				switch op {
				case 9:
					pings.Add(1)
					if len(p) != 0 {
						bad.Add(1)
					}
					c.nc.Write(pong)
				case 2:
					if !gotOne {
						gotOne = true
						if len(p) != 64 {
							bad.Add(1)
						}
						got.Done()
					}
				}
			}
		}()
	}
	defer func() {
		closeScale(cs)
		readers.Wait()
	}()
	time.Sleep(300 * time.Millisecond)
	m, err := child.Mem()
	if err != nil {
		return s, err
	}
	if m.Conns < n {
		return s, fmt.Errorf("%w: server holds %d of %d", ErrTooFew, m.Conns, n)
	}
	f := float64(n)
	s.Heap = (float64(m.HeapInuse) - float64(base.HeapInuse)) / f
	s.Stack = (float64(m.StackInuse) - float64(base.StackInuse)) / f
	s.RSS = (float64(m.RSS) - float64(base.RSS)) / f

	p0, cpu0 := pings.Load(), procCPU(child.pid())
	time.Sleep(window)
	s.CPU = procCPU(child.pid()) - cpu0
	s.Pings = pings.Load() - p0

	start := time.Now()
	if err := child.Broadcast(64); err != nil {
		return s, err
	}
	wait := make(chan struct{})
	go func() { got.Wait(); close(wait) }()
	select {
	case <-wait:
	case <-time.After(30 * time.Second):
		return s, errors.New("broadcast: not every client got it within 30s")
	}
	s.Broadcast = time.Since(start)
	if b := bad.Load(); b > 0 {
		return s, fmt.Errorf("%d clients got a wrong frame or lost the connection", b)
	}
	return s, nil
}
