package websocket

import (
	"sync"
	"sync/atomic"
	"time"
)

// The locks of a Conn, as bits of gate.held (a Loop adds lockLoop).
const (
	lockR   = 1 << iota // the read side
	lockW               // the write side (one frame or control burst)
	lockMsg             // a whole data message (WriteMessage, NextWriter)
)

// gate holds a Conn's locks. Unlike sync.Mutex, a waiter gives up when the
// connection ends (so that a goroutine blocked behind an abandoned
// NextWriter or a stuck write returns the close error) or when a timer
// fires (Close's bounded wait). It lives inside the Conn and allocates
// nothing unless goroutines actually contend: then one channel per round
// of waiting, closed to wake every waiter.
//
// The lock bits, the ended mark and a mark that somebody waits share one
// atomic word, so that taking and releasing a free lock is one
// compare-and-swap each; mu guards wake, and is taken only by waiters,
// by a release that finds a waiter, and by end.
type gate struct {
	state atomic.Uint32 // lock bits | gateEnded | gateWaiting
	mu    sync.Mutex
	wake  chan struct{} // nil until somebody waits
}

const (
	gateEnded   = 1 << 6
	gateWaiting = 1 << 7
)

// acquire takes the lock bits (all of them, at once). It returns false,
// without the locks, once the connection has ended or when timeout (which
// may be nil) fires.
func (g *gate) acquire(bit uint8, timeout <-chan time.Time) bool {
	b := uint32(bit)
	if s := g.state.Load(); s&(b|gateEnded) == 0 && g.state.CompareAndSwap(s, s|b) {
		return true
	}
	g.mu.Lock()
	for {
		s := g.state.Load()
		if s&gateEnded != 0 {
			g.mu.Unlock()
			return false
		}
		if s&b == 0 {
			if g.state.CompareAndSwap(s, s|b) {
				g.mu.Unlock()
				return true
			}
			continue
		}
		// Mark the wait before sleeping: a release that sees the mark
		// takes mu, which this goroutine holds until wake exists.
		if s&gateWaiting == 0 && !g.state.CompareAndSwap(s, s|gateWaiting) {
			continue
		}
		if g.wake == nil {
			g.wake = make(chan struct{})
		}
		wake := g.wake
		g.mu.Unlock()
		select {
		case <-wake:
		case <-timeout:
			return false
		}
		g.mu.Lock()
	}
}

// tryAcquire takes lock bit if it is free, even after the connection
// ended (the caller checks).
func (g *gate) tryAcquire(bit uint8) bool {
	b := uint32(bit)
	for {
		s := g.state.Load()
		if s&b != 0 {
			return false
		}
		if g.state.CompareAndSwap(s, s|b) {
			return true
		}
	}
}

// release frees the lock bits and wakes the waiters.
func (g *gate) release(bit uint8) {
	b := uint32(bit)
	for {
		s := g.state.Load()
		if s&gateWaiting != 0 {
			break
		}
		if g.state.CompareAndSwap(s, s&^b) {
			return
		}
	}
	g.mu.Lock()
	g.state.And(^(b | gateWaiting))
	if g.wake != nil {
		close(g.wake)
		g.wake = nil
	}
	g.mu.Unlock()
}

// end marks the connection ended: every waiter returns false, now and
// later. Holders keep their locks until they release them.
func (g *gate) end() {
	g.state.Or(gateEnded)
	g.mu.Lock()
	if g.wake != nil {
		close(g.wake)
		g.wake = nil
	}
	g.mu.Unlock()
}

// lockRead takes the read side or returns the final error.
func (c *Conn) lockRead() error {
	if !c.g.acquire(lockR, nil) {
		return c.closed()
	}
	if ce := c.closed(); ce != nil {
		c.g.release(lockR)
		return ce
	}
	return nil
}

func (c *Conn) unlockRead() {
	c.g.release(lockR)
	c.io().released(c)
}

// lockWrite takes the write side or returns the final error.
func (c *Conn) lockWrite() error {
	if !c.g.acquire(lockW, nil) {
		return c.closed()
	}
	if ce := c.closed(); ce != nil {
		c.g.release(lockW)
		return ce
	}
	return nil
}

func (c *Conn) tryLockWrite() bool { return c.g.tryAcquire(lockW) }

// unlockWrite releases the write side, and flushes control frames the
// reader queued while it was held (the reader never waits for a writer,
// so that two peers writing large messages at each other cannot deadlock
// on their Pongs).
func (c *Conn) unlockWrite() { c.unlockWriteWith(0) }

// unlockWriteWith is unlockWrite releasing the lock bits also (lockMsg) in
// the same step.
func (c *Conn) unlockWriteWith(also uint8) {
	c.g.release(lockW | also)
	for c.ctrlPending.Load() && c.tryLockWrite() {
		err := c.flushLocked()
		c.g.release(lockW)
		if err != nil {
			return // the writer that meets the error next reports it
		}
	}
}

// lockMessage takes the message lock for a whole data message.
func (c *Conn) lockMessage() error {
	if !c.g.acquire(lockMsg, nil) {
		return c.closed()
	}
	return nil
}

func (c *Conn) unlockMessage() { c.g.release(lockMsg) }

// lockMessageWrite takes the message lock and the write side in one step,
// for a whole message written as one uncompressed frame: one pass through
// the gate instead of two. Released with unlockWriteWith(lockMsg).
func (c *Conn) lockMessageWrite() error {
	if !c.g.acquire(lockMsg|lockW, nil) {
		return c.closed()
	}
	if ce := c.closed(); ce != nil {
		c.g.release(lockMsg | lockW)
		return ce
	}
	return nil
}
