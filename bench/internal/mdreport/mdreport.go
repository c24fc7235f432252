// Package mdreport holds what benchall and benchscale both need to write
// their Markdown reports: number formats, hybi's row names, the -only
// section filter, medians, and splicing a section into a file.
package mdreport

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
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

// Median returns the median of f over xs, NaN for none.
func Median[T any](xs []T, f func(T) float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	v := make([]float64, len(xs))
	for i, x := range xs {
		v[i] = f(x)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// Splice puts section, wrapped in the lines begin and end, into the
// Markdown file: in place of what stands between those markers, or else
// before the first occurrence of before (when not empty), or else at the
// end. The file is created when missing.
func Splice(file, begin, end, before, section string) error {
	old, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	doc := string(old)
	block := begin + "\n" + section + end + "\n"
	b, rest, okB := strings.Cut(doc, begin)
	_, after, okE := strings.Cut(rest, end+"\n")
	switch {
	case okB && okE:
		doc = b + block + after
	case before != "" && strings.Contains(doc, before):
		i := strings.Index(doc, before)
		doc = doc[:i] + block + "\n" + doc[i:]
	default:
		if doc != "" && !strings.HasSuffix(doc, "\n\n") {
			doc += "\n"
		}
		doc += block
	}
	return os.WriteFile(file, []byte(doc), 0o644)
}
