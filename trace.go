package websocket

import (
	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/mask"
)

// traceIn reports the header of the next received frame once it is whole
// in the read buffer, and returns the part of in that the state machine may
// consume now. The driver keeps its own count of frame boundaries (tnext),
// since the machine reports messages, not frames; so that no boundary is
// passed unseen, the machine is never given bytes beyond the current frame,
// and at a boundary it gets nothing until the whole header is there (a
// frame made of many small compressed frames would otherwise be consumed
// several frames at a time). Called only when Options.Trace is set, with
// the read side held.
func (c *Conn) traceIn(in []byte) []byte {
	if c.tr.pos < c.tr.next {
		if rest := c.tr.next - c.tr.pos; rest < int64(len(in)) {
			in = in[:rest]
		}
		return in
	}
	h, n, err := frame.ParseHeader(in)
	if err == frame.ErrIncomplete {
		return nil // wait for the rest of the header
	}
	if err != nil {
		return in // invalid: the machine fails the connection
	}
	c.tr.next = c.tr.pos + int64(n) + h.Length
	ev := TraceEvent{Direction: Received, Header: h}
	if c.opts.TracePayload && int64(len(in)-n) >= h.Length {
		c.tr.bufR = append(c.tr.bufR[:0], in[n:n+int(h.Length)]...)
		if h.Masked {
			mask.Apply(h.Key, 0, c.tr.bufR)
		}
		ev.Payload = c.tr.bufR
	}
	c.opts.Trace(ev)
	if rest := int64(n) + h.Length; rest < int64(len(in)) {
		in = in[:rest]
	}
	return in
}

// traceOut reports each whole frame in b (bytes about to be written),
// unmasking payloads into *scratch when TracePayload is set.
func (c *Conn) traceOut(b []byte, scratch *[]byte) {
	for len(b) > 0 {
		h, n, err := frame.ParseHeader(b)
		if err != nil || int64(len(b)-n) < h.Length {
			return
		}
		ev := TraceEvent{Direction: Sent, Header: h}
		p := b[n : n+int(h.Length)]
		if c.opts.TracePayload {
			if h.Masked {
				*scratch = append((*scratch)[:0], p...)
				mask.Apply(h.Key, 0, *scratch)
				p = *scratch
			}
			ev.Payload = p
		}
		c.opts.Trace(ev)
		b = b[n+int(h.Length):]
	}
}
