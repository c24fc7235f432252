package websocket

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hybi/websocket/frame"
)

// Closing from several goroutines while others read, write, ping and
// stream never panics, and afterwards every call reports an error.
func TestConcurrentCloseMisuse(t *testing.T) {
	for i := range 20 {
		var opts *Options
		if i%4 < 2 {
			opts = &Options{PingInterval: time.Millisecond, PongTimeout: time.Second}
		}
		client, server := connPair(t, opts, &Options{PingInterval: time.Millisecond})
		go echo(server)
		var wg sync.WaitGroup
		wg.Go(func() { readUntilError(client) })
		for range 3 {
			wg.Go(func() {
				for {
					if client.WriteMessage(Text, []byte("spam")) != nil {
						return
					}
				}
			})
		}
		wg.Go(func() {
			for {
				wc, err := client.NextWriter(Binary)
				if err != nil {
					return
				}
				wc.Write(make([]byte, 100))
				if wc.Close() != nil {
					return
				}
			}
		})
		wg.Go(func() {
			for client.Ping(nil) == nil {
			}
		})
		var errs [3]error
		wg.Go(func() { errs[0] = client.Close(frame.CloseNormal, "") })
		wg.Go(func() { errs[1] = client.Close(frame.CloseGoingAway, "") })
		if i%2 == 0 {
			wg.Go(func() { errs[2] = client.CloseNow() })
		}
		wg.Wait()
		// At most one Close "won"; the others report an error or the end.
		if errs[0] == nil && errs[1] == nil && i%2 == 1 {
			t.Errorf("run %d: two Close calls both succeeded", i)
		}
		var ce *CloseError
		if _, _, err := client.ReadMessage(nil); !errors.As(err, &ce) {
			t.Errorf("run %d: read after close: %v", i, err)
		}
		if err := client.WriteMessage(Text, nil); err == nil {
			t.Errorf("run %d: write after close succeeded", i)
		}
		if _, err := client.NextWriter(Text); err == nil {
			t.Errorf("run %d: NextWriter after close succeeded", i)
		}
		if err := client.Ping(nil); err == nil {
			t.Errorf("run %d: Ping after close succeeded", i)
		}
	}
}

// Text that is not UTF-8 is refused before any byte is sent, on every
// write path, and the connection stays usable (RFC 6455 §8.1; a strict
// peer would fail it with 1007).
func TestWriteInvalidText(t *testing.T) {
	client, server := connPair(t, nil, nil)
	got := make(chan string, 16)
	go func() {
		for {
			_, b, err := server.ReadMessage(nil)
			if err != nil {
				close(got)
				return
			}
			got <- string(b)
		}
	}()
	expect := func(want string) {
		t.Helper()
		select {
		case m := <-got:
			if m != want {
				t.Fatalf("peer got %q, want %q", m, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("peer got nothing, want %q", want)
		}
	}
	if err := client.WriteMessage(Text, []byte("a\xff\xfe")); !errors.Is(err, ErrInvalidText) {
		t.Fatalf("WriteMessage(invalid) = %v, want ErrInvalidText", err)
	}
	if err := client.WriteMessage(Text, []byte("\xed\xa0\x80")); !errors.Is(err, ErrInvalidText) { // a surrogate
		t.Fatalf("WriteMessage(surrogate) = %v, want ErrInvalidText", err)
	}
	if err := client.WriteMessage(Binary, []byte("a\xff\xfe")); err != nil {
		t.Fatalf("binary is not text: %v", err)
	}
	expect("a\xff\xfe")

	// NextWriter: a rune split across writes is fine, an invalid write
	// is refused whole, and Close refuses to cut a rune.
	w, err := client.NextWriter(Text)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		p  string
		ok bool
	}{{"caf", true}, {"\xc3", true}, {"\xff", false}, {"\xa9 ", true}, {"\xe2\x82", true}} {
		if _, err := w.Write([]byte(step.p)); (err == nil) != step.ok || err != nil && !errors.Is(err, ErrInvalidText) {
			t.Fatalf("Write(%q) = %v, want ok=%v", step.p, err, step.ok)
		}
	}
	if err := w.Close(); !errors.Is(err, ErrInvalidText) {
		t.Fatalf("Close mid-rune = %v, want ErrInvalidText", err)
	}
	w.Write([]byte("\xac"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	expect("café €")

	// WriteFrame: the state carries across the fragments of a message.
	if err := client.WriteFrame(OpText, More, []byte("\xc3")); err != nil {
		t.Fatal(err)
	}
	if err := client.WriteFrame(OpContinuation, More, []byte("\xc3")); !errors.Is(err, ErrInvalidText) {
		t.Fatalf("invalid continuation = %v, want ErrInvalidText", err)
	}
	if err := client.WriteFrame(OpContinuation, 0, []byte("\xa9\xe2")); !errors.Is(err, ErrInvalidText) {
		t.Fatalf("final frame ending mid-rune = %v, want ErrInvalidText", err)
	}
	if err := client.WriteFrame(OpContinuation, 0, []byte("\xa9!")); err != nil {
		t.Fatal(err)
	}
	expect("é!")
	if err := client.WriteFrame(OpText, 0, []byte{0xff}); !errors.Is(err, ErrInvalidText) {
		t.Fatalf("WriteFrame(invalid) = %v", err)
	}

	// The option: the caller vouches for its text.
	skip, peer := connPair(t, &Options{SkipUTF8Validation: true}, nil)
	if err := skip.WriteMessage(Text, []byte("a\xff")); err != nil {
		t.Fatalf("SkipUTF8Validation: %v", err)
	}
	if _, _, err := peer.ReadMessage(nil); CloseStatus(err) != CloseInvalidPayload {
		t.Fatalf("the peer read %v, want a 1007 close", err)
	}
}

// While a NextWriter's message is open, another goroutine's WriteFrame
// can neither join nor end it; control frames still go out between its
// fragments, and the writer's message arrives whole.
func TestWriteFrameCannotJoinNextWriter(t *testing.T) {
	client, server := connPair(t, nil, nil)
	w, err := client.NextWriter(Binary)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(bytes.Repeat([]byte("a"), 100)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for _, op := range []Opcode{OpContinuation, OpText, OpBinary} {
			if err := client.WriteFrame(op, 0, []byte("intruder")); err == nil {
				done <- fmt.Errorf("WriteFrame(%v) joined another goroutine's message", op)
				return
			}
		}
		done <- client.WriteFrame(OpPing, 0, []byte("hb"))
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("the writer's Close: %v", err)
	}
	_, b, err := server.ReadMessage(nil)
	if err != nil || !bytes.Equal(b, bytes.Repeat([]byte("a"), 100)) {
		t.Fatalf("got %q, %v", b, err)
	}
	// Once it is closed, WriteFrame works again.
	if err := client.WriteFrame(OpText, 0, []byte("after")); err != nil {
		t.Fatal(err)
	}
}
