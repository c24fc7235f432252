//go:build !linux

package run

import (
	"net"
	"sync"
	"sync/atomic"
)

// readBroadcasts has a goroutine per client read the broadcasts of
// MeasureIdle (Linux reads them all from one goroutine with epoll).
func readBroadcasts(conns []net.Conn, payload int, got []sync.WaitGroup, bad *atomic.Int64) error {
	readBroadcastsEach(conns, payload, got, bad)
	return nil
}
