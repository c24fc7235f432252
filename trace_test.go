package websocket_test

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"net"
	"net/http"
	"testing"

	websocket "github.com/hybi/websocket"
	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/handshake"
)

// TestTraceEveryReceivedFrame sends, in one TCP write, a compressed message
// cut into 1-byte frames followed by two whole messages: the receive trace
// must report every frame, in order. (It once lost its place when the state
// machine consumed several small compressed frames in one step.)
func TestTraceEveryReceivedFrame(t *testing.T) {
	deflateRaw := func(p []byte) []byte {
		var b bytes.Buffer
		w, _ := flate.NewWriter(&b, 5)
		w.Write(p)
		w.Flush()
		return bytes.TrimSuffix(b.Bytes(), []byte{0, 0, 0xff, 0xff})
	}
	big := bytes.Repeat([]byte("abcdefghijklmnopqrstuvwxyz"), 100)
	var wire []byte
	var want []frame.Header
	add := func(h frame.Header, payload []byte) {
		h.Length = int64(len(payload))
		wire = frame.AppendFrame(wire, h, payload)
		want = append(want, h)
	}
	c1 := deflateRaw(big)
	for i := range c1 {
		h := frame.Header{Opcode: frame.OpContinuation}
		if i == 0 {
			h = frame.Header{Opcode: frame.OpText, RSV1: true}
		}
		add(h, c1[i:i+1])
	}
	add(frame.Header{Fin: true, Opcode: frame.OpContinuation}, nil)
	add(frame.Header{Fin: true, RSV1: true, Opcode: frame.OpText}, deflateRaw([]byte("second")))
	add(frame.Header{Fin: true, Opcode: frame.OpText}, []byte("yo"))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		br := bufio.NewReader(nc)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		nc.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n" +
			"Sec-WebSocket-Accept: " + handshake.AcceptKey(req.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n"))
		nc.Write(wire)
		br.ReadByte() // until the client goes away
	}()

	var got []frame.Header
	o := &websocket.DialOptions{Proxy: websocket.NoProxy}
	o.Compression = true
	o.Trace = func(e websocket.TraceEvent) {
		if e.Direction == websocket.Received {
			got = append(got, e.Header)
		}
	}
	c, _, err := websocket.Dial(context.Background(), "ws://"+ln.Addr().String()+"/", o)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{string(big), "second", "yo"} {
		_, m, err := c.ReadMessage(nil)
		if err != nil || string(m) != w {
			t.Fatalf("ReadMessage = %.20q, %v; want %.20q", m, err, w)
		}
	}
	c.CloseNow()
	<-done
	if len(got) != len(want) {
		t.Fatalf("traced %d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("frame %d traced as %+v, want %+v", i, got[i], want[i])
		}
	}
}
