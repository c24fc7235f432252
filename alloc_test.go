package websocket

import (
	"bytes"
	"io"
	"strconv"
	"testing"
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
