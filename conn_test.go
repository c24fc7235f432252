package websocket

import (
	"bytes"
	"testing"
)

func TestEchoRoundTrip(t *testing.T) {
	url := serve(t, nil, echo)
	c := dial(t, url, nil)
	sizes := []int{0, 1, 125, 126, 65535, 65536, 200000}
	for _, n := range sizes {
		msg := bytes.Repeat([]byte("abcdefg"), n/7+1)[:n]
		for _, typ := range []MessageType{Text, Binary} {
			if err := c.WriteMessage(typ, msg); err != nil {
				t.Fatalf("write %d: %v", n, err)
			}
			gt, got, err := c.ReadMessage(nil)
			if err != nil {
				t.Fatalf("read %d: %v", n, err)
			}
			if gt != typ || !bytes.Equal(got, msg) {
				t.Fatalf("size %d: got %v %d bytes, want %v %d bytes", n, gt, len(got), typ, n)
			}
		}
	}
	if err := c.Close(1000, "bye"); err != nil {
		t.Fatalf("close: %v", err)
	}
}
