// Package mdreport holds what benchall and benchscale both need to write
// their Markdown reports: number formats, hybi's row names and the -only
// section filter.
package mdreport

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// LoopName is the row of hybi's Loop server.
const LoopName = "hybi-loop"

// Ours reports whether a row is one of hybi's.
func Ours(name string) bool { return name == "hybi" || name == LoopName }

// Bytes formats a byte count: B below 10 KiB, then KiB, then MiB.
func Bytes(b float64) string {
	switch {
	case math.Abs(b) >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case math.Abs(b) >= 10<<10:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}

// Size names a payload size: 16 B, 1 KiB, 1 MiB.
func Size(n int) string {
	switch {
	case n >= 1<<20:
		return strconv.Itoa(n>>20) + " MiB"
	case n >= 1<<10:
		return strconv.Itoa(n>>10) + " KiB"
	}
	return strconv.Itoa(n) + " B"
}

// Wanted reports whether section is in only, a comma-separated list; an
// empty list wants every section.
func Wanted(only, section string) bool {
	if only == "" {
		return true
	}
	for s := range strings.SplitSeq(only, ",") {
		if s == section {
			return true
		}
	}
	return false
}
