//go:build !purego

package mask

import "testing"

func init() {
	impls = append(impls, impl{"sse2", maskSSE2})
	if hasAVX2 {
		impls = append(impls, impl{"avx2", maskAVX2})
	}
}

func BenchmarkApplySSE2(b *testing.B) { benchKernel(b, maskSSE2) }
