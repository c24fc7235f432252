package websocket

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hybi/websocket/deflate"
)

// The net.Conn of NetConn is checked the way golang.org/x/net/nettest
// checks a net.Conn (basic I/O, ping-pong, racy reads and writes,
// deadlines in the past, present and future, Close unblocking Read and
// Write, errors after Close), written here so that the module needs no
// dependency, plus what is particular to a WebSocket: message boundaries,
// the message type, a clean close by the peer as io.EOF, and that no
// deadline kills the WebSocket underneath. Every test runs over each
// transport (DESIGN.md, decision 8).

// netConnPair returns the two ends of a loopback WebSocket over tr as
// net.Conns of binary messages, and the Conns under them.
func netConnPair(t testing.TB, tr testTransport, copts, sopts *Options) (client, server net.Conn, cc, sc *Conn) {
	t.Helper()
	cc, sc = tr.connPair(t, copts, sopts, nil)
	client = NetConn(context.Background(), cc, Binary)
	server = NetConn(context.Background(), sc, Binary)
	return client, server, cc, sc
}

// forTransports runs f as a parallel subtest for each transport.
func forTransports(t *testing.T, f func(t *testing.T, tr testTransport)) {
	for _, tr := range testTransports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			f(t, tr)
		})
	}
}

// randomBytes returns n bytes from a seeded generator, so that a failure
// can be replayed.
func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}).Read(b)
	return b
}

// chunkedWrite writes p to w in writes of random sizes up to 64 KiB.
func chunkedWrite(w io.Writer, p []byte, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 1))
	for len(p) > 0 {
		k := min(len(p), 1+rng.IntN(64<<10))
		n, err := w.Write(p[:k])
		if err != nil {
			return err
		}
		if n != k {
			return io.ErrShortWrite
		}
		p = p[k:]
	}
	return nil
}

// drain reads r to its end in a goroutine and sends io.Copy's error (nil
// at io.EOF).
func drain(r io.Reader) <-chan error {
	errc := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, r)
		errc <- err
	}()
	return errc
}

// readAsync starts one Read of c in a goroutine and sends its error.
func readAsync(c net.Conn) <-chan error {
	errc := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 8))
		errc <- err
	}()
	return errc
}

// checkTimeout fails the test unless err is a deadline error as a
// net.Conn returns it.
func checkTimeout(t testing.TB, what string, err error) {
	t.Helper()
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("%s: got %v, want a timeout matching os.ErrDeadlineExceeded and net.Error.Timeout", what, err)
	}
}

// A large random payload crosses in each direction through io.Copy
// (writes of random sizes, each one message), and Close on the writing
// side reads as io.EOF on the other.
func TestNetConnBasicIO(t *testing.T) {
	forTransports(t, func(t *testing.T, tr testTransport) {
		for _, dir := range []string{"client-to-server", "server-to-client"} {
			t.Run(dir, func(t *testing.T) {
				client, server, _, _ := netConnPair(t, tr, nil, nil)
				w, r := client, server
				if dir == "server-to-client" {
					w, r = server, client
				}
				want := randomBytes(4<<20, 1)
				errc := make(chan error, 1)
				go func() {
					err := chunkedWrite(w, want, 2)
					if cerr := w.Close(); err == nil {
						err = cerr
					}
					errc <- err
				}()
				var got bytes.Buffer
				n, err := io.Copy(&got, r) // io.Copy stops at io.EOF and returns nil
				if err != nil {
					t.Fatalf("io.Copy: %v after %d bytes", err, n)
				}
				if err := <-errc; err != nil {
					t.Fatalf("writer: %v", err)
				}
				if !bytes.Equal(got.Bytes(), want) {
					t.Fatalf("received %d bytes, want the %d bytes sent", got.Len(), len(want))
				}
				// io.EOF is sticky, and the receiver's Close after the
				// peer's clean close succeeds.
				if _, err := r.Read(make([]byte, 1)); err != io.EOF {
					t.Errorf("Read after EOF: %v, want io.EOF", err)
				}
				if err := r.Close(); err != nil {
					t.Errorf("Close after the peer's close: %v", err)
				}
			})
		}
	})
}

// Both directions at once: the server echoes with io.Copy(server,
// server) while the client writes a large payload and reads it back, on
// plain and on compressed (permessage-deflate) connections.
func TestNetConnEcho(t *testing.T) {
	forTransports(t, func(t *testing.T, tr testTransport) {
		for _, compressed := range []bool{false, true} {
			t.Run("compressed="+strconv.FormatBool(compressed), func(t *testing.T) {
				testNetConnEcho(t, tr, compressed)
			})
		}
	})
}

func testNetConnEcho(t *testing.T, tr testTransport, compressed bool) {
	var params *deflate.Params
	if compressed {
		params = &deflate.Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}
	}
	cc, sc := tr.connPair(t, nil, nil, params)
	client := NetConn(context.Background(), cc, Binary)
	server := NetConn(context.Background(), sc, Binary)
	// Half random, half text-like, so that compression has work.
	want := append(randomBytes(1<<20, 3), bytes.Repeat([]byte("tunnel "), 150_000)...)
	echoed := make(chan error, 1)
	go func() {
		_, err := io.Copy(server, server)
		echoed <- err
	}()
	wrote := make(chan error, 1)
	go func() { wrote <- chunkedWrite(client, want, 4) }()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(client, got); err != nil {
		t.Fatalf("reading the echo: %v", err)
	}
	if err := <-wrote; err != nil {
		t.Fatalf("writer: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the echo differs from what was sent")
	}
	if err := client.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-echoed:
		if err != nil {
			t.Fatalf("echo io.Copy ended with %v, want nil (io.EOF)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the echo did not see the close")
	}
}

// Small writes answered one by one: each side reads exactly what the
// other wrote, in order (nettest's PingPong).
func TestNetConnPingPong(t *testing.T) {
	forTransports(t, func(t *testing.T, tr testTransport) {
		client, server, _, _ := netConnPair(t, tr, nil, nil)
		const rounds = 200
		errc := make(chan error, 1)
		go func() {
			buf := make([]byte, 8)
			for {
				if _, err := io.ReadFull(server, buf); err != nil {
					if err == io.EOF {
						err = nil
					}
					errc <- err
					return
				}
				v := binary.BigEndian.Uint64(buf)
				binary.BigEndian.PutUint64(buf, v+1)
				if _, err := server.Write(buf); err != nil {
					errc <- err
					return
				}
			}
		}()
		buf := make([]byte, 8)
		for i := uint64(0); i < rounds; i += 2 {
			binary.BigEndian.PutUint64(buf, i)
			if _, err := client.Write(buf); err != nil {
				t.Fatalf("round %d: write: %v", i, err)
			}
			if _, err := io.ReadFull(client, buf); err != nil {
				t.Fatalf("round %d: read: %v", i, err)
			}
			if got := binary.BigEndian.Uint64(buf); got != i+1 {
				t.Fatalf("round %d: got %d, want %d", i, got, i+1)
			}
		}
		client.Close()
		if err := <-errc; err != nil {
			t.Fatalf("server: %v", err)
		}
	})
}

// Reads span message boundaries, skip empty messages, and return the rest
// of a message to the next Read; a Write of zero bytes sends nothing.
func TestNetConnMessageBoundaries(t *testing.T) {
	forTransports(t, func(t *testing.T, tr testTransport) {
		client, server, cc, _ := netConnPair(t, tr, nil, nil)
		for _, m := range []string{"ab", "", "cdef", "", "", "g"} {
			if err := cc.WriteMessage(Binary, []byte(m)); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := client.Write(nil); n != 0 || err != nil {
			t.Fatalf("Write(nil) = %d, %v; want 0, nil", n, err)
		}
		if _, err := client.Write([]byte("h")); err != nil {
			t.Fatal(err)
		}
		var got []byte
		buf := make([]byte, 3)
		for len(got) < 8 {
			n, err := server.Read(buf)
			if err != nil {
				t.Fatalf("after %q: %v", got, err)
			}
			got = append(got, buf[:n]...)
		}
		if string(got) != "abcdefgh" {
			t.Fatalf("read %q, want %q", got, "abcdefgh")
		}
		if n, err := server.Read(nil); n != 0 || err != nil {
			t.Fatalf("Read(nil) = %d, %v; want 0, nil", n, err)
		}
	})
}

// Concurrent Reads, Writes, deadline changes and address queries are
// safe (run with -race) and lose no byte: whatever several writers send
// in 1 KiB messages, several readers receive, in total.
func TestNetConnConcurrentMethods(t *testing.T) {
	forTransports(t, func(t *testing.T, tr testTransport) {
		client, server, _, _ := netConnPair(t, tr, nil, nil)
		const writers, perWriter, size = 4, 50, 1 << 10
		var received atomic.Int64
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				buf := make([]byte, 700)
				for {
					n, err := server.Read(buf)
					received.Add(int64(n))
					if err != nil {
						if err != io.EOF && !errors.Is(err, net.ErrClosed) {
							t.Errorf("reader: %v", err)
						}
						return
					}
				}
			})
		}
		var ww sync.WaitGroup
		for i := range writers {
			ww.Go(func() {
				p := randomBytes(size, uint64(i))
				for range perWriter {
					if _, err := client.Write(p); err != nil {
						t.Errorf("writer: %v", err)
						return
					}
				}
			})
		}
		stop := make(chan struct{})
		var side sync.WaitGroup
		side.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				client.SetWriteDeadline(time.Now().Add(time.Hour))
				server.SetReadDeadline(time.Now().Add(time.Hour))
				_, _ = client.LocalAddr(), server.RemoteAddr()
				time.Sleep(time.Millisecond)
			}
		})
		ww.Wait()
		want := int64(writers * perWriter * size)
		for start := time.Now(); received.Load() < want && time.Since(start) < 10*time.Second; {
			time.Sleep(5 * time.Millisecond)
		}
		close(stop)
		side.Wait()
		if got := received.Load(); got != want {
			t.Fatalf("received %d bytes, want %d", got, want)
		}
		client.Close()
		wg.Wait()
	})
}

// A deadline in the past fails Read and Write at once, even when the next
// bytes are already buffered, and kills nothing: once it is cleared, the
// stream goes on exactly where it stopped, and a refused Write sent no
// byte.
func TestNetConnPastDeadline(t *testing.T) {
	forTransports(t, func(t *testing.T, tr testTransport) {
		client, server, _, _ := netConnPair(t, tr, nil, nil)
		if _, err := client.Write([]byte("0123456789")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(server, buf); err != nil || string(buf) != "0123" {
			t.Fatalf("read %q, %v", buf, err)
		}
		// "456789" is buffered now.
		server.SetReadDeadline(time.Now().Add(-time.Second))
		for i := range 3 {
			n, err := server.Read(buf)
			if n != 0 {
				t.Fatalf("Read with a past deadline returned %d bytes", n)
			}
			checkTimeout(t, "Read #"+strconv.Itoa(i)+" with a past deadline", err)
		}
		client.SetWriteDeadline(time.Now().Add(-time.Second))
		n, err := client.Write([]byte("lost"))
		if n != 0 {
			t.Fatalf("Write with a past deadline returned %d", n)
		}
		checkTimeout(t, "Write with a past deadline", err)

		server.SetReadDeadline(time.Time{})
		client.SetWriteDeadline(time.Time{})
		if _, err := client.Write([]byte("ab")); err != nil {
			t.Fatalf("Write after clearing the deadline: %v", err)
		}
		got := make([]byte, 8)
		if _, err := io.ReadFull(server, got); err != nil {
			t.Fatalf("Read after clearing the deadline: %v", err)
		}
		if string(got) != "456789ab" {
			t.Fatalf("read %q, want %q", got, "456789ab")
		}
	})
}

// A deadline in the future ends a blocked Read after about its duration;
// a deadline extended while Read is blocked is honoured; and after any
// number of timeouts the next Read gets the data.
func TestNetConnFutureDeadline(t *testing.T) {
	forTransports(t, func(t *testing.T, tr testTransport) {
		client, server, _, _ := netConnPair(t, tr, nil, nil)
		buf := make([]byte, 16)
		for i := range 3 {
			const d = 50 * time.Millisecond
			start := time.Now()
			server.SetReadDeadline(start.Add(d))
			_, err := server.Read(buf)
			checkTimeout(t, "Read #"+strconv.Itoa(i), err)
			if el := time.Since(start); el < d || el > d+5*time.Second {
				t.Fatalf("Read timed out after %v, want about %v", el, d)
			}
		}
		// Extended while blocked: the first deadline must not fire.
		server.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		go func() {
			time.Sleep(10 * time.Millisecond)
			server.SetReadDeadline(time.Now().Add(10 * time.Second))
			time.Sleep(150 * time.Millisecond)
			client.Write([]byte("late"))
		}()
		n, err := server.Read(buf)
		if err != nil || string(buf[:n]) != "late" {
			t.Fatalf("Read after extending the deadline: %q, %v", buf[:n], err)
		}
	})
}

// Deadlines that fire again and again in the middle of a 1 MiB message,
// sent slowly in fragments, never corrupt or end the stream.
func TestNetConnReadDeadlineResumes(t *testing.T) {
	forTransports(t, func(t *testing.T, tr testTransport) {
		_, server, cc, _ := netConnPair(t, tr, nil, nil)
		msg := randomBytes(1<<20, 5)
		// Paced: a gap after each fragment is longer than the reader's
		// deadline, so that its deadline passes again and again.
		frag, gap, deadline := 16<<10, 8*time.Millisecond, 3*time.Millisecond
		if raceEnabled {
			frag, gap, deadline = 64<<10, 60*time.Millisecond, 20*time.Millisecond
		}
		go func() {
			w, err := cc.NextWriter(Binary)
			if err != nil {
				return
			}
			for p := msg; len(p) > 0; p = p[min(len(p), frag):] {
				w.Write(p[:min(len(p), frag)])
				time.Sleep(gap)
			}
			w.Close()
		}()
		got := make([]byte, 0, len(msg))
		buf := make([]byte, 32<<10)
		timeouts := 0
		for start := time.Now(); len(got) < len(msg); {
			if time.Since(start) > 30*time.Second {
				t.Fatalf("%d of %d bytes after 30 s", len(got), len(msg))
			}
			server.SetReadDeadline(time.Now().Add(deadline))
			n, err := server.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				checkTimeout(t, "Read", err)
				timeouts++
			}
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("the stream was corrupted after %d timeouts", timeouts)
		}
		if timeouts == 0 {
			t.Error("no Read timed out: the deadline was not exercised")
		}
		t.Logf("1 MiB read whole across %d timeouts", timeouts)
	})
}

// A Write to a peer that does not read times out, and the stream stays
// whole: a Write that returned n > 0 was sent in full (even when its
// deadline passed mid-message: n is len(p) and the error matches
// ErrWriteQueued), one that returned 0 sent nothing, and once the peer
// reads, it gets exactly the committed writes and then the next ones.
func TestNetConnWriteDeadline(t *testing.T) {
	forTransports(t, func(t *testing.T, tr testTransport) {
		client, server, _, _ := netConnPair(t, tr, nil, nil)
		var sent []byte
		timedOut := false
		for i := 0; i < 200 && !timedOut; i++ {
			p := bytes.Repeat([]byte{byte(i)}, 256<<10)
			client.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
			n, err := client.Write(p)
			switch {
			case err == nil:
			case n == len(p):
				if !errors.Is(err, ErrWriteQueued) {
					t.Fatalf("Write returned %d with %v: a committed write must match ErrWriteQueued", n, err)
				}
				checkTimeout(t, "Write (queued)", err)
				timedOut = true
			case n == 0:
				checkTimeout(t, "Write", err)
				timedOut = true
			default:
				t.Fatalf("Write returned %d of %d with %v", n, len(p), err)
			}
			if n > 0 {
				sent = append(sent, p[:n]...)
			}
		}
		if !timedOut {
			t.Fatal("50 MiB written to a peer that does not read without a timeout")
		}
		client.SetWriteDeadline(time.Time{})
		sent = append(sent, "end"...)
		done := make(chan error, 1)
		go func() {
			_, err := client.Write([]byte("end"))
			done <- err
		}()
		got := make([]byte, len(sent))
		server.SetReadDeadline(time.Now().Add(20 * time.Second))
		if _, err := io.ReadFull(server, got); err != nil {
			t.Fatalf("reading %d bytes: %v", len(sent), err)
		}
		if err := <-done; err != nil {
			t.Fatalf("Write after the timeout: %v", err)
		}
		if !bytes.Equal(got, sent) {
			t.Fatal("the stream after a write timeout is not the committed writes in order")
		}
	})
}

// Close unblocks a Read waiting for data and a Write blocked on a peer
// that does not read, from another goroutine, within its bounded closing
// handshake; both then return errors matching net.ErrClosed.
func TestNetConnCloseUnblocks(t *testing.T) {
	forTransports(t, func(t *testing.T, tr testTransport) {
		t.Run("read/peer-reads", func(t *testing.T) {
			client, server, _, _ := netConnPair(t, tr, nil, nil)
			peer := drain(server)
			errc := readAsync(client)
			time.Sleep(20 * time.Millisecond)
			start := time.Now()
			if err := client.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if el := time.Since(start); el > 3*time.Second {
				t.Errorf("Close took %v with a peer that answers", el)
			}
			if err := <-errc; !errors.Is(err, net.ErrClosed) {
				t.Fatalf("blocked Read returned %v, want net.ErrClosed", err)
			}
			if err := <-peer; err != nil {
				t.Fatalf("the peer's io.Copy ended with %v, want nil (io.EOF)", err)
			}
		})
		t.Run("read/peer-silent", func(t *testing.T) {
			opts := &Options{CloseTimeout: 200 * time.Millisecond}
			client, _, _, _ := netConnPair(t, tr, opts, opts)
			errc := readAsync(client)
			time.Sleep(20 * time.Millisecond)
			client.Close()
			select {
			case err := <-errc:
				if !errors.Is(err, net.ErrClosed) {
					t.Fatalf("blocked Read returned %v, want net.ErrClosed", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Close did not unblock Read")
			}
		})
		t.Run("write", func(t *testing.T) {
			opts := &Options{CloseTimeout: 200 * time.Millisecond}
			client, _, _, _ := netConnPair(t, tr, opts, opts)
			errc := make(chan error, 1)
			var writes atomic.Int64
			go func() {
				p := make([]byte, 1<<20)
				for range 200 { // 200 MiB: far more than the socket buffers hold
					if _, err := client.Write(p); err != nil {
						errc <- err
						return
					}
					writes.Add(1)
				}
				errc <- nil
			}()
			// Wait until the writer is stuck.
			for last, stable := int64(-1), 0; stable < 5; time.Sleep(20 * time.Millisecond) {
				if n := writes.Load(); n == last {
					stable++
				} else {
					last, stable = n, 0
				}
			}
			start := time.Now()
			client.Close()
			select {
			case err := <-errc:
				if !errors.Is(err, net.ErrClosed) {
					t.Fatalf("blocked Write returned %v, want net.ErrClosed", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Close did not unblock Write")
			}
			if el := time.Since(start); el > 3*time.Second {
				t.Errorf("Close took %v, want about CloseTimeout (200ms)", el)
			}
		})
	})
}

// After Close every method fails with an error matching net.ErrClosed
// (a second Close too), the addresses stay available, and the peer reads
// io.EOF and gets an error with the peer's close code from Write.
func TestNetConnAfterClose(t *testing.T) {
	forTransports(t, func(t *testing.T, tr testTransport) {
		client, server, cc, _ := netConnPair(t, tr, nil, nil)
		if _, err := client.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		peer := drain(server)
		if err := client.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := <-peer; err != nil {
			t.Fatalf("peer's io.Copy ended with %v, want nil (io.EOF)", err)
		}
		checks := map[string]error{
			"Close":            client.Close(),
			"SetDeadline":      client.SetDeadline(time.Now()),
			"SetReadDeadline":  client.SetReadDeadline(time.Now()),
			"SetWriteDeadline": client.SetWriteDeadline(time.Now()),
		}
		_, checks["Read"] = client.Read(make([]byte, 1))
		_, checks["Write"] = client.Write([]byte("y"))
		for name, err := range checks {
			var oe *net.OpError
			if !errors.Is(err, net.ErrClosed) || !errors.As(err, &oe) {
				t.Errorf("%s after Close: %v, want a *net.OpError matching net.ErrClosed", name, err)
			}
		}
		if client.LocalAddr().String() != cc.LocalAddr().String() || client.RemoteAddr().String() != cc.RemoteAddr().String() {
			t.Errorf("addresses %v %v, want the connection's %v %v", client.LocalAddr(), client.RemoteAddr(), cc.LocalAddr(), cc.RemoteAddr())
		}
		if _, err := server.Write([]byte("z")); CloseStatus(err) != CloseNormal {
			t.Errorf("peer's Write after the close: %v, want an error with close code 1000", err)
		}
		if _, err := server.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("peer's Read after the close: %v, want io.EOF", err)
		}
	})
}

// How the peer ends the stream decides what Read returns: io.EOF for a
// clean close (1000, 1001, an empty Close frame), else an error carrying
// the *CloseError; a message of the other type fails the stream with
// 1003.
func TestNetConnPeerEnds(t *testing.T) {
	forTransports(t, func(t *testing.T, tr testTransport) {
		for _, tc := range []struct {
			name    string
			end     func(c *Conn)
			wantEOF bool
			code    CloseCode
		}{
			{"normal", func(c *Conn) { c.Close(CloseNormal, "bye") }, true, CloseNormal},
			{"going-away", func(c *Conn) { c.Close(CloseGoingAway, "") }, true, CloseGoingAway},
			{"no-status", func(c *Conn) { c.Close(CloseNoStatus, "") }, true, CloseNoStatus},
			{"internal-error", func(c *Conn) { c.Close(CloseInternalError, "boom") }, false, CloseInternalError},
			{"vanished", func(c *Conn) { c.NetConn().Close() }, false, CloseAbnormal},
			{"wrong-type", func(c *Conn) {
				c.WriteMessage(Text, []byte("text"))
				readUntilError(c)
			}, false, CloseUnsupportedData},
		} {
			t.Run(tc.name, func(t *testing.T) {
				client, _, _, sc := netConnPair(t, tr, nil, nil)
				done := make(chan struct{})
				go func() { defer close(done); tc.end(sc) }()
				defer func() { <-done }()
				_, err := io.ReadAll(client) // nil at io.EOF
				if tc.wantEOF {
					if err != nil {
						t.Fatalf("Read: %v, want io.EOF", err)
					}
					return
				}
				if err == nil {
					t.Fatal("Read: io.EOF, want an error")
				}
				if got := CloseStatus(err); got != tc.code {
					t.Fatalf("Read: %v: close code %v, want %v", err, got, tc.code)
				}
			})
		}
	})
}

// The ctx given to NetConn bounds its life: when it ends, a blocked Read
// returns an error matching net.ErrClosed and the context's cause, and the
// peer sees a normal close.
func TestNetConnContext(t *testing.T) {
	forTransports(t, func(t *testing.T, tr testTransport) {
		cc, sc := tr.connPair(t, nil, nil, nil)
		ctx, cancel := context.WithCancel(context.Background())
		client := NetConn(ctx, cc, Binary)
		server := NetConn(context.Background(), sc, Binary)
		peer := drain(server)
		errc := readAsync(client)
		time.Sleep(20 * time.Millisecond)
		cancel()
		select {
		case err := <-errc:
			if !errors.Is(err, net.ErrClosed) || !errors.Is(err, context.Canceled) {
				t.Fatalf("Read: %v, want net.ErrClosed and context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("ending the context did not unblock Read")
		}
		if err := <-peer; err != nil {
			t.Fatalf("peer: %v, want io.EOF", err)
		}
	})
}

// A net.Conn of text messages needs each Write to be whole UTF-8; an
// invalid one is refused before any byte is sent, and the stream goes on.
// A message type other than Text or Binary fails every Read and Write.
func TestNetConnTextAndBadType(t *testing.T) {
	client, server := connPair(t, nil, nil)
	tc := NetConn(context.Background(), client, Text)
	ts := NetConn(context.Background(), server, Text)
	if n, err := tc.Write([]byte{0xe2, 0x82}); n != 0 || !errors.Is(err, ErrInvalidText) {
		t.Fatalf("Write of a cut UTF-8 sequence: %d, %v; want 0 and ErrInvalidText", n, err)
	}
	if _, err := tc.Write([]byte("€ ok")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := ts.Read(buf)
	if err != nil || string(buf[:n]) != "€ ok" {
		t.Fatalf("Read %q, %v", buf[:n], err)
	}
	bad := NetConn(context.Background(), client, MessageType(9))
	if _, err := bad.Write([]byte("x")); !errors.Is(err, errBadMessageType) {
		t.Errorf("Write with a bad type: %v", err)
	}
	if _, err := bad.Read(buf); !errors.Is(err, errBadMessageType) {
		t.Errorf("Read with a bad type: %v", err)
	}
}

// Reading and writing through the net.Conn allocate nothing in steady
// state, for small and large messages in both roles.
func TestNetConnZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	client, server, _, _ := netConnPair(t, testTransports[0], nil, nil)
	for _, size := range []int{64, 100 << 10} {
		for _, dir := range []struct {
			name string
			w, r net.Conn
		}{{"client-to-server", client, server}, {"server-to-client", server, client}} {
			t.Run(dir.name+"/"+strconv.Itoa(size), func(t *testing.T) {
				msg := make([]byte, size)
				buf := make([]byte, size)
				start := make(chan struct{})
				errc := make(chan error)
				go func() {
					for range start {
						_, err := dir.w.Write(msg)
						errc <- err
					}
				}()
				defer close(start)
				f := func() {
					start <- struct{}{}
					if _, err := io.ReadFull(dir.r, buf); err != nil {
						t.Fatal(err)
					}
					if err := <-errc; err != nil {
						t.Fatal(err)
					}
				}
				f()
				if got := testing.AllocsPerRun(50, f); got != 0 {
					t.Errorf("%v allocs per Write+Read, want 0", got)
				}
			})
		}
	}
}

// An HTTP/1.1 server and client talk through the tunnel: the server's
// listener accepts the NetConns of WebSocket connections, the client's
// transport dials them. Three requests share one connection (keep-alive:
// between requests net/http's server interrupts its background read with
// a past deadline, which must not end the WebSocket), and a 1 MiB body
// goes both ways.
func TestNetConnHTTPTunnel(t *testing.T) {
	forTransports(t, func(t *testing.T, tr testTransport) {
		ln := newConnListener()
		url := tr.serveHTTP(t, nil, func(c *Conn) {
			nc := &notifyConn{Conn: NetConn(context.Background(), c, Binary), closed: make(chan struct{})}
			select {
			case ln.conns <- nc:
				<-nc.closed
			case <-ln.done:
			}
		})
		mux := http.NewServeMux()
		mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hello over "+r.Proto)
		})
		mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(w, r.Body)
		})
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()

		var dials atomic.Int32
		transport := &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				c, _, err := Dial(ctx, url, tr.dialOptions(nil))
				if err != nil {
					return nil, err
				}
				return NetConn(context.Background(), c, Binary), nil
			},
		}
		client := &http.Client{Transport: transport, Timeout: 20 * time.Second}
		defer func() {
			transport.CloseIdleConnections()
			srv.Close()
			if err := <-served; !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("Serve: %v", err)
			}
		}()

		for i := range 2 {
			resp, err := client.Get("http://tunnel.example/hello")
			if err != nil {
				t.Fatalf("GET #%d: %v", i, err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || string(body) != "hello over HTTP/1.1" {
				t.Fatalf("GET #%d: %d %q %v", i, resp.StatusCode, body, err)
			}
		}
		want := randomBytes(1<<20, 7)
		resp, err := client.Post("http://tunnel.example/echo", "application/octet-stream", bytes.NewReader(want))
		if err != nil {
			t.Fatalf("POST: %v", err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("POST echo: %d of %d bytes, %v", len(got), len(want), err)
		}
		if n := dials.Load(); n != 1 {
			t.Errorf("%d WebSocket connections for 3 requests, want 1 (keep-alive through the tunnel)", n)
		}
	})
}

// connListener is a net.Listener whose connections are handed over on a
// channel: here, the NetConns of accepted WebSocket connections.
type connListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newConnListener() *connListener {
	return &connListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// notifyConn closes its channel when the net.Conn is closed, so that the
// WebSocket handler knows when the HTTP server is done with it.
type notifyConn struct {
	net.Conn
	once   sync.Once
	closed chan struct{}
}

func (c *notifyConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { close(c.closed) })
	return err
}

// BenchmarkNetConn: a round trip of one message client to server and back,
// through the net.Conn (Write, io.ReadFull) and, for comparison in the
// same run, through the Conn (WriteMessage, ReadMessage), over loopback
// TCP.
func BenchmarkNetConn(b *testing.B) {
	for _, size := range []int{64, 64 << 10} {
		for _, api := range []string{"NetConn", "Conn"} {
			b.Run(api+"/"+strconv.Itoa(size), func(b *testing.B) {
				client, server, cc, sc := netConnPair(b, testTransports[0], nil, nil)
				msg := make([]byte, size)
				buf := make([]byte, size)
				if api == "NetConn" {
					// A buffer of the message size, so that the echo
					// sends one message per message, as the Conn's does.
					go io.CopyBuffer(server, server, make([]byte, size))
				} else {
					go func() {
						var m []byte
						for {
							typ, p, err := sc.ReadMessage(m)
							if err != nil || sc.WriteMessage(typ, p) != nil {
								return
							}
							m = p
						}
					}()
				}
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					if api == "NetConn" {
						if _, err := client.Write(msg); err != nil {
							b.Fatal(err)
						}
						if _, err := io.ReadFull(client, buf); err != nil {
							b.Fatal(err)
						}
						continue
					}
					if err := cc.WriteMessage(Binary, msg); err != nil {
						b.Fatal(err)
					}
					_, p, err := cc.ReadMessage(buf)
					if err != nil || len(p) != size {
						b.Fatal(err)
					}
					buf = p
				}
				client.Close()
			})
		}
	}
}
