package websocket

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"
)

// wss under a peer that stops reading: writes honour their deadline,
// Close is bounded by CloseTimeout, nothing is left running, and a
// timeout on a peer that is merely slow does not break the connection.

// tlsPair returns a wss client and the server's Conn (Accept through
// net/http over TLS).
func tlsPair(t *testing.T, opts *AcceptOptions) (client, server *Conn) {
	t.Helper()
	srvc := make(chan *Conn, 1)
	done := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, opts)
		if err != nil {
			t.Error(err)
			return
		}
		srvc <- c
		<-done
	}))
	t.Cleanup(func() {
		close(done)
		srv.Close()
	})
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	client = dial(t, "wss://"+srv.Listener.Addr().String()+"/", &DialOptions{
		Options:   Options{CloseTimeout: 500 * time.Millisecond},
		TLSConfig: &tls.Config{RootCAs: pool, ServerName: "example.com"},
		Proxy:     NoProxy,
	})
	t.Cleanup(func() { client.CloseNow() })
	server = <-srvc
	t.Cleanup(func() { server.CloseNow() })
	return client, server
}

// fillUntilTimeout writes 64 KiB messages with a deadline of d each until
// one times out (the peer does not read); it fails the test when a write
// overstays its deadline or another error ends the writes.
func fillUntilTimeout(t *testing.T, c *Conn, d time.Duration) {
	t.Helper()
	msg := bytes.Repeat([]byte("w"), 64<<10)
	for i := range 2000 { // at most 128 MiB
		c.SetWriteDeadline(time.Now().Add(d))
		start := time.Now()
		err := c.WriteMessage(Binary, msg)
		if took := time.Since(start); took > d+500*time.Millisecond {
			t.Fatalf("write %d took %v with a deadline of %v (err %v)", i, took, d, err)
		}
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("write %d: %v, want a timeout", i, err)
			}
			return
		}
	}
	t.Fatal("2000 writes of 64 KiB to a peer that does not read never timed out")
}

func TestHostileTLSNeverReads(t *testing.T) {
	for _, side := range []string{"server writes", "client writes"} {
		t.Run(side, func(t *testing.T) {
			client, server := tlsPair(t, &AcceptOptions{Options: Options{CloseTimeout: 500 * time.Millisecond}})
			w := server
			if side == "client writes" {
				w = client
			}
			fillUntilTimeout(t, w, 200*time.Millisecond)
			// A second write after the timeout also honours its deadline.
			w.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
			start := time.Now()
			err := w.WriteMessage(Text, []byte("more"))
			if took := time.Since(start); took > 700*time.Millisecond || !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("second write: %v after %v", err, took)
			}
			// Close cannot send its frame; it gives up after CloseTimeout.
			w.SetWriteDeadline(time.Time{})
			start = time.Now()
			err = w.Close(CloseNormal, "")
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("Close took %v with a CloseTimeout of 500 ms: %v", took, err)
			}
			t.Logf("Close: %v after %v", err, time.Since(start).Round(time.Millisecond))
			start = time.Now()
			w.CloseNow()
			if took := time.Since(start); took > time.Second {
				t.Errorf("CloseNow took %v", took)
			}
		})
	}
}

// A write that times out on a slow (not stopped) peer leaves its bytes
// queued: the next write sends them first, and the peer receives both
// messages whole. The timeout did not end the connection.
func TestHostileTLSSlowPeerTimeout(t *testing.T) {
	client, server := tlsPair(t, nil)
	first := bytes.Repeat([]byte("1"), 8<<20)
	second := []byte("second")
	got := make(chan [][]byte, 1)
	go func() {
		time.Sleep(300 * time.Millisecond) // slow, then reads
		var msgs [][]byte
		server.SetReadDeadline(time.Now().Add(10 * time.Second))
		for range 2 {
			_, p, err := server.ReadMessage(nil)
			if err != nil {
				t.Error(err)
				break
			}
			msgs = append(msgs, p)
		}
		got <- msgs
	}()
	client.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	err := client.WriteMessage(Binary, first)
	if !errors.Is(err, ErrWriteQueued) {
		t.Fatalf("first write: %v, want ErrWriteQueued", err)
	}
	client.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := client.WriteMessage(Text, second); err != nil {
		t.Fatalf("second write: %v", err)
	}
	msgs := <-got
	if len(msgs) != 2 || !bytes.Equal(msgs[0], first) || !bytes.Equal(msgs[1], second) {
		t.Fatalf("server got %d messages (%d bytes first)", len(msgs), len(msgs[0]))
	}
}

// The Ping flood of TestHostilePingFloodReadDeadline over wss: the server
// reads with a 300 ms read deadline while the client sends Pings and never
// reads their Pongs. The server's Pongs go through the TLS write path
// (asyncWriter), which must be bounded by the read deadline too.
func TestHostileTLSPingFloodReadDeadline(t *testing.T) {
	client, server := tlsPair(t, nil)
	done := make(chan struct{})
	defer close(done)
	go func() {
		payload := bytes.Repeat([]byte("p"), 125)
		for i := 0; i < 200000; i++ {
			select {
			case <-done:
				return
			default:
			}
			client.SetWriteDeadline(time.Now().Add(3 * time.Second))
			if err := client.Ping(payload); err != nil {
				return
			}
		}
	}()
	for i := 0; i < 3; i++ { // a few reads: each returns by its deadline
		server.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		start := time.Now()
		_, _, err := server.ReadMessage(nil)
		took := time.Since(start)
		if !errors.Is(err, os.ErrDeadlineExceeded) || took > 2*time.Second {
			t.Fatalf("read %d: %v after %v, want a timeout after about 300 ms", i, err, took)
		}
		t.Logf("read %d: timeout after %v", i, took.Round(time.Millisecond))
	}
}
