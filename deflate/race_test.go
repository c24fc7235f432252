//go:build race

package deflate

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// allocation counts of pooled paths are not meaningful.
const raceEnabled = true
