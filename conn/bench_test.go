package conn_test

import (
	"strings"
	"testing"

	"github.com/hybi/websocket/conn"
	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/mask"
)

var benchSizes = []struct {
	name string
	n    int
}{{"16B", 16}, {"1KiB", 1 << 10}, {"64KiB", 64 << 10}}

// BenchmarkNext parses and unmasks masked binary frames on a server, as
// many as fit in 256 KiB per iteration. Unmasking in place flips the
// buffer between masked and plain on every pass, which binary ignores.
func BenchmarkNext(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			c := mustNew(b, conn.Config{Role: conn.Server})
			payload := strings.Repeat("\xa5", sz.n)
			var stream []byte
			for len(stream) < 256<<10 {
				stream = append(stream, build(conn.Server, fr{op: frame.OpBinary, payload: payload})...)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(stream)))
			for b.Loop() {
				in := stream
				for len(in) > 0 {
					_, n, err := c.Next(in)
					if err != nil {
						b.Fatal(err)
					}
					in = in[n:]
				}
			}
		})
	}
}

// BenchmarkNextText is BenchmarkNext for text frames masked with the zero
// key (the XOR still runs, the bytes stay valid UTF-8), so UTF-8
// validation is included.
func BenchmarkNextText(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			c := mustNew(b, conn.Config{Role: conn.Server})
			payload := []byte(strings.Repeat("héllo wörld ", sz.n/13+1)[:sz.n])
			for !utf8Valid(payload) {
				payload = payload[:len(payload)-1]
			}
			var stream []byte
			for len(stream) < 256<<10 {
				stream = frame.AppendFrame(stream, frame.NewHeader(frame.OpText, frame.Mask, mask.Key{}, 0), payload)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(stream)))
			for b.Loop() {
				in := stream
				for len(in) > 0 {
					_, n, err := c.Next(in)
					if err != nil {
						b.Fatal(err)
					}
					in = in[n:]
				}
			}
		})
	}
}

// BenchmarkReadPayload: the header through Next, the 64 KiB payload through
// the direct path.
func BenchmarkReadPayload(b *testing.B) {
	c := mustNew(b, conn.Config{Role: conn.Server})
	stream := build(conn.Server, fr{op: frame.OpBinary, payload: strings.Repeat("\x5a", 64<<10)})
	hdr := len(stream) - 64<<10
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		if _, n, err := c.Next(stream[:hdr]); err != nil || n != hdr {
			b.Fatal(n, err)
		}
		if _, err := c.ReadPayload(stream[hdr:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendFrame(b *testing.B) {
	for _, role := range roles {
		for _, sz := range benchSizes {
			b.Run(role.String()+"/"+sz.name, func(b *testing.B) {
				c := mustNew(b, conn.Config{Role: role})
				payload := make([]byte, sz.n)
				buf := make([]byte, 0, sz.n+frame.MaxHeaderSize)
				b.ReportAllocs()
				b.SetBytes(int64(sz.n))
				for b.Loop() {
					if _, err := c.AppendFrame(buf[:0], frame.OpBinary, 0, payload); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkAppendHeader(b *testing.B) {
	c := mustNew(b, conn.Config{Role: conn.Client})
	buf := make([]byte, 0, frame.MaxHeaderSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.AppendHeader(buf[:0], frame.OpBinary, 0, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPingPong: a Ping in, the Pong queued and flushed.
func BenchmarkPingPong(b *testing.B) {
	c := mustNew(b, conn.Config{Role: conn.Client})
	stream := build(conn.Client, fr{op: frame.OpPing, payload: "heartbeat"})
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.Next(stream); err != nil {
			b.Fatal(err)
		}
		c.Advance(len(c.Pending()))
	}
}
