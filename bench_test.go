package websocket

import (
	"bytes"
	"context"
	"flag"
	"io"
	"net"
	"runtime"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"
)

var idleConns = flag.Int("idleconns", 1000, "connections for TestIdleMemory")

// benchPair runs fn over a client/server pair in the given direction.
func benchDirections(b *testing.B, fn func(b *testing.B, w, r *Conn)) {
	for _, dir := range []string{"client-to-server", "server-to-client"} {
		b.Run(dir, func(b *testing.B) {
			client, server := connPair(b, nil, nil)
			w, r := client, server
			if dir == "server-to-client" {
				w, r = server, client
			}
			fn(b, w, r)
		})
	}
}

var benchSizes = []int{64, 4 << 10, 64 << 10, 1 << 20}

// BenchmarkWriteReadMessage: WriteMessage on one end, ReadMessage into a
// reused buffer on the other, over loopback TCP.
func BenchmarkWriteReadMessage(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			benchDirections(b, func(b *testing.B, w, r *Conn) {
				msg := bytes.Repeat([]byte{'a'}, size)
				done := make(chan error, 1)
				go func() {
					var buf []byte
					for {
						_, m, err := r.ReadMessage(buf)
						if err != nil {
							done <- err
							return
						}
						buf = m
					}
				}()
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					if err := w.WriteMessage(Binary, msg); err != nil {
						b.Fatal(err)
					}
				}
				w.CloseNow()
				<-done
			})
		})
	}
}

// BenchmarkNextWriterReader: streaming a message through NextWriter in 4 KiB
// writes and reading it with NextReader into a 32 KiB buffer.
func BenchmarkNextWriterReader(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			benchDirections(b, func(b *testing.B, w, r *Conn) {
				msg := bytes.Repeat([]byte{'a'}, size)
				done := make(chan error, 1)
				go func() {
					buf := make([]byte, 32<<10)
					for {
						_, rd, err := r.NextReader()
						if err != nil {
							done <- err
							return
						}
						for {
							if _, err := rd.Read(buf); err == io.EOF {
								break
							} else if err != nil {
								done <- err
								return
							}
						}
					}
				}()
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					wc, err := w.NextWriter(Binary)
					if err != nil {
						b.Fatal(err)
					}
					for p := msg; len(p) > 0; {
						k := min(len(p), 4<<10)
						wc.Write(p[:k])
						p = p[k:]
					}
					if err := wc.Close(); err != nil {
						b.Fatal(err)
					}
				}
				w.CloseNow()
				<-done
			})
		})
	}
}

// BenchmarkEcho is a round trip: the latency of one small message there
// and back.
func BenchmarkEcho(b *testing.B) {
	client, server := connPair(b, nil, nil)
	go echo(server)
	msg := []byte("ping-pong payload")
	var buf []byte
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if err := client.WriteMessage(Text, msg); err != nil {
			b.Fatal(err)
		}
		_, m, err := client.ReadMessage(buf)
		if err != nil {
			b.Fatal(err)
		}
		buf = m
	}
}

func heapInUse() uint64 {
	var ms runtime.MemStats
	for range 3 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// stackInUse returns the bytes of goroutine stacks after collections
// (which shrink stacks that use less than a quarter of their size).
func stackInUse() uint64 {
	var ms runtime.MemStats
	for range 3 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return ms.StackInuse
}

// TestIdleMemory measures the heap held per idle connection after the
// upgrade, over -idleconns loopback connections (Dial + Upgrade). It
// reports the bytes of both Conns of a pair beyond the bare TCP sockets,
// and the same with a reader goroutine parked in ReadMessage on each end,
// and the stack each such goroutine keeps. Run with -v to see the
// numbers.
func TestIdleMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens thousands of sockets")
	}
	n := *idleConns

	// Bare TCP pairs first, for the baseline.
	base := heapInUse()
	var raw []net.Conn
	for range n {
		c, s := tcpPair(t)
		raw = append(raw, c, s)
	}
	rawPer := float64(heapInUse()-base) / float64(n)
	for _, c := range raw {
		c.Close()
	}
	raw = nil
	ln := listen(t)
	addr := "ws://" + ln.Addr().String() + "/"

	servers := make(chan *Conn, n)
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				close(servers)
				return
			}
			c, err := Upgrade(nc, nil, nil)
			if err != nil {
				nc.Close()
				continue
			}
			servers <- c
		}
	}()
	var conns []*Conn
	defer func() {
		for _, c := range conns {
			c.CloseNow()
		}
	}()
	base = heapInUse()
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, _, err := Dial(ctx, addr, &DialOptions{Proxy: NoProxy})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c, <-servers)
	}
	idle := float64(heapInUse()-base) / float64(n)

	stacks := stackInUse()
	readers := make(chan struct{}, 2*n)
	for _, c := range conns {
		go func() {
			c.ReadMessage(nil)
			readers <- struct{}{}
		}()
	}
	time.Sleep(200 * time.Millisecond) // let every reader park in Read
	withReaders := float64(heapInUse()-base) / float64(n)
	stackPer := (float64(stackInUse()) - float64(stacks)) / float64(2*n)

	t.Logf("bare TCP pair (both ends): %.0f B", rawPer)
	t.Logf("idle WebSocket pair after upgrade (both Conns + sockets): %.0f B, %.0f B per Conn beyond TCP", idle, (idle-rawPer)/2)
	t.Logf("with a reader parked on each end: %.0f B per pair, %.0f B per Conn beyond TCP (heap only), and a %.0f B stack per parked reader", withReaders, (withReaders-rawPer)/2, stackPer)
	if per := (idle - rawPer) / 2; per > 3<<10 {
		t.Errorf("an idle Conn holds %.0f bytes beyond its socket, want under 3 KiB", per)
	}
	// A parked reader waits on the Conn's inline buffer: no 4 KiB read
	// buffer per idle connection.
	if per := (withReaders - rawPer) / 2; per > 3<<10 {
		t.Errorf("a Conn with a parked reader holds %.0f bytes beyond its socket, want under 3 KiB", per)
	}
	// ReadMessage parks a quiet connection in a shallow frame: the
	// goroutine keeps its initial 2 KiB stack.
	if stackPer > 3<<10 && !raceEnabled { // the race detector's frames are larger
		t.Errorf("a goroutine parked in ReadMessage keeps a %.0f B stack, want 2 KiB", stackPer)
	}
	for _, c := range conns {
		c.CloseNow()
	}
	for range conns {
		<-readers
	}
	conns = nil
	ln.Close()
	for range servers {
	}
}

// The opening handshake needs more than the 2 KiB stack a goroutine starts
// with, and a goroutine keeps a grown stack while it is parked deep enough.
// Reading on a fresh goroutine after Upgrade keeps the idle reader's stack
// at 2 KiB (docs/troubleshooting.md, "Keeping idle connections small").
func TestStackAfterUpgrade(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("opens hundreds of sockets; the race detector's frames are larger")
	}
	per := map[bool]float64{}
	for _, fresh := range []bool{false, true} {
		ln := listen(t)
		const n = 300
		go func() {
			for {
				nc, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					c, err := Upgrade(nc, nil, nil)
					if err != nil {
						nc.Close()
						return
					}
					if fresh {
						go c.ReadMessage(nil)
						return
					}
					c.ReadMessage(nil)
				}()
			}
		}()
		base := stackInUse()
		var conns []*Conn
		for range n {
			conns = append(conns, dial(t, "ws://"+ln.Addr().String()+"/", &DialOptions{Proxy: NoProxy}))
		}
		time.Sleep(200 * time.Millisecond) // let every reader park
		per[fresh] = (float64(stackInUse()) - float64(base)) / n
		for _, c := range conns {
			c.CloseNow()
		}
		ln.Close()
	}
	t.Logf("stack per idle server reader: %.0f B reading on the handshake's goroutine, %.0f B on a fresh one", per[false], per[true])
	if per[true] > 3<<10 {
		t.Errorf("a reader on a fresh goroutine keeps a %.0f B stack, want 2 KiB", per[true])
	}
}

// BenchmarkTransportEcho is a round trip (client WriteMessage, server echo,
// client ReadMessage) over each test transport: what wss costs per message
// against ws, TLS records and the writer of asyncWriter included.
func BenchmarkTransportEcho(b *testing.B) {
	for _, tr := range testTransports {
		for _, size := range []int{16, 1 << 10, 16 << 10} {
			b.Run(tr.name+"/"+strconv.Itoa(size), func(b *testing.B) {
				client, server := tr.connPair(b, nil, nil, nil)
				go echo(server)
				msg := bytes.Repeat([]byte{'a'}, size)
				var buf []byte
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					if err := client.WriteMessage(Binary, msg); err != nil {
						b.Fatal(err)
					}
					_, m, err := client.ReadMessage(buf)
					if err != nil {
						b.Fatal(err)
					}
					buf = m
				}
			})
		}
	}
}

// sinkConn is a net.Conn whose writes vanish: what a WriteMessage costs
// without the socket.
type sinkConn struct{ net.Conn }

func (sinkConn) Write(p []byte) (int, error) { return len(p), nil }
func (sinkConn) Close() error                { return nil }

// BenchmarkWriteText is a server's WriteMessage of English-like text into
// a sink, with the UTF-8 check (the default) and without
// (Options.SkipUTF8Validation): what refusing invalid text costs.
func BenchmarkWriteText(b *testing.B) {
	for _, size := range []int{16, 1 << 10, 64 << 10} {
		msg := bytes.Repeat([]byte("héllo wörld, "), size/13+1)[:size]
		for len(msg) > 0 && !utf8.Valid(msg) {
			msg = msg[:len(msg)-1]
		}
		for _, skip := range []bool{false, true} {
			name := strconv.Itoa(size) + "/checked"
			if skip {
				name = strconv.Itoa(size) + "/skipped"
			}
			b.Run(name, func(b *testing.B) {
				c, err := newConn(sinkConn{}, false, nil, &Options{SkipUTF8Validation: skip}, "", nil)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.SetBytes(int64(len(msg)))
				for b.Loop() {
					if err := c.WriteMessage(Text, msg); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
