package websocket

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hybi/websocket/deflate"
	"github.com/hybi/websocket/frame"
)

// permessage-deflate end to end over Dial and Upgrade: messages above the
// threshold go out with RSV1 and arrive inflated, in both directions, with
// WriteMessage and NextWriter, across several messages (context takeover).
func TestCompressionRoundTrip(t *testing.T) {
	var mu sync.Mutex
	var rsv1, plain int
	serverOpts := &AcceptOptions{Options: Options{
		Compression: true,
		Trace: func(ev TraceEvent) {
			if ev.Direction == Received && (ev.Header.Opcode == frame.OpText || ev.Header.Opcode == frame.OpBinary) {
				mu.Lock()
				if ev.Header.RSV1 {
					rsv1++
				} else {
					plain++
				}
				mu.Unlock()
			}
		},
	}}
	url := serve(t, serverOpts, echo)
	c := dial(t, url, &DialOptions{Options: Options{Compression: true}, Proxy: NoProxy})
	msgs := []string{
		strings.Repeat("compressible text ", 1000),
		"short", // below the threshold: sent plain
		strings.Repeat("compressible text ", 1000), // refers to the previous window
		string(bytes.Repeat([]byte{0, 1, 2, 3, 4, 5, 6, 7}, 40000)),
		"",
	}
	for i, m := range msgs {
		if err := c.WriteMessage(Text, []byte(m)); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		_, b, err := c.ReadMessage(nil)
		if err != nil || string(b) != m {
			t.Fatalf("message %d: got %d bytes, %v; want %d bytes", i, len(b), err, len(m))
		}
	}
	// Streaming: several Writes, one compressed message.
	wc, err := c.NextWriter(Binary)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	for i := range 50 {
		chunk := bytes.Repeat([]byte{byte(i)}, 3000)
		wc.Write(chunk)
		want.Write(chunk)
	}
	if err := wc.Close(); err != nil {
		t.Fatal(err)
	}
	_, r, err := c.NextReader()
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("streamed message: %d bytes, %v; want %d bytes", len(got), err, want.Len())
	}
	if err := c.Close(frame.CloseNormal, ""); err != nil {
		t.Fatalf("Close: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if rsv1 != 4 || plain != 2 {
		t.Errorf("server received %d compressed frames and %d plain, want 4 (first frames of compressed messages) and 2 (the short and the empty message)", rsv1, plain)
	}
}

// Only one side wants compression: the connection works uncompressed.
func TestCompressionDeclined(t *testing.T) {
	for _, tc := range []struct {
		name           string
		client, server bool
	}{{"client only", true, false}, {"server only", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			url := serve(t, &AcceptOptions{Options: Options{Compression: tc.server}}, echo)
			c := dial(t, url, &DialOptions{Options: Options{Compression: tc.client}, Proxy: NoProxy})
			if c.comp != nil {
				t.Fatal("compression negotiated with one side only")
			}
			msg := strings.Repeat("x", 1000)
			if err := c.WriteMessage(Text, []byte(msg)); err != nil {
				t.Fatal(err)
			}
			if _, b, err := c.ReadMessage(nil); err != nil || string(b) != msg {
				t.Fatalf("ReadMessage: %d bytes, %v", len(b), err)
			}
			c.Close(frame.CloseNormal, "")
		})
	}
}

// TestCompressionOptOutPerMessage: on a connection with permessage-deflate,
// WriteFrame(op, 0, p) sends one whole message uncompressed (the per-message
// opt-out), and the compressed messages around it still decode with context
// takeover (RFC 7692 §6: an uncompressed message does not touch the window).
func TestCompressionOptOutPerMessage(t *testing.T) {
	var mu sync.Mutex
	var rsv []bool
	serverOpts := &AcceptOptions{Options: Options{
		Compression: true,
		Trace: func(ev TraceEvent) {
			if ev.Direction == Received && ev.Header.Opcode.IsData() {
				mu.Lock()
				rsv = append(rsv, ev.Header.RSV1)
				mu.Unlock()
			}
		},
	}}
	url := serve(t, serverOpts, echo)
	c := dial(t, url, &DialOptions{Options: Options{Compression: true}, Proxy: NoProxy})
	big := strings.Repeat("opt out of compression for this one ", 100)
	send := []func() error{
		func() error { return c.WriteMessage(Text, []byte(big)) },
		func() error { return c.WriteFrame(frame.OpText, 0, []byte(big)) },
		func() error { return c.WriteMessage(Text, []byte(big)) },
	}
	for i, f := range send {
		if err := f(); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		if _, b, err := c.ReadMessage(nil); err != nil || string(b) != big {
			t.Fatalf("message %d: %d bytes, %v", i, len(b), err)
		}
	}
	if err := c.Close(frame.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]bool{true, false, true}, rsv); diff != "" {
		t.Errorf("RSV1 of the frames the server received (-want +got):\n%s", diff)
	}
}

// TestCompressionOptions: the client's offers (DialOptions.CompressionOffers)
// and the server's policy (AcceptOptions.CompressionServer) reach the
// handshake, and messages flow with what was agreed.
func TestCompressionOptions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		offers []deflate.Offer
		server *deflate.Server
		want   string // the agreed Sec-WebSocket-Extensions element
	}{
		{"defaults", nil, nil, "permessage-deflate"},
		{"client asks for no context takeover both ways",
			[]deflate.Offer{{ServerNoContextTakeover: true, ClientNoContextTakeover: true}}, nil,
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{"two offers: the first one is taken, with the stricter window",
			[]deflate.Offer{{ServerMaxWindowBits: 8}, {}}, &deflate.Server{ServerMaxWindowBits: 9},
			"permessage-deflate; server_max_window_bits=8"},
		{"server limits its own window (Huffman-only compression)",
			nil, &deflate.Server{ServerMaxWindowBits: 10},
			"permessage-deflate; server_max_window_bits=10"},
		{"server insists on its own context reset",
			nil, &deflate.Server{ServerNoContextTakeover: true},
			"permessage-deflate; server_no_context_takeover"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := serve(t, &AcceptOptions{Options: Options{Compression: true}, CompressionServer: tc.server}, echo)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, res, err := Dial(ctx, url, &DialOptions{Options: Options{Compression: true}, Proxy: NoProxy, CompressionOffers: tc.offers})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			if len(res.Extensions) != 1 || res.Extensions[0].String() != tc.want {
				t.Fatalf("agreed %v, want %q", res.Extensions, tc.want)
			}
			msg := strings.Repeat("negotiated ", 500)
			for i := range 3 {
				if err := c.WriteMessage(Text, []byte(msg)); err != nil {
					t.Fatal(err)
				}
				if _, b, err := c.ReadMessage(nil); err != nil || string(b) != msg {
					t.Fatalf("message %d: %d bytes, %v", i, len(b), err)
				}
			}
			if err := c.Close(frame.CloseNormal, ""); err != nil {
				t.Fatal(err)
			}
		})
	}
}
