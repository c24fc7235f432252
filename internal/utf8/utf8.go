// Package utf8 is a streaming UTF-8 validator for text messages (RFC 6455
// §5.6, §8.1): it validates a message chunk by chunk, fails fast at the
// first byte that cannot continue valid UTF-8 (RFC 3629), also when a code
// point is split across chunks, and never allocates.
package utf8

// Validator validates a stream of bytes as UTF-8. The zero value is ready
// to use.
type Validator struct {
	state uint8
}

// Reset makes v ready for a new stream.
func (v *Validator) Reset() { *v = Validator{} }

// Write validates the next chunk; it returns false as soon as the bytes seen
// so far cannot be a prefix of valid UTF-8 (fail fast, also across chunk
// boundaries). After it returned false, v stays failed until Reset.
func (v *Validator) Write(p []byte) bool { panic("todo") }

// Complete reports whether everything written so far is complete valid
// UTF-8 (no code point cut off at the end).
func (v *Validator) Complete() bool { panic("todo") }
