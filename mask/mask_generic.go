//go:build purego || !amd64

package mask

// implementation names the code path Apply uses, for tests and benchmarks.
func implementation() string { return "generic" }

func apply(b []byte, k uint32, pos int) { applyGeneric(b, rotate(k, pos)) }
