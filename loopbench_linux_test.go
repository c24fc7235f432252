package websocket

import (
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/hybi/websocket/internal/netpoll"
)

// BenchmarkLoopEcho measures a Loop's cost per echoed message, as the busy
// cells of bench/cmd/benchscale do, in one process: conns connections on
// one Loop, each sent a masked 16-byte Binary message and read back its
// echo, one message in flight per connection; every round writes to all
// the connections, then reads all the echoes. Its time includes the
// client's and the kernel's work; for the Loop's own, profile it (the
// poller's functions are apart from the client's), or run it under
// valgrind --tool=callgrind, whose instruction counts the machine's load
// does not move.
func BenchmarkLoopEcho(b *testing.B) {
	if !netpoll.Supported {
		b.Skip("needs epoll")
	}
	for _, conns := range []int{16, 1000} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			l, err := NewLoop(&LoopOptions{OnMessage: echoMessage})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			clients := make([]*net.TCPConn, conns)
			for i := range clients {
				cn, sn := tcpPair(b)
				c, err := newConn(sn, false, nil, &Options{}, "", nil)
				if err != nil {
					b.Fatal(err)
				}
				if err := l.Add(c); err != nil {
					b.Fatal(err)
				}
				clients[i] = cn
			}
			// A masked Binary frame of 16 bytes (key 1, 2, 3, 4) and
			// its unmasked echo.
			payload := []byte("0123456789abcdef")
			frame := []byte{0x82, 0x80 | byte(len(payload)), 1, 2, 3, 4}
			for i, c := range payload {
				frame = append(frame, c^byte(i%4+1))
			}
			want := append([]byte{0x82, byte(len(payload))}, payload...)
			got := make([]byte, len(want))
			round := func() {
				for _, cn := range clients {
					if _, err := cn.Write(frame); err != nil {
						b.Fatal(err)
					}
				}
				for _, cn := range clients {
					if _, err := io.ReadFull(cn, got); err != nil {
						b.Fatal(err)
					}
					if string(got) != string(want) {
						b.Fatalf("echo %x, want %x", got, want)
					}
				}
			}
			round() // warm
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += conns {
				round()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64((b.N+conns-1)/conns*conns), "ns/msg")
		})
	}
}
