package mask

import (
	"crypto/rand"
	"sync"
)

var keys struct {
	mu  sync.Mutex
	buf [4096]byte
	off int
}

func init() { keys.off = len(keys.buf) }

// NewKey returns a fresh key from crypto/rand. Random bytes are fetched in
// batches, so there is no system call per key. It is safe for concurrent use.
//
// RFC 6455 §5.3: "The masking key is a 32-bit value chosen at random by the
// client." and "MUST pick a fresh masking key from the set of allowed 32-bit
// values."
func NewKey() Key {
	keys.mu.Lock()
	if keys.off+4 > len(keys.buf) {
		rand.Read(keys.buf[:])
		keys.off = 0
	}
	var k Key
	copy(k[:], keys.buf[keys.off:])
	keys.off += 4
	keys.mu.Unlock()
	return k
}
