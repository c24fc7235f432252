//go:build !linux

package run

import (
	"errors"
	"net"
)

var busyFloors = []string{"tcp"}

// serveEpollBusy needs epoll: elsewhere the tcp-epoll floor is not offered.
func serveEpollBusy(net.Listener) (*busyFloor, error) {
	return nil, errors.New("run: the tcp-epoll floor needs Linux (epoll)")
}
