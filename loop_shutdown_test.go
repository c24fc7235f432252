package websocket

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"
)

// Shutdown sends every connection 1001, waits for each closing handshake,
// and returns once no goroutine or callback of the loop runs; Add refuses
// connections afterwards.
func TestLoopShutdown(t *testing.T) {
	s := newLoopServer(t, nil, echoMessage)
	const n = 5
	got := make(chan error, n)
	for range n {
		c := dial(t, s.url, &DialOptions{Proxy: NoProxy})
		if err := c.WriteMessage(Text, []byte("hi")); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.ReadMessage(nil); err != nil {
			t.Fatal(err)
		}
		go func() {
			_, _, err := c.ReadMessage(nil)
			got <- err
		}()
		<-s.conns
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.loop.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if r := s.loop.running.Load(); r != 0 {
		t.Errorf("%d goroutines or callbacks still running after Shutdown", r)
	}
	for range n {
		var ce *CloseError
		if err := <-got; !errors.As(err, &ce) || ce.Initiator != Peer || ce.Code != CloseGoingAway {
			t.Errorf("client got %v, want the server's 1001", err)
		}
		lc := s.waitClose(t)
		if !errors.As(lc.err, &ce) || ce.Initiator != Local || ce.Code != CloseGoingAway || ce.Frames != SentThenReceived || ce.Err != nil {
			t.Errorf("OnClose err = %#v, want a completed handshake we started with 1001", lc.err)
		}
	}
	_, sc := connPair(t, nil, nil)
	if err := s.loop.Add(sc); !errors.Is(err, ErrLoopClosed) {
		t.Errorf("Add after Shutdown = %v, want ErrLoopClosed", err)
	}
	if sc.closed() == nil {
		t.Error("Add after Shutdown left the connection open")
	}
	if err := s.loop.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

// Shutdown does not return while an OnMessage runs.
func TestLoopShutdownWaitsForCallbacks(t *testing.T) {
	entered := make(chan struct{})
	var finished atomic.Bool
	s := newLoopServer(t, nil, func(c *Conn, typ MessageType, p []byte) {
		close(entered)
		time.Sleep(300 * time.Millisecond)
		finished.Store(true)
	})
	c := dial(t, s.url, &DialOptions{Proxy: NoProxy})
	go func() {
		for {
			if _, _, err := c.ReadMessage(nil); err != nil {
				return
			}
		}
	}()
	c.WriteMessage(Text, []byte("slow"))
	<-entered
	if err := s.loop.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if !finished.Load() {
		t.Error("Shutdown returned while OnMessage was running")
	}
}

// A peer that never answers the Close frame: with a short CloseTimeout the
// handshake ends by itself; with a long one, Shutdown's ctx ends the wait,
// the connection is closed at once and ctx's error returned.
func TestLoopShutdownSilentPeer(t *testing.T) {
	t.Run("closeTimeout", func(t *testing.T) {
		s := newLoopServer(t, &AcceptOptions{Options: Options{CloseTimeout: 200 * time.Millisecond}}, echoMessage)
		s.upgradeRaw(t)
		<-s.conns
		start := time.Now()
		if err := s.loop.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Errorf("Shutdown returned after %v, before the CloseTimeout", d)
		}
		var ce *CloseError
		if lc := s.waitClose(t); !errors.As(lc.err, &ce) || !errors.Is(ce.Err, ErrCloseTimeout) {
			t.Errorf("OnClose err = %#v, want ErrCloseTimeout", lc.err)
		}
	})
	t.Run("ctx", func(t *testing.T) {
		s := newLoopServer(t, &AcceptOptions{Options: Options{CloseTimeout: time.Minute}}, echoMessage)
		nc := s.upgradeRaw(t)
		<-s.conns
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if err := s.loop.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown = %v, want context.DeadlineExceeded", err)
		}
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(nc)
		if err != nil {
			t.Fatalf("reading the server's last bytes: %v", err)
		}
		// 88 02 03 e9: an unmasked Close frame with 1001, then EOF.
		if string(b) != "\x88\x02\x03\xe9" {
			t.Errorf("server sent % x, want its 1001 Close and then EOF", b)
		}
	})
}
