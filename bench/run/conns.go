package run

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// rawHandshake opens a TCP connection to addr and performs a WebSocket
// client handshake with fixed bytes, identical for every library, so that
// the client's cost is the same for all of them. It returns the connection
// positioned after the response head (no server frame may follow
// unprompted).
func rawHandshake(addr string) (net.Conn, error) {
	nc, _, err := rawHandshakeExt(addr, "")
	return nc, err
}

// rawHandshakeExt is rawHandshake offering the extensions in ext, if any;
// it also returns the response head.
func rawHandshakeExt(addr, ext string) (net.Conn, string, error) {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, "", err
	}
	head, err := clientHandshake(nc, addr, ext)
	if err != nil {
		nc.Close()
		return nil, "", err
	}
	if ext == "" {
		return nc, "", nil
	}
	return nc, head, nil
}

// clientHandshake sends the fixed client request for addr on nc, offering
// ext when not empty, and returns the 101 response head.
func clientHandshake(nc net.Conn, addr, ext string) (string, error) {
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	if ext != "" {
		req += "Sec-WebSocket-Extensions: " + ext + "\r\n"
	}
	req += "\r\n"
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(nc, req); err != nil {
		return "", err
	}
	var buf [1024]byte
	head, err := readHead(nc, buf[:])
	if err != nil {
		return "", fmt.Errorf("handshake: %w", err)
	}
	if len(head) < 12 || string(head[9:12]) != "101" {
		return "", fmt.Errorf("handshake: %q", head)
	}
	nc.SetDeadline(time.Time{})
	return string(head), nil
}

// UpgradeSample is the cost of n sequential handshakes that stay open.
type UpgradeSample struct {
	N         int
	PerUpg    time.Duration // wall time per handshake, client view
	Allocs    float64       // server allocations per connection
	AllocByte float64       // server bytes allocated per connection
}

// MeasureUpgrade starts a child for lib name (http selects the net/http
// path), warms it with a few handshakes, then does n sequential handshakes
// whose connections stay open until the server's counters were read: the
// counts cover accept, upgrade, and the connection's reader parked.
func MeasureUpgrade(name string, http bool, n int) (UpgradeSample, error) {
	var s UpgradeSample
	child, err := StartChild(name, http, false)
	if err != nil {
		return s, err
	}
	defer child.Stop()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 20 {
		c, err := rawHandshake(child.Addr)
		if err != nil {
			return s, err
		}
		conns = append(conns, c)
	}
	before, err := child.Stats()
	if err != nil {
		return s, err
	}
	start := time.Now()
	for range n {
		c, err := rawHandshake(child.Addr)
		if err != nil {
			return s, err
		}
		conns = append(conns, c)
	}
	el := time.Since(start)
	// Let the last connections' readers park.
	time.Sleep(20 * time.Millisecond)
	after, err := child.Stats()
	if err != nil {
		return s, err
	}
	s.N = n
	s.PerUpg = el / time.Duration(n)
	s.Allocs = float64(after.Mallocs-before.Mallocs) / float64(n)
	s.AllocByte = float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
	return s, nil
}

// IdleSample is the server's memory per idle connection and the time to
// broadcast to all of them.
type IdleSample struct {
	N              int
	HeapStack, RSS float64 // bytes per connection
	Heap, Stack    float64
	// Broadcast is the median of BroadcastRepeats broadcasts to all,
	// each timed from the request until every client has read it;
	// BroadcastCPU the server's CPU time per broadcast over them.
	Broadcast    time.Duration
	BroadcastCPU time.Duration
	ConnectTime  time.Duration
}

// BroadcastRepeats is how many broadcasts one idle sample times.
const BroadcastRepeats = 7

// ErrTooFew reports that fewer connections than asked could be opened.
var ErrTooFew = errors.New("could not open all connections")

// MeasureIdle starts lib name's server (raw path when it has one), opens n
// connections with parallel raw handshakes, measures the child's heap,
// stacks and RSS against the empty server, then has every client wait for a
// message and times a 64-byte broadcast until all have received it.
func MeasureIdle(name string, n int) (IdleSample, error) {
	s := IdleSample{N: n}
	child, err := StartChild(name, false, false)
	if err != nil {
		child, err = StartChild(name, true, false)
	}
	if err != nil {
		return s, err
	}
	defer child.Stop()
	// Warm up, so that the baseline already holds what the first
	// connections bring (pools, the engine's buffers).
	var warm []net.Conn
	for range 50 {
		c, err := rawHandshake(child.Addr)
		if err != nil {
			return s, err
		}
		warm = append(warm, c)
	}
	for _, c := range warm {
		c.Close()
	}
	time.Sleep(100 * time.Millisecond)
	base, err := child.Mem()
	if err != nil {
		return s, err
	}
	conns := make([]net.Conn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	const workers = 4
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				c, err := rawHandshake(child.Addr)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("connection %d: %w", i, err)
					}
					mu.Unlock()
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	s.ConnectTime = time.Since(start)
	if firstErr != nil {
		return s, firstErr
	}
	// Let every server-side reader park, then measure.
	time.Sleep(300 * time.Millisecond)
	m, err := child.Mem()
	if err != nil {
		return s, err
	}
	if m.Conns != 0 && m.Conns < n {
		return s, fmt.Errorf("%w: server holds %d of %d", ErrTooFew, m.Conns, n)
	}
	f := float64(n)
	s.Heap = (float64(m.HeapInuse) - float64(base.HeapInuse)) / f
	s.Stack = (float64(m.StackInuse) - float64(base.StackInuse)) / f
	s.HeapStack = s.Heap + s.Stack
	s.RSS = (float64(m.RSS) - float64(base.RSS)) / f

	// Broadcast 64 bytes (a 2-byte header and the payload on each),
	// BroadcastRepeats times: every client reads them in turn, and
	// broadcast k is timed until all have read message k.
	const payload = 64
	got := make([]sync.WaitGroup, BroadcastRepeats)
	for k := range got {
		got[k].Add(n)
	}
	var bad atomic.Int64
	if err := readBroadcasts(conns, payload, got, &bad); err != nil {
		return s, err
	}
	times := make([]time.Duration, len(got))
	cpu0 := procCPU(child.pid())
	for k := range got {
		time.Sleep(150 * time.Millisecond) // every reader parked again
		start = time.Now()
		if err := child.Broadcast(payload); err != nil {
			return s, err
		}
		got[k].Wait()
		times[k] = time.Since(start)
	}
	s.BroadcastCPU = (procCPU(child.pid()) - cpu0) / time.Duration(len(got))
	slices.Sort(times)
	s.Broadcast = times[len(times)/2]
	if b := bad.Load(); b > 0 {
		return s, fmt.Errorf("broadcast: %d of %d messages were not received", b, n*len(got))
	}
	return s, nil
}

// readBroadcastsEach has a goroutine per client read the broadcasts of
// MeasureIdle: message k done on got[k], a client that fails counts its
// missing messages in bad.
func readBroadcastsEach(conns []net.Conn, payload int, got []sync.WaitGroup, bad *atomic.Int64) {
	for _, c := range conns {
		go func() {
			buf := make([]byte, 2+payload)
			c.SetReadDeadline(time.Now().Add(60 * time.Second))
			for k := range got {
				if _, err := io.ReadFull(c, buf); err != nil || buf[0] != 0x82 || int(buf[1]) != payload {
					bad.Add(int64(len(got) - k))
					for ; k < len(got); k++ {
						got[k].Done()
					}
					return
				}
				got[k].Done()
			}
		}()
	}
}
