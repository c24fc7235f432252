//go:build !purego

package mask

// The assembly routines XOR b in place with the little-endian key word k,
// starting at key index pos&3. They handle every length, including 0.
// apply jumps to maskAVX2 or maskSSE2, as hasAVX2 says.
//
//go:noescape
func apply(b []byte, k uint32, pos int)

//go:noescape
func maskSSE2(b []byte, k uint32, pos int)

//go:noescape
func maskAVX2(b []byte, k uint32, pos int)

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
