package mask

// Key is a 4-byte masking key (RFC 6455 §5.3).
type Key [4]byte

// Apply XORs b in place with key, starting at key index pos&3, and returns
// the key index for the next byte, (pos+len(b))&3, so payloads can be masked
// in chunks. Masking and unmasking are the same operation.
//
// RFC 6455 §5.3: "Octet i of the transformed data ("transformed-octet-i")
// is the XOR of octet i of the original data ("original-octet-i") with
// octet at index i modulo 4 of the masking key ("masking-key-octet-j")".
func Apply(key Key, pos int, b []byte) int {
	pos &= 3
	for i := range b {
		b[i] ^= key[pos]
		pos = (pos + 1) & 3
	}
	return pos
}
