package websocket

import (
	"context"
	"encoding/binary"
	"sync"
	"time"
)

// pingWaiters are the PingContext calls waiting for their Pong, allocated
// at the first call.
type pingWaiters struct {
	mu      sync.Mutex
	next    uint64
	waiting map[uint64]chan struct{}
}

// pingPrefix starts the payload of a PingContext Ping; an 8-byte sequence
// number follows.
const pingPrefix = "hybi-ping:"

// PingContext sends a Ping and waits for its Pong, and returns the round
// trip time. The Pong is seen by whoever reads the connection (a goroutine
// in ReadMessage or NextReader, or a Loop), so one must be running; as RFC
// 6455 §5.5.3 allows, a peer may answer only the latest of several Pings,
// which answers the earlier ones too. When ctx ends first the error is
// ctx.Err(); when the connection ends, its *CloseError. Unlike Ping, it
// allocates (a channel per call).
func (c *Conn) PingContext(ctx context.Context) (time.Duration, error) {
	c.mu.Lock()
	if c.pw == nil {
		c.pw = &pingWaiters{waiting: map[uint64]chan struct{}{}}
	}
	pw := c.pw
	c.mu.Unlock()
	if ce := c.closed(); ce != nil {
		return 0, ce
	}
	pw.mu.Lock()
	pw.next++
	id := pw.next
	ch := make(chan struct{})
	pw.waiting[id] = ch
	pw.mu.Unlock()
	defer func() {
		pw.mu.Lock()
		delete(pw.waiting, id)
		pw.mu.Unlock()
	}()
	var payload [len(pingPrefix) + 8]byte
	copy(payload[:], pingPrefix)
	binary.BigEndian.PutUint64(payload[len(pingPrefix):], id)
	start := time.Now()
	if err := c.Ping(payload[:]); err != nil {
		return 0, err
	}
	select {
	case <-ch:
		if ce := c.closed(); ce != nil && c.pongFor(id) {
			return 0, ce
		}
		return time.Since(start), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// pongFor reports whether id is still waiting: finish wakes the waiters
// without an answer by closing their channels and leaving them listed.
func (c *Conn) pongFor(id uint64) bool {
	c.pw.mu.Lock()
	defer c.pw.mu.Unlock()
	_, ok := c.pw.waiting[id]
	return ok
}

// pong wakes the PingContext calls a Pong answers: its own and the earlier
// ones. A reader may still process Pongs it had buffered after the
// connection ended; endPings has then closed the waiters' channels and left
// them listed (they return the close error), so those are skipped: closing
// one again would panic.
func (c *Conn) pong(p []byte) {
	c.mu.Lock()
	pw := c.pw
	c.mu.Unlock()
	if pw == nil || len(p) != len(pingPrefix)+8 || string(p[:len(pingPrefix)]) != pingPrefix {
		return
	}
	id := binary.BigEndian.Uint64(p[len(pingPrefix):])
	pw.mu.Lock()
	for k, ch := range pw.waiting {
		if k > id {
			continue
		}
		select {
		case <-ch: // woken by endPings: the connection ended
		default:
			close(ch)
			delete(pw.waiting, k)
		}
	}
	pw.mu.Unlock()
}

// endPings wakes every waiting PingContext when the connection ends; they
// stay listed, so they return the close error.
func (c *Conn) endPings() {
	c.mu.Lock()
	pw := c.pw
	c.mu.Unlock()
	if pw == nil {
		return
	}
	pw.mu.Lock()
	for _, ch := range pw.waiting {
		select {
		case <-ch:
		default:
			close(ch)
		}
	}
	pw.mu.Unlock()
}
