//go:build !purego

package mask

// The assembly routines XOR b in place with the little-endian key word k,
// whose low byte applies to b[0]; kt must be tailKey(k, len(b)). Both are
// passed repeated twice in a 64-bit word, see twice. Both handle
// every length, including 0, though Apply gives them only 16 bytes or more.
//
//go:noescape
func maskSSE2(b []byte, k, kt uint64)

//go:noescape
func maskAVX2(b []byte, k, kt uint64)

// cpuid executes CPUID with the given leaf and subleaf.
func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)

// xgetbv0 reads XCR0, the register in which the OS declares which vector
// register state it saves on a context switch.
func xgetbv0() (eax, edx uint32)

// hasAVX2 is decided once at start-up: SSE2 is part of the amd64 baseline,
// AVX2 needs both the CPU and the OS (which must save the YMM registers).
var hasAVX2 = detectAVX2()

func detectAVX2() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const osxsave, avx = 1 << 27, 1 << 28
	if ecx1&(osxsave|avx) != osxsave|avx {
		return false
	}
	// XCR0 bit 1: SSE (XMM) state, bit 2: AVX (upper YMM) state.
	if xcr0, _ := xgetbv0(); xcr0&6 != 6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0
}

// implementation names the code path Apply uses, for tests and benchmarks.
func implementation() string {
	if hasAVX2 {
		return "avx2"
	}
	return "sse2"
}

// asmMin is the length from which the assembly is worth its call
// overhead; shorter runs take the pure-Go path, which the compiler calls
// directly with register arguments.
const asmMin = 16

func apply(b []byte, key Key, pos int) {
	k := rotate(key, pos)
	if len(b) < asmMin {
		applyGeneric(b, k)
		return
	}
	k64, kt64 := twice(k), twice(tailKey(k, len(b)))
	if hasAVX2 {
		maskAVX2(b, k64, kt64)
	} else {
		maskSSE2(b, k64, kt64)
	}
}

// twice returns k in both halves of a 64-bit word.
func twice(k uint32) uint64 { return uint64(k)<<32 | uint64(k) }
