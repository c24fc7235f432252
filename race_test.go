//go:build race

package websocket

// raceEnabled: sync.Pool drops items at random under the race detector,
// so allocation pins are skipped.
const raceEnabled = true
