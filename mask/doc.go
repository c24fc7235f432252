// Package mask implements the payload masking of RFC 6455 §5.3 and the
// choice of masking keys.
//
// RFC 6455 §5.3: "The masking key is a 32-bit value chosen at random by the
// client. When preparing a masked frame, the client MUST pick a fresh
// masking key from the set of allowed 32-bit values." Each octet i of the
// payload is XORed with octet i modulo 4 of the key; the same operation
// masks and unmasks.
//
// [Apply] masks a buffer in place. It takes and returns a key position, so
// a payload can be masked in any number of chunks (as it arrives from the
// network, or as a streaming writer produces it). [NewKey] returns an
// unpredictable key: random bytes are made in 4 KiB batches, each by a
// ChaCha8 generator (math/rand/v2, cryptographically strong) keyed with 32
// fresh bytes from crypto/rand, so there is no system call per frame and
// every batch depends on new entropy only. It is safe for concurrent use.
//
// What the package does not own: whether a frame must be masked (clients
// mask, servers never do, RFC 6455 §5.1) is checked by package frame, and
// the connection decides which key a frame gets.
//
// # Implementations
//
// Apply has three implementations, chosen at build time and, on amd64, once
// at program start:
//
//   - amd64 (default): assembly. AVX2 (32-byte vectors, 128 bytes per loop
//     iteration, stores aligned to 32 bytes for runs of 256 bytes or more)
//     when the CPU has AVX2 and the operating system saves the YMM registers
//     (CPUID and XGETBV), otherwise SSE2 (16-byte vectors, 64 bytes per
//     iteration), which every amd64 CPU has. Both mask runs shorter
//     than 16 bytes with general-purpose registers. Apply inlines into its
//     caller, which calls the assembly directly.
//   - other architectures, and any build with the purego tag: portable Go
//     that XORs eight bytes at a time, 32 bytes per loop iteration.
//
// Neither has a byte loop for runs of 4 bytes or more: the assembly masks
// the last partial block in pieces of 16, 8, 4, 2 and 1 bytes, and the Go
// version masks its last word with one overlapping store, loaded and masked
// before the loop.
// Tests check each one against a byte-at-a-time reference at every length
// up to 300, every key position and every alignment.
package mask
