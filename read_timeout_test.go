package websocket

import (
	"bytes"
	"errors"
	"os"
	"runtime"
	"testing"
	"time"
)

// A read deadline that expires again and again in the middle of a large
// message costs nothing per timeout: the part received so far stays in
// its buffer instead of being copied out and back on every call (which
// made no progress at all when the copy took longer than the deadline).
func TestReadTimeoutKeepsPartial(t *testing.T) {
	for _, dstCap := range []int{0, 4 << 20} {
		client, server := connPair(t, nil, nil)
		msg := bytes.Repeat([]byte("0123456789abcdef"), 3<<20/16) // 3 MiB
		nw, err := client.NextWriter(Binary)
		if err != nil {
			t.Fatal(err)
		}
		written := make(chan error, 1)
		go func() {
			_, err := nw.Write(msg[:2<<20]) // 2 MiB now, the rest later
			written <- err
		}()
		dst := make([]byte, 0, dstCap)
		// Read until what was written is in (the writer may keep its last
		// fragment): each call times out.
		done, still := false, 0
		for start := time.Now(); still < 3 && time.Since(start) < 10*time.Second; {
			before := len(server.partial)
			server.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
			_, b, err := server.ReadMessage(dst)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("ReadMessage = %d bytes, %v; want a timeout mid-message", len(b), err)
			}
			if !done {
				select {
				case err := <-written:
					if err != nil {
						t.Fatal(err)
					}
					done = true
				default:
				}
			} else if len(server.partial) == before {
				still++
			}
		}
		if len(server.partial) < 1<<20 {
			t.Fatalf("only %d bytes of the message arrived", len(server.partial))
		}
		// 200 more timeouts with nothing new to read: neither allocated
		// nor copied into the caller's buffer each time.
		for i := range dst[:cap(dst)] {
			dst[:cap(dst)][i] = 0xAA
		}
		server.SetReadDeadline(time.Now().Add(-time.Second))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 200 {
			if _, _, err := server.ReadMessage(dst); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("ReadMessage: %v, want a timeout", err)
			}
		}
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
			t.Errorf("dst cap %d: 200 timeouts with %d bytes received allocated %d bytes; the partial message is copied", dstCap, len(server.partial), n)
		}
		for i, v := range dst[:cap(dst)] {
			if v != 0xAA {
				t.Fatalf("dst cap %d: byte %d of the caller's buffer was rewritten by the timeouts", dstCap, i)
			}
		}
		go func() {
			nw.Write(msg[2<<20:])
			nw.Close()
		}()
		server.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, b, err := server.ReadMessage(dst)
		if err != nil || !bytes.Equal(b, msg) {
			t.Fatalf("dst cap %d: the message after the timeouts: %d bytes, %v; want it whole", dstCap, len(b), err)
		}
	}
}
