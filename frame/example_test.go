package frame_test

import (
	"fmt"

	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/mask"
)

// A compressed final frame: Compressed sets RSV1 and leaves FIN alone.
func ExampleNewHeader() {
	h := frame.NewHeader(frame.OpText, frame.Compressed, mask.Key{}, 5)
	fmt.Println(h.Fin, h.RSV1)

	// A non-final fragment has to be asked for by name.
	h = frame.NewHeader(frame.OpText, frame.Compressed|frame.More, mask.Key{}, 5)
	fmt.Println(h.Fin, h.RSV1)
	// Output:
	// true true
	// false true
}

// The masked "Hello" frame of RFC 6455 §5.7.
func ExampleAppendFrame() {
	h := frame.NewHeader(frame.OpText, frame.Mask, mask.Key{0x37, 0xfa, 0x21, 0x3d}, 0)
	fmt.Printf("% x\n", frame.AppendFrame(nil, h, []byte("Hello")))
	// Output: 81 85 37 fa 21 3d 7f 9f 4d 51 58
}

// The same frame built from flags, without a Header: Append is what a
// connection's writer calls for each frame.
func ExampleAppend() {
	key := mask.Key{0x37, 0xfa, 0x21, 0x3d}
	fmt.Printf("% x\n", frame.Append(nil, frame.OpText, frame.Mask, key, []byte("Hello")))

	// A server's first fragment of a compressed message: no mask, RSV1
	// set, FIN clear because More is asked for.
	fmt.Printf("% x\n", frame.Append(nil, frame.OpText, frame.Compressed|frame.More, mask.Key{}, []byte("Hel")))
	// Output:
	// 81 85 37 fa 21 3d 7f 9f 4d 51 58
	// 41 03 48 65 6c
}

func ExampleParseHeader() {
	wire := []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}

	_, _, err := frame.ParseHeader(wire[:3])
	fmt.Println(err)

	h, n, err := frame.ParseHeader(wire)
	if err != nil {
		panic(err)
	}
	payload := wire[n : n+int(h.Length)]
	mask.Apply(h.Key, 0, payload)
	fmt.Println(h.Opcode, h.Fin, h.Masked, string(payload))
	fmt.Println(h.Check(true, 0))  // at a server
	fmt.Println(h.Check(false, 0)) // at a client
	// Output:
	// frame: incomplete header
	// text true true Hello
	// <nil>
	// frame: server frame is masked
}

func ExampleParseClose() {
	code, reason, err := frame.ParseClose([]byte{0x03, 0xe9, 'b', 'y', 'e'})
	fmt.Println(code, string(reason), err)

	_, _, err = frame.ParseClose([]byte{0x03, 0xee})
	fmt.Println(err)
	// Output:
	// 1001 (going away) bye <nil>
	// frame: close code not valid on the wire
}
