//go:build !linux

package run

import (
	"errors"
	"time"
)

const hbPeerEnv = "HYBI_HBFLOOR_PEER"

// HBFloor is the kernel's floor under the heartbeat rows (Linux only).
type HBFloor struct {
	N, Batch     int
	Pings        int
	CPU, Wall    time.Duration
	Reads, Waits int
}

// CPUPerPing is the server's CPU time per ping.
func (f HBFloor) CPUPerPing() time.Duration { return 0 }

var errNoEpoll = errors.New("hbfloor: needs Linux (epoll)")

// MeasureHBFloor needs epoll: elsewhere it fails.
func MeasureHBFloor(n, rounds, batch int) (HBFloor, error) { return HBFloor{}, errNoEpoll }

func hbPeer(string) error { return errNoEpoll }
