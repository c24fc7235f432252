//go:build !(linux && amd64)

package run

import (
	"errors"
	"net"
)

// uringFloors is empty: the tcp-uring floor is written for linux/amd64.
var uringFloors []string

// uringFloor is the tcp-uring floor's server (linux/amd64 only).
type uringFloor struct{ busyFloor }

// serveUringBusy needs io_uring on linux/amd64: elsewhere the tcp-uring
// floor is not offered.
func serveUringBusy(net.Listener) (*uringFloor, error) {
	return nil, errors.New("run: the tcp-uring floor needs io_uring on linux/amd64")
}
