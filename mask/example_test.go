package mask_test

import (
	"fmt"

	"github.com/hybi/websocket/mask"
)

// A payload can be masked in chunks: each call returns the key position
// at which the next chunk starts.
func ExampleApply() {
	// The masking key of the example frame in RFC 6455 §5.7.
	key := mask.Key{0x37, 0xfa, 0x21, 0x3d}
	payload := []byte("Hello")

	pos := mask.Apply(key, 0, payload[:2])
	pos = mask.Apply(key, pos, payload[2:])
	fmt.Printf("masked:   % x (next key position %d)\n", payload, pos)

	mask.Apply(key, 0, payload)
	fmt.Printf("unmasked: %s\n", payload)
	// Output:
	// masked:   7f 9f 4d 51 58 (next key position 1)
	// unmasked: Hello
}
