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

	"github.com/hybi/websocket/deflate"
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
	// ReadMessage(nil) doubles its buffer up to the 4 MiB limit (appendData:
	// about twice the limit in all), plus the inflate window and read
	// buffers. (With append's quarter-step growth it was 21 MB.)
	if r.alloc > 10<<20 {
		t.Errorf("server allocated %d bytes while reading the bomb, want < 10 MiB (2.5 times the limit)", r.alloc)
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

// One message costs about its limit in memory, whether it is a legitimate
// message just under the limit or a decompression bomb stopped at it
// (DESIGN.md, decision 9): the peak heap while ReadMessage(nil) reads it
// stays within 1.5 times MaxMessageSize plus a little for buffers. The
// bytes on the wire are prepared before measuring, and the server Conn is
// the only thing that allocates meanwhile.
func TestMessageMemory(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's shadow memory distorts heap figures")
	}
	const limit = 16 << 20
	deflateRaw := func(p []byte, times int) []byte {
		var z bytes.Buffer
		fw, _ := flate.NewWriter(&z, flate.BestSpeed)
		for range times {
			fw.Write(p)
		}
		fw.Flush()
		return bytes.TrimSuffix(z.Bytes(), []byte{0, 0, 0xff, 0xff})
	}
	text := bytes.Repeat([]byte("a legitimate message, compressible. "), 1<<10) // 36 KiB
	key := mask.Key{1, 2, 3, 4}
	for _, tc := range []struct {
		name   string
		wire   []byte
		tooBig bool
	}{
		{"bomb", frame.AppendFrame(nil, frame.NewHeader(frame.OpBinary, frame.Compressed|frame.Mask, key, 0), deflateRaw(make([]byte, 1<<20), 256)), true},
		{"compressed", frame.AppendFrame(nil, frame.NewHeader(frame.OpBinary, frame.Compressed|frame.Mask, key, 0), deflateRaw(text, (limit-(1<<20))/len(text))), false},
		{"plain", frame.AppendFrame(nil, frame.NewHeader(frame.OpBinary, frame.Mask, key, 0), bytes.Repeat([]byte{7}, limit-(1<<20))), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cn, sn := tcpPair(t)
			p := &deflate.Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}
			server, err := newConn(sn, false, nil, &Options{Compression: true, MaxMessageSize: limit}, "", p)
			if err != nil {
				t.Fatal(err)
			}
			defer server.CloseNow()
			go func() {
				cn.SetWriteDeadline(time.Now().Add(20 * time.Second))
				cn.Write(tc.wire) // fails once the server closed: expected for the bomb
			}()
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			base := ms.HeapAlloc
			stop := make(chan struct{})
			peak := make(chan uint64, 1)
			go func() {
				var m uint64
				for {
					select {
					case <-stop:
						peak <- m
						return
					case <-time.After(time.Millisecond):
					}
					var s runtime.MemStats
					runtime.ReadMemStats(&s)
					m = max(m, s.HeapAlloc-min(s.HeapAlloc, base))
				}
			}()
			_, b, err := server.ReadMessage(nil)
			close(stop)
			pk := <-peak
			if tc.tooBig != (CloseStatus(err) == CloseMessageTooBig) || !tc.tooBig && err != nil {
				t.Fatalf("ReadMessage: %d bytes, %v", len(b), err)
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			t.Logf("peak heap %.1f MiB for a %d MiB limit (%.2fx); %.1f MiB allocated in all; message %d bytes in a %d-byte buffer",
				float64(pk)/(1<<20), limit>>20, float64(pk)/limit, float64(after.TotalAlloc-ms.TotalAlloc)/(1<<20), len(b), cap(b))
			if pk > limit*3/2+1<<20 {
				t.Errorf("peak heap %d bytes, want at most 1.5 times the %d-byte limit plus 1 MiB", pk, limit)
			}
		})
	}
}
