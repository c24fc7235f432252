//go:build !linux

package mask

import "testing"

// measureCPU reports nothing where per-thread CPU time is not available.
func measureCPU(b *testing.B, bytes int) (stop func()) { return func() {} }
