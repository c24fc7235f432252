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

// A client picks a fresh key for every frame it sends (RFC 6455 §5.3).
// Unmasking is the same operation as masking.
func ExampleNewKey() {
	key := mask.NewKey()
	payload := []byte("ping")
	mask.Apply(key, 0, payload) // what goes on the wire
	mask.Apply(key, 0, payload) // what the server recovers
	fmt.Printf("%s\n", payload)
	// Output: ping
}

// A connection's single writer can keep a KeySource, which takes the
// shared lock once per 32 keys.
func ExampleKeySource() {
	var keys mask.KeySource
	first, second := keys.Next(), keys.Next()
	fmt.Println(first != second) // false only with probability 2^-32
	// Output: true
}
