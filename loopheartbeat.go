package websocket

import (
	"sync"
	"time"
)

// hbWheel schedules the heartbeats (Options.PingInterval) of the
// connections a poller serves, instead of a runtime timer per connection:
// one timer per poller fires at the next grid instant any of them is due
// (ticks are aligned, see hbAlign, so many are due at once), and one
// goroutine handles all those connections in a batch: the same tick as a
// connection's own timer would run (hbTick), then the ping written without
// blocking (a Loop's writes queue). No goroutine or timer per connection
// per tick, and no allocation in steady state.
//
// The connections due at one instant form a bucket, a doubly linked list
// through their heartbeat (prev, next), so a connection that ends leaves
// its bucket at once (remove) and is never pinged after.
type hbWheel struct {
	mu      sync.Mutex
	buckets []hbBucket // by due instant, the latest first: the next one due is last
	timer   *time.Timer
	armed   int64 // the instant the timer is set for, 0: stopped
	ticking bool  // a tick is handling a batch; it re-arms the timer when done
	batch   []hbDue
}

// hbBucket lists the connections due at one instant.
type hbBucket struct {
	due  int64
	head *Conn
}

// hbDue is a connection being handled by a tick and its next due instant
// (0: it ended).
type hbDue struct {
	c   *Conn
	due int64
}

// adopt takes over c's heartbeat from its timer (Loop.Add): the timer is
// stopped and dropped, and c is scheduled at the instant the timer would
// have fired.
func (w *hbWheel) adopt(c *Conn) {
	c.mu.Lock()
	h := c.hb
	if h.timer != nil {
		h.timer.Stop()
		h.timer = nil // a tick in flight on it sees this and stops
	}
	due := c.hbNext(hbNow())
	c.mu.Unlock()
	w.mu.Lock()
	if h.due == 0 {
		w.link(c, due)
		w.arm(due)
	}
	w.mu.Unlock()
}

// remove takes c out of the schedule for good: it ended.
func (w *hbWheel) remove(c *Conn) {
	w.mu.Lock()
	h := c.hb
	if h.due > 0 {
		w.unlink(c)
	}
	h.due = -1
	if len(w.buckets) == 0 && w.armed != 0 && !w.ticking {
		w.timer.Stop()
		w.armed = 0
	}
	w.mu.Unlock()
}

// find returns the index of the bucket due at due, or where to insert it.
// The caller holds mu.
func (w *hbWheel) find(due int64) (int, bool) {
	lo, hi := 0, len(w.buckets)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if w.buckets[m].due > due {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(w.buckets) && w.buckets[lo].due == due
}

// link adds c to the bucket due at due. The caller holds mu.
func (w *hbWheel) link(c *Conn, due int64) {
	i, ok := w.find(due)
	if !ok {
		w.buckets = append(w.buckets, hbBucket{})
		copy(w.buckets[i+1:], w.buckets[i:])
		w.buckets[i] = hbBucket{due: due}
	}
	b := &w.buckets[i]
	h := c.hb
	h.prev, h.next, h.due = nil, b.head, due
	if b.head != nil {
		b.head.hb.prev = c
	}
	b.head = c
}

// unlink takes c out of its bucket, and drops the bucket if that empties
// it. The caller holds mu.
func (w *hbWheel) unlink(c *Conn) {
	h := c.hb
	if h.next != nil {
		h.next.hb.prev = h.prev
	}
	if h.prev != nil {
		h.prev.hb.next = h.next
	} else if i, ok := w.find(h.due); ok {
		w.buckets[i].head = h.next
		if h.next == nil {
			w.buckets = append(w.buckets[:i], w.buckets[i+1:]...)
			w.buckets[len(w.buckets):cap(w.buckets)][0] = hbBucket{}
		}
	}
	h.prev, h.next, h.due = nil, nil, 0
}

// arm sets the timer for due unless it fires earlier or a tick will
// re-arm it. The caller holds mu.
func (w *hbWheel) arm(due int64) {
	if w.ticking || (w.armed != 0 && w.armed <= due) {
		return
	}
	w.armed = due
	d := time.Duration(due - hbNow())
	if w.timer == nil {
		w.timer = time.AfterFunc(d, w.tick)
	} else {
		w.timer.Reset(d)
	}
}

// tick runs on the timer's goroutine: it handles the connections due
// (runDue) until none is, then sets the timer for the next.
func (w *hbWheel) tick() {
	w.mu.Lock()
	if w.ticking {
		w.mu.Unlock()
		return // the running tick re-arms the timer when done
	}
	w.ticking, w.armed = true, 0
	for w.runDue(hbNow()) {
	}
	w.ticking = false
	if len(w.buckets) > 0 {
		w.arm(w.buckets[len(w.buckets)-1].due)
	}
	w.mu.Unlock()
}

// runDue takes every connection due by now out of its bucket, ticks each
// (loopHeartbeat) without the wheel's lock (a tick may end a connection,
// which removes it), and schedules it again unless it ended meanwhile. It
// reports whether any was due. The caller holds mu and has set ticking.
func (w *hbWheel) runDue(now int64) bool {
	batch := w.batch[:0]
	for len(w.buckets) > 0 && w.buckets[len(w.buckets)-1].due <= now {
		b := &w.buckets[len(w.buckets)-1]
		for c := b.head; c != nil; {
			h := c.hb
			next := h.next
			h.prev, h.next, h.due = nil, nil, 0
			batch = append(batch, hbDue{c: c})
			c = next
		}
		*b = hbBucket{}
		w.buckets = w.buckets[:len(w.buckets)-1]
	}
	w.batch = batch
	if len(batch) == 0 {
		return false
	}
	w.mu.Unlock()
	for i := range batch {
		batch[i].due = batch[i].c.loopHeartbeat(now)
	}
	w.mu.Lock()
	for i := range batch {
		if c := batch[i].c; batch[i].due != 0 && c.hb.due == 0 {
			w.link(c, batch[i].due)
		}
		batch[i] = hbDue{}
	}
	return true
}

// loopHeartbeat is one tick of c's heartbeat on a poller's wheel; it
// returns when the next is due, or 0 when the connection ended.
func (c *Conn) loopHeartbeat(now int64) int64 {
	if c.closed() != nil {
		return 0
	}
	c.mu.Lock()
	send, fail, next := c.hbTick(now)
	c.mu.Unlock()
	c.hbAct(send, fail)
	if fail {
		return 0
	}
	return next
}
