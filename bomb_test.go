package websocket

import (
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/handshake"
	"github.com/hybi/websocket/mask"
)

// TestDecompressionBomb: a client sends one compressed frame that inflates
// to 1 GiB (64 MiB under the race detector, which makes compressing slow).
// The frame itself (about 1.3 MB) is within the server's 4 MiB limit, but
// the limit counts decompressed bytes: the server fails the connection with
// 1009 after inflating just past 4 MiB, and the memory it allocates
// meanwhile stays far below the message's size.
func TestDecompressionBomb(t *testing.T) {
	inflated := 1 << 30
	if raceEnabled {
		inflated = 64 << 20
	}
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestSpeed)
	zeros := make([]byte, 1<<20)
	for range inflated / len(zeros) {
		fw.Write(zeros)
	}
	fw.Flush()
	bomb := bytes.TrimSuffix(z.Bytes(), []byte{0, 0, 0xff, 0xff})
	key := mask.NewKey()
	wire := frame.AppendFrame(nil, frame.NewHeader(frame.OpBinary, frame.Compressed|frame.Mask, key, 0), bomb)
	t.Logf("%d-byte frame inflating to %d bytes", len(bomb), inflated)

	type result struct {
		err   error
		alloc uint64
	}
	res := make(chan result, 1)
	url := serve(t, &AcceptOptions{Options: Options{Compression: true, MaxMessageSize: 4 << 20}}, func(c *Conn) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, _, err := c.ReadMessage(nil)
		runtime.ReadMemStats(&after)
		res <- result{err, after.TotalAlloc - before.TotalAlloc}
	})

	nc, err := net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	br := bufio.NewReader(nc)
	reqKey := handshake.NewKey()
	req := "GET / HTTP/1.1\r\nHost: " + nc.RemoteAddr().String() + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + reqKey + "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || !strings.Contains(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
		t.Fatalf("handshake: %s, extensions %q", resp.Status, resp.Header.Get("Sec-WebSocket-Extensions"))
	}
	go func() {
		nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		nc.Write(wire) // fails once the server has closed: expected
	}()

	var r result
	select {
	case r = <-res:
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not give up on the bomb")
	}
	var ce *CloseError
	if !errors.As(r.err, &ce) || ce.Code != frame.CloseMessageTooBig || ce.Initiator != Local {
		t.Fatalf("ReadMessage error = %v, want a CloseError with 1009 initiated locally", r.err)
	}
	if !errors.Is(r.err, frame.ErrMessageTooBig) {
		t.Errorf("error %v does not wrap frame.ErrMessageTooBig", r.err)
	}
	// What the server allocates is bounded by its limit, not by the bomb:
	// ReadMessage(nil) grows its buffer with append up to the 4 MiB limit
	// (about 5 times the final size in total, since append grows large
	// slices by a quarter), plus the inflate window and read buffers. 32 MiB
	// is 8 times the limit and still 32 times below the bomb.
	if r.alloc > 32<<20 {
		t.Errorf("server allocated %d bytes while reading the bomb, want < 32 MiB", r.alloc)
	}
	t.Logf("server allocated %d bytes before failing with %v", r.alloc, ce.Code)

	// The client sees the server's close frame with 1009.
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	fr := frame.NewReader(br)
	for {
		h, err := fr.ReadHeader()
		if err != nil {
			t.Fatalf("reading the server's close: %v", err)
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(br, payload); err != nil {
			t.Fatal(err)
		}
		if h.Opcode == frame.OpClose {
			code, _, err := frame.ParseClose(payload)
			if err != nil || code != frame.CloseMessageTooBig {
				t.Fatalf("server's close: %v %v, want 1009", code, err)
			}
			break
		}
	}
}
