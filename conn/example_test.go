package conn_test

import (
	"fmt"

	"github.com/hybi/websocket/conn"
	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/mask"
)

// A server-side driver loop: events come straight out of the read buffer,
// and the Pong the machine queued is flushed from Pending.
func Example() {
	c, err := conn.New(conn.Config{Role: conn.Server})
	if err != nil {
		panic(err)
	}
	// RFC 6455 §5.7: a masked "Hello" from a client, then a masked Ping
	// (same key) with the same payload.
	buf := []byte("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58" +
		"\x89\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58")
	for {
		ev, n, err := c.Next(buf)
		buf = buf[n:]
		if err != nil {
			fmt.Println("failed:", err)
			return
		}
		if ev.Kind == conn.EventNone && n == 0 {
			break // need more input
		}
		if ev.Kind != conn.EventNone {
			fmt.Printf("%v %v final=%v %q\n", ev.Kind, ev.Opcode, ev.Final, ev.Data)
		}
	}
	fmt.Printf("to send: % x\n", c.Pending())
	c.Advance(len(c.Pending()))
	// Output:
	// data text final=true "Hello"
	// ping ping final=false "Hello"
	// to send: 8a 05 48 65 6c 6c 6f
}

// Flags cannot silently drop FIN, and a new message cannot start while a
// fragmented one is open: the writer refuses before producing a byte.
func ExampleConn_AppendFrame() {
	c, _ := conn.New(conn.Config{Role: conn.Server})
	var out []byte
	out, _ = c.AppendFrame(out, frame.OpText, frame.More, []byte("Hel"))
	out, err := c.AppendFrame(out, frame.OpText, 0, []byte("oops"))
	fmt.Println(err)
	out, _ = c.AppendFrame(out, frame.OpContinuation, 0, []byte("lo"))
	fmt.Printf("% x\n", out)
	// Output:
	// conn: data frame while a fragmented message is open (send a continuation)
	// 01 03 48 65 6c 80 02 6c 6f
}

// A peer that breaks the protocol: the machine queues the Close frame with
// the right status code and reports the error (RFC 6455 §7.1.7).
func ExampleConn_Next_fail() {
	c, _ := conn.New(conn.Config{Role: conn.Client})
	_, _, err := c.Next([]byte{0x80, 0x01, 'x'}) // a continuation with no message
	var code, _ = c.CloseSent()
	fmt.Println(err)
	fmt.Println(code, c.State(), c.Initiator())
	// Output:
	// frame: continuation frame without a message in progress
	// 1002 (protocol error) closed local
}

// A client driver gives each Conn its own source of masking keys, so that
// building a frame takes no shared lock: every frame still gets a fresh key
// from crypto/rand (RFC 6455 §5.3), and unmasking with it gives the payload
// back.
func ExampleConfig_maskKeys() {
	var keys mask.KeySource // one per Conn, used under the Conn's serialization
	c, err := conn.New(conn.Config{Role: conn.Client, MaskKeys: &keys})
	if err != nil {
		panic(err)
	}
	out, _ := c.AppendFrame(nil, frame.OpText, 0, []byte("Hello"))
	h, n, _ := frame.ParseHeader(out)
	payload := out[n:]
	mask.Apply(h.Key, 0, payload)
	fmt.Println(h.Masked, h.Length, string(payload))
	// Output:
	// true 5 Hello
}
