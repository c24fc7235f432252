package autobahn

import (
	"fmt"
	"time"
)

// sizeName prints a size the way the testsuite's descriptions do.
func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dM", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dk", n>>10)
	}
	return fmt.Sprint(n)
}

// bulkEcho is the shape of 9.1 to 9.6: send one large message, wait for
// its echo, judge type and length only, close.
func bulkEcho(id, desc, exp string, binary bool, wait time.Duration, send func(s *session), size int) *Case {
	kind := "text"
	if binary {
		kind = "binary"
	}
	return &Case{ID: id, Description: desc, expectation: exp, bound: wait + slack, reportTime: true,
		open: func(s *session) {
			s.EnableTrace(false)
			s.ExpectClose(closeNormal)
			s.Behavior = Failed
			s.Result = fmt.Sprintf("Did not receive message within %d seconds.", int(wait/sec))
			s.OnMessage = func(msg []byte, bin bool) {
				switch {
				case bin != binary:
					s.Result = fmt.Sprintf("Expected %s message with payload, but got the other type.", kind)
				case len(msg) != size:
					s.Result = fmt.Sprintf("Expected %s message with payload of length %d, but got %d.", kind, size, len(msg))
				default:
					s.Behavior = OK
					s.Result = fmt.Sprintf("Received %s message of length %d.", kind, len(msg))
				}
				s.EnableTrace(true)
				s.SendClose(1000, "")
			}
			send(s)
			s.CloseAfter(wait)
		}}
}

// limitCases is group 9: large messages, many fragments, tiny TCP chops,
// and round-trip series. Each records its duration.
func limitCases() []*Case {
	var cs []*Case
	const textFill, binFill = "BAsd7&jh23", "\x00\xfe\x23\xfa\xf0"
	sizes := []int{64 << 10, 256 << 10, 1 << 20, 4 << 20, 8 << 20, 16 << 20}
	textWait := []time.Duration{10 * sec, 10 * sec, 100 * sec, 100 * sec, 100 * sec, 100 * sec}
	binWait := []time.Duration{10 * sec, 10 * sec, 10 * sec, 10 * sec, 100 * sec, 100 * sec}
	for i, n := range sizes {
		n := n
		cs = append(cs, bulkEcho(fmt.Sprintf("9.1.%d", i+1),
			fmt.Sprintf("Send text message message with payload of length %d * 2**%d (%s).", n>>pow2(n), pow2(n), sizeName(n)),
			"Receive echo'ed text message (with payload as sent).", false, textWait[i],
			func(s *session) { s.SendFrame(frameSpec{Opcode: opText, Payload: []byte(textFill), Len: n}) }, n))
	}
	for i, n := range sizes {
		n := n
		cs = append(cs, bulkEcho(fmt.Sprintf("9.2.%d", i+1),
			fmt.Sprintf("Send binary message message with payload of length %d * 2**%d (%s).", n>>pow2(n), pow2(n), sizeName(n)),
			"Receive echo'ed binary message (with payload as sent).", true, binWait[i],
			func(s *session) { s.SendFrame(frameSpec{Opcode: opBinary, Payload: []byte(binFill), Len: n}) }, n))
	}
	frags := []int{64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20}
	const fragTotal = 4 << 20
	textMsg := rep("*", fragTotal)
	for i, fs := range frags {
		fs := fs
		cs = append(cs, bulkEcho(fmt.Sprintf("9.3.%d", i+1),
			fmt.Sprintf("Send fragmented text message message with message payload of length 4 * 2**20 (4M). Sent out in fragments of %s.", sizeName(fs)),
			"Receive echo'ed text message (with payload as sent).", false, 100*sec,
			func(s *session) { s.SendMessage(textMsg, false, fs) }, fragTotal))
	}
	binFE := rep("\xfe", fragTotal)
	for i, fs := range frags {
		fs := fs
		msg := textMsg // the testsuite fills 9.4.2 to 9.4.9 with '*' too
		if i == 0 {
			msg = binFE
		}
		cs = append(cs, bulkEcho(fmt.Sprintf("9.4.%d", i+1),
			fmt.Sprintf("Send fragmented binary message message with message payload of length 4 * 2**20 (4M). Sent out in fragments of %s.", sizeName(fs)),
			"Receive echo'ed binary message (with payload as sent).", true, 100*sec,
			func(s *session) { s.SendMessage(msg, true, fs) }, fragTotal))
	}
	chops := []int{64, 128, 256, 512, 1024, 2048}
	for i, c := range chops {
		c := c
		cs = append(cs, bulkEcho(fmt.Sprintf("9.5.%d", i+1),
			fmt.Sprintf("Send text message message with payload of length 1 * 2**20 (1M). Sent out data in chops of %d octets.", c),
			"Receive echo'ed text message (with payload as sent).", false, 1000*sec,
			func(s *session) {
				s.SendFrame(frameSpec{Opcode: opText, Payload: []byte(textFill), Len: 1 << 20, Chop: c})
			}, 1<<20))
	}
	for i, c := range chops {
		c := c
		cs = append(cs, bulkEcho(fmt.Sprintf("9.6.%d", i+1),
			fmt.Sprintf("Send binary message message with payload of length 1 * 2**20 (1M). Sent out data in chops of %d octets.", c),
			"Receive echo'ed binary message (with payload as sent).", true, 1000*sec,
			func(s *session) {
				s.SendFrame(frameSpec{Opcode: opBinary, Payload: []byte(binFill), Len: 1 << 20, Chop: c})
			}, 1<<20))
	}
	rtt := []struct {
		n    int
		wait time.Duration
	}{{0, 60 * sec}, {16, 60 * sec}, {64, 60 * sec}, {256, 120 * sec}, {1024, 240 * sec}, {4096, 480 * sec}}
	for gi, binary := range []bool{false, true} {
		for i, r := range rtt {
			cs = append(cs, roundTrips(fmt.Sprintf("9.%d.%d", 7+gi, i+1), binary, r.n, 1000, r.wait))
		}
	}
	return cs
}

func pow2(n int) int {
	switch {
	case n >= 1<<20:
		return 20
	case n >= 1<<10:
		return 10
	}
	return 0
}

// roundTrips is 9.7 and 9.8: count messages of n bytes, each sent when the
// previous echo arrived.
func roundTrips(id string, binary bool, n, count int, wait time.Duration) *Case {
	kind, op, fill := "text", opText, "*"
	if binary {
		kind, op, fill = "binary", opBinary, "\xfe"
	}
	return &Case{ID: id, reportTime: true, bound: wait + slack,
		Description: fmt.Sprintf("Send %d %s messages of payload size %d to measure implementation/network RTT (round trip time) / latency.", count, kind, n),
		expectation: fmt.Sprintf("Receive echo'ed %s messages (with payload as sent). Timeout case after %d secs.", kind, int(wait/sec)),
		open: func(s *session) {
			s.EnableTrace(false)
			s.Behavior = Failed
			s.ExpectClose(closeNormal)
			s.Result = fmt.Sprintf("Case did not finish within %d seconds.", int(wait/sec))
			s.CloseAfter(wait)
			sent := 0
			payload := rep(fill, n)
			sendOne := func() {
				s.SendFrame(frameSpec{Opcode: op, Payload: payload})
				sent++
			}
			s.OnMessage = func(msg []byte, bin bool) {
				switch {
				case bin != binary || len(msg) != n:
					s.conclude(Failed, fmt.Sprintf("Echo'ed message type or length differs from what I sent (got binary = %v, payload length = %d).", bin, len(msg)))
				case sent < count:
					sendOne()
				default:
					s.conclude(OK, "Ok, received all echo'ed messages in time.")
				}
			}
			sendOne()
		}}
}
