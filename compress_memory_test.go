package websocket

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/hybi/websocket/deflate"
)

var compressConns = flag.Int("compress-conns", 1000, "connection pairs per mode in TestCompressionMemory")

// TestCompressionMemory measures what an idle connection holds for each
// permessage-deflate mode: pairs over loopback that each exchanged three
// messages of about 2 KiB of JSON both ways, then went idle. Heap per
// endpoint (one Conn, its compressor and inflater, its socket), logged as
// the table in docs/performance.md:
//
//	go test -run TestCompressionMemory -v .
//
// It fails if an endpoint with takeover both ways at 15 bits, the
// browsers' default, holds more than 100 KiB (issue 14).
func TestCompressionMemory(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("opens thousands of sockets; the race detector's memory would blur the figures")
	}
	msgs := jsonLines(3, 2<<10)
	modes := []struct {
		name  string
		on    bool
		srv   *deflate.Server
		limit uint64
	}{
		{"off", false, nil, 0},
		{"takeover both ways, 15 bits", true, nil, 100 << 10},
		{"no takeover either way", true, &deflate.Server{ServerNoContextTakeover: true, ClientNoContextTakeover: true}, 0},
		{"server no takeover", true, &deflate.Server{ServerNoContextTakeover: true}, 0},
		{"client no takeover", true, &deflate.Server{ClientNoContextTakeover: true}, 0},
		{"takeover, 12 bits both ways", true, &deflate.Server{ServerMaxWindowBits: 12, ClientMaxWindowBits: 12}, 0},
		{"takeover, 9 bits both ways", true, &deflate.Server{ServerMaxWindowBits: 9, ClientMaxWindowBits: 9}, 0},
	}
	n := *compressConns
	for _, m := range modes {
		per := compressedIdle(t, n, m.on, m.srv, msgs)
		t.Logf("%-30s %6.1f KiB per endpoint", m.name, float64(per)/1024)
		if m.limit > 0 && per > m.limit {
			t.Errorf("%s: %d bytes per endpoint, want at most %d", m.name, per, m.limit)
		}
	}
}

// jsonLines returns n JSON messages of about size bytes.
func jsonLines(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		var b []byte
		for j := 0; len(b) < size; j++ {
			b = fmt.Appendf(b, `{"user":"user%d","room":"general","text":"message %d of %d","ts":%d}`, j%37, i, j, int64(1733400000000)+int64(i*1000+j))
		}
		out[i] = b
	}
	return out
}

// compressedIdle opens n pairs, exchanges msgs both ways on each and
// returns the heap per endpoint while they are idle.
func compressedIdle(t *testing.T, n int, on bool, srv *deflate.Server, msgs [][]byte) uint64 {
	t.Helper()
	ln := listen(t)
	defer ln.Close()
	servers := make(chan *Conn, n)
	opts := &AcceptOptions{Options: Options{Compression: on}, CompressionServer: srv}
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			c, err := Upgrade(nc, nil, opts)
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
	url := "ws://" + ln.Addr().String() + "/"
	base := heapInUse()
	var buf []byte
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, _, err := Dial(ctx, url, &DialOptions{Proxy: NoProxy, Options: Options{Compression: on}})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		s := <-servers
		conns = append(conns, c, s)
		for _, m := range msgs {
			if err := c.WriteMessage(Text, m); err != nil {
				t.Fatal(err)
			}
			if _, buf, err = s.ReadMessage(buf); err != nil {
				t.Fatal(err)
			}
			if err := s.WriteMessage(Text, m); err != nil {
				t.Fatal(err)
			}
			if _, buf, err = c.ReadMessage(buf); err != nil {
				t.Fatal(err)
			}
		}
	}
	buf = nil
	return (heapInUse() - base) / uint64(2*n)
}
