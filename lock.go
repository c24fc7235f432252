package websocket

import (
	"sync"
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
type gate struct {
	mu    sync.Mutex
	held  uint8
	ended bool
	wake  chan struct{} // nil until somebody waits
}

// acquire takes lock bit. It returns false, without the lock, once the
// connection has ended or when timeout (which may be nil) fires.
func (g *gate) acquire(bit uint8, timeout <-chan time.Time) bool {
	g.mu.Lock()
	for !g.ended && g.held&bit != 0 {
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
	if g.ended {
		g.mu.Unlock()
		return false
	}
	g.held |= bit
	g.mu.Unlock()
	return true
}

// tryAcquire takes lock bit if it is free, even after the connection
// ended (the caller checks).
func (g *gate) tryAcquire(bit uint8) bool {
	g.mu.Lock()
	ok := g.held&bit == 0
	if ok {
		g.held |= bit
	}
	g.mu.Unlock()
	return ok
}

// release frees lock bit and wakes the waiters.
func (g *gate) release(bit uint8) {
	g.mu.Lock()
	g.held &^= bit
	if g.wake != nil {
		close(g.wake)
		g.wake = nil
	}
	g.mu.Unlock()
}

// end marks the connection ended: every waiter returns false, now and
// later. Holders keep their locks until they release them.
func (g *gate) end() {
	g.mu.Lock()
	g.ended = true
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
func (c *Conn) unlockWrite() {
	c.g.release(lockW)
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
