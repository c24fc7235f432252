package websocket

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"testing"
	"time"
)

// Steady-state reads and writes allocate nothing, in both roles and for
// small and large (masked in chunks, read directly) messages.
func TestZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	client, server := connPair(t, nil, nil)
	for _, size := range []int{16, 4000, 100 << 10} {
		msg := bytes.Repeat([]byte{'x'}, size)
		for _, dir := range []struct {
			name string
			w, r *Conn
		}{{"client-to-server", client, server}, {"server-to-client", server, client}} {
			w, r := dir.w, dir.r
			var buf []byte
			// WriteMessage + ReadMessage. Large messages need a reader
			// running concurrently, so use a goroutine per run.
			run := func(name string, write func() error, read func() error) {
				t.Run(dir.name+"/"+name+"/"+strconv.Itoa(size), func(t *testing.T) {
					// A long-lived writer goroutine, so that the harness
					// itself allocates nothing per run.
					start := make(chan struct{})
					errc := make(chan error)
					go func() {
						for range start {
							errc <- write()
						}
					}()
					defer close(start)
					f := func() {
						start <- struct{}{}
						if err := read(); err != nil {
							t.Fatal(err)
						}
						if err := <-errc; err != nil {
							t.Fatal(err)
						}
					}
					f() // warm up buffers and pools
					if got := testing.AllocsPerRun(50, f); got != 0 {
						t.Errorf("%v allocs per message, want 0", got)
					}
				})
			}
			run("WriteMessage-ReadMessage", func() error {
				return w.WriteMessage(Binary, msg)
			}, func() error {
				_, b, err := r.ReadMessage(buf)
				buf = b
				if err == nil && len(b) != size {
					t.Errorf("read %d bytes, want %d", len(b), size)
				}
				return err
			})
			scratch := make([]byte, 8<<10)
			run("NextWriter-NextReader", func() error {
				wc, err := w.NextWriter(Text)
				if err != nil {
					return err
				}
				if _, err := wc.Write(msg[:size/2]); err != nil {
					return err
				}
				if _, err := wc.Write(msg[size/2:]); err != nil {
					return err
				}
				return wc.Close()
			}, func() error {
				_, rd, err := r.NextReader()
				if err != nil {
					return err
				}
				n := 0
				for {
					k, err := rd.Read(scratch)
					n += k
					if err == io.EOF {
						break
					}
					if err != nil {
						return err
					}
				}
				if n != size {
					t.Errorf("read %d bytes, want %d", n, size)
				}
				return nil
			})
		}
	}
}

// memConn serves a fixed request and discards what is written.
type memConn struct {
	net.Conn // nil: only Read, Write, Close and SetReadDeadline are used
	r        bytes.Reader
}

func (m *memConn) Read(p []byte) (int, error)  { return m.r.Read(p) }
func (m *memConn) Write(p []byte) (int, error) { return len(p), nil }
func (m *memConn) Close() error                { return nil }

func (m *memConn) SetReadDeadline(time.Time) error { return nil }

// Upgrade on a raw connection allocates the Conn and nothing else: the
// request head is read with a pooled reader, the locks live in the Conn,
// and no read buffer exists until bytes arrive.
func TestUpgradeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	req := []byte("GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	mc := &memConn{}
	upgrade := func() {
		mc.r.Reset(req)
		c, err := Upgrade(mc, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.rbuf != nil {
			t.Fatal("a new Conn holds a read buffer")
		}
	}
	upgrade()
	if got := testing.AllocsPerRun(100, upgrade); got != 1 {
		t.Errorf("Upgrade makes %v allocations, want 1 (the Conn)", got)
	}
}
