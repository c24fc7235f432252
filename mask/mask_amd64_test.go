//go:build !purego

package mask

import "testing"

func init() {
	impls = append(impls, impl{"sse2", sse2})
	if hasAVX2 {
		impls = append(impls, impl{"avx2", avx2})
	}
}

// sse2 and avx2 call the assembly directly for every length, including the
// short ones Apply keeps in Go.
func sse2(b []byte, k uint32) { maskSSE2(b, twice(k), twice(tailKey(k, len(b)))) }
func avx2(b []byte, k uint32) { maskAVX2(b, twice(k), twice(tailKey(k, len(b)))) }

func BenchmarkApplySSE2(b *testing.B) { benchKernel(b, sse2) }
