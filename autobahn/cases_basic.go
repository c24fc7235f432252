package autobahn

import (
	"bytes"
	"fmt"
	"time"

	"github.com/hybi/websocket/frame"
)

// Shorthands for the catalogue tables.
const (
	opCont   = frame.OpContinuation
	opText   = frame.OpText
	opBinary = frame.OpBinary
	opClose  = frame.OpClose
	opPing   = frame.OpPing
	opPong   = frame.OpPong
	sec      = time.Second
)

var (
	closeNormal   = expectedClose{ClosedByMe: true, CloseCodes: []int{1000}, RequireClean: true}
	failProtocol  = expectedClose{ClosedByMe: false, CloseCodes: []int{1002}}
	failPayload   = expectedClose{ClosedByMe: false, CloseCodes: []int{1007}, WrongEndpointFatal: true}
	helloWorld    = []byte("Hello, world!")
	nonUTF8Binary = []byte("\x00\xff\xfe\xfd\xfc\xfb\x00\xff")
	// κόσμε followed by a UTF-16 surrogate (invalid) and "edited".
	invalidUTF8 = []byte("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64")
)

func rep(s string, n int) []byte { return bytes.Repeat([]byte(s), n) }

// slack is what a case may take beyond its own timers: the fuzzer's
// closing handshake timeout and, as a client, the server drop timeout.
const slack = 2 * sec

// framingCases is group 1: text and binary messages of the lengths around
// the 7-bit, 16-bit and 64-bit length encodings (RFC 6455 §5.2).
func framingCases() []*Case {
	var cs []*Case
	sizes := []struct {
		n    int
		chop int
		kill time.Duration
	}{{0, 0, sec}, {125, 0, sec}, {126, 0, sec}, {127, 0, sec}, {128, 0, sec}, {65535, 0, 10 * sec}, {65536, 0, 10 * sec}, {65536, 997, 10 * sec}}
	for bi, binary := range []bool{false, true} {
		for i, sz := range sizes {
			kind, fill, op := "text", "*", opText
			if binary {
				kind, fill, op = "binary", "\xfe", opBinary
			}
			desc := fmt.Sprintf("Send %s message with payload of length %d.", kind, sz.n)
			if sz.chop > 0 {
				desc = fmt.Sprintf("Send %s message with payload of length %d. Sent out data in chops of %d octets.", kind, sz.n, sz.chop)
			}
			payload := rep(fill, sz.n)
			sz := sz
			cs = append(cs, &Case{
				ID:          fmt.Sprintf("1.%d.%d", bi+1, i+1),
				Description: desc,
				expectation: fmt.Sprintf("Receive echo'ed %s message (with payload as sent). Clean close with normal code.", kind),
				bound:       sz.kill + slack,
				open: func(s *session) {
					s.Expect(OK, message(payload, binary))
					s.ExpectClose(closeNormal)
					s.SendFrame(frameSpec{Opcode: op, Payload: payload, Chop: sz.chop})
					s.KillAfter(sz.kill)
				},
			})
		}
	}
	return cs
}

// pingCases is group 2: pings and pongs (RFC 6455 §5.5.2, §5.5.3).
func pingCases() []*Case {
	pongFor := func(id, desc, exp string, payload []byte, chop int, wait time.Duration) *Case {
		return &Case{ID: id, Description: desc, expectation: exp, bound: wait + slack,
			open: func(s *session) {
				s.Expect(OK, pong(payload))
				s.ExpectClose(closeNormal)
				s.SendFrame(frameSpec{Opcode: opPing, Payload: payload, Chop: chop})
				s.CloseAfter(wait)
			}}
	}
	const echoExp = "Pong with payload echo'ed is sent in reply to Ping. Clean close with normal code."
	tenPings := func(id, desc string, chop int) *Case {
		return &Case{ID: id, Description: desc,
			expectation: "Pongs for our Pings with all the payloads. Note: This is not required by the Spec .. but we check for this behaviour anyway. Clean close with normal code.",
			bound:       3*sec + slack,
			open: func(s *session) {
				var want []event
				for i := range 10 {
					p := []byte(fmt.Sprintf("payload-%d", i))
					want = append(want, pong(p))
					s.SendFrame(frameSpec{Opcode: opPing, Payload: p, Chop: chop})
				}
				s.Expect(OK, want...)
				s.ExpectClose(closeNormal)
				s.CloseAfter(3 * sec)
			}}
	}
	return []*Case{
		pongFor("2.1", "Send ping without payload.", "Pong (with empty payload) is sent in reply to Ping. Clean close with normal code.", []byte{}, 0, sec),
		pongFor("2.2", "Send ping with small text payload.", echoExp, helloWorld, 0, sec),
		pongFor("2.3", "Send ping with small binary (non UTF-8) payload.", echoExp, nonUTF8Binary, 0, sec),
		pongFor("2.4", "Send ping with binary payload of 125 octets.", echoExp, rep("\xfe", 125), 0, sec),
		{ID: "2.5", Description: "Send ping with binary payload of 126 octets.",
			expectation: "Connection is failed immediately (1002/Protocol Error), since control frames are only allowed to have payload up to and including 125 octets..",
			bound:       sec + slack,
			open: func(s *session) {
				s.Expect(OK)
				s.ExpectClose(failProtocol)
				s.Send(opPing, rep("\xfe", 126))
				s.KillAfter(sec)
			}},
		pongFor("2.6", "Send ping with binary payload of 125 octets, send in octet-wise chops.", "Pong with payload echo'ed is sent in reply to Ping. Implementations must be TCP clean. Clean close with normal code.", rep("\xfe", 125), 1, 2*sec),
		{ID: "2.7", Description: "Send unsolicited pong without payload. Verify nothing is received. Clean close with normal code.",
			expectation: "Nothing.", bound: sec + slack,
			open: func(s *session) {
				s.Expect(OK)
				s.ExpectClose(closeNormal)
				s.Send(opPong, nil)
				s.SendClose(1000, "")
				s.CloseAfter(sec)
			}},
		{ID: "2.8", Description: "Send unsolicited pong with payload. Verify nothing is received. Clean close with normal code.",
			expectation: "Nothing.", bound: sec + slack,
			open: func(s *session) {
				s.Expect(OK)
				s.ExpectClose(closeNormal)
				s.Send(opPong, []byte("unsolicited pong payload"))
				s.SendClose(1000, "")
				s.CloseAfter(sec)
			}},
		{ID: "2.9", Description: "Send unsolicited pong with payload. Send ping with payload. Verify pong for ping is received.",
			expectation: "Nothing in reply to own Pong, but Pong with payload echo'ed in reply to Ping. Clean close with normal code.",
			bound:       sec + slack,
			open: func(s *session) {
				p := []byte("ping payload")
				s.Expect(OK, pong(p))
				s.ExpectClose(closeNormal)
				s.Send(opPong, []byte("unsolicited pong payload"))
				s.Send(opPing, p)
				s.CloseAfter(sec)
			}},
		tenPings("2.10", "Send 10 Pings with payload.", 0),
		tenPings("2.11", "Send 10 Pings with payload. Send out octets in octet-wise chops.", 1),
	}
}

// failAfter builds the common shape of a case that sends frames the peer
// must reject: optionally an echo is expected first (OK) or nothing
// (NON-STRICT), then the peer must fail the connection with 1002.
func failAfter(id, desc, exp string, echoFirst []byte, frames ...frameSpec) *Case {
	return &Case{ID: id, Description: desc, expectation: exp, bound: sec + slack,
		open: func(s *session) {
			if echoFirst != nil {
				s.Expect(OK, message(echoFirst, false))
				s.Expect(NonStrict)
			} else {
				s.Expect(OK)
			}
			s.ExpectClose(failProtocol)
			for _, f := range frames {
				s.SendFrame(f)
			}
			s.KillAfter(sec)
		}}
}

// reservedCases is groups 3 and 4: reserved bits and reserved opcodes
// (RFC 6455 §5.2: "MUST be 0 unless an extension is negotiated", "If an
// unknown opcode is received, the receiving endpoint MUST _Fail the
// WebSocket Connection_").
func reservedCases() []*Case {
	const rsvExp = "Echo for first message is received, but then connection is failed immediately, since RSV must be 0, when no extension defining RSV meaning has been negotiated. The Pong is not received."
	const opExp = "Echo for first message is received, but then connection is failed immediately, since reserved opcode frame is used. A Pong is not received."
	return []*Case{
		failAfter("3.1", "Send small text message with <b>RSV = 1</b>.", "The connection is failed immediately (1002/protocol error), since RSV must be 0, when no extension defining RSV meaning has been negotiated.", nil,
			frameSpec{Opcode: opText, Payload: helloWorld, RSV: 1}),
		failAfter("3.2", "Send small text message, then send again with <b>RSV = 2</b>, then send Ping.", rsvExp, helloWorld,
			frameSpec{Opcode: opText, Payload: helloWorld}, frameSpec{Opcode: opText, Payload: helloWorld, RSV: 2}, frameSpec{Opcode: opPing}),
		failAfter("3.3", "Send small text message, then send again with <b>RSV = 3</b>, then send Ping. Octets are sent in frame-wise chops. Octets are sent in octet-wise chops.", rsvExp, helloWorld,
			frameSpec{Opcode: opText, Payload: helloWorld, Sync: true}, frameSpec{Opcode: opText, Payload: helloWorld, RSV: 3, Sync: true}, frameSpec{Opcode: opPing, Sync: true}),
		failAfter("3.4", "Send small text message, then send again with <b>RSV = 4</b>, then send Ping. Octets are sent in octet-wise chops.", rsvExp, helloWorld,
			frameSpec{Opcode: opText, Payload: helloWorld, Chop: 1}, frameSpec{Opcode: opText, Payload: helloWorld, RSV: 4, Chop: 1}, frameSpec{Opcode: opPing, Chop: 1}),
		failAfter("3.5", "Send small binary message with <b>RSV = 5</b>.", "The connection is failed immediately, since RSV must be 0.", nil,
			frameSpec{Opcode: opBinary, Payload: nonUTF8Binary, RSV: 5}),
		// The testsuite describes 3.6 as a ping but sends a binary frame; we send what it sends.
		failAfter("3.6", "Send Ping with <b>RSV = 6</b>.", "The connection is failed immediately, since RSV must be 0.", nil,
			frameSpec{Opcode: opBinary, Payload: helloWorld, RSV: 6}),
		failAfter("3.7", "Send Close with <b>RSV = 7</b>.", "The connection is failed immediately, since RSV must be 0.", nil,
			frameSpec{Opcode: opClose, RSV: 7}),

		failAfter("4.1.1", "Send frame with reserved non-control <b>Opcode = 3</b>.", "The connection is failed immediately.", nil,
			frameSpec{Opcode: 3}),
		failAfter("4.1.2", "Send frame with reserved non-control <b>Opcode = 4</b> and non-empty payload.", "The connection is failed immediately.", nil,
			frameSpec{Opcode: 4, Payload: []byte("reserved opcode payload")}),
		failAfter("4.1.3", "Send small text message, then send frame with reserved non-control <b>Opcode = 5</b>, then send Ping.", opExp, helloWorld,
			frameSpec{Opcode: opText, Payload: helloWorld}, frameSpec{Opcode: 5}, frameSpec{Opcode: opPing}),
		failAfter("4.1.4", "Send small text message, then send frame with reserved non-control <b>Opcode = 6</b> and non-empty payload, then send Ping.", opExp, helloWorld,
			frameSpec{Opcode: opText, Payload: helloWorld}, frameSpec{Opcode: 6, Payload: helloWorld}, frameSpec{Opcode: opPing}),
		failAfter("4.1.5", "Send small text message, then send frame with reserved non-control <b>Opcode = 7</b> and non-empty payload, then send Ping.", opExp, helloWorld,
			frameSpec{Opcode: opText, Payload: helloWorld, Chop: 1}, frameSpec{Opcode: 7, Payload: helloWorld, Chop: 1}, frameSpec{Opcode: opPing, Chop: 1}),
		failAfter("4.2.1", "Send frame with reserved control <b>Opcode = 11</b>.", "The connection is failed immediately.", nil,
			frameSpec{Opcode: 11}),
		failAfter("4.2.2", "Send frame with reserved control <b>Opcode = 12</b> and non-empty payload.", "The connection is failed immediately.", nil,
			frameSpec{Opcode: 12, Payload: []byte("reserved opcode payload")}),
		failAfter("4.2.3", "Send small text message, then send frame with reserved control <b>Opcode = 13</b>, then send Ping.", opExp, helloWorld,
			frameSpec{Opcode: opText, Payload: helloWorld}, frameSpec{Opcode: 13}, frameSpec{Opcode: opPing}),
		failAfter("4.2.4", "Send small text message, then send frame with reserved control <b>Opcode = 14</b> and non-empty payload, then send Ping.", opExp, helloWorld,
			frameSpec{Opcode: opText, Payload: helloWorld}, frameSpec{Opcode: 14, Payload: helloWorld}, frameSpec{Opcode: opPing}),
		failAfter("4.2.5", "Send small text message, then send frame with reserved control <b>Opcode = 15</b> and non-empty payload, then send Ping.", opExp, helloWorld,
			frameSpec{Opcode: opText, Payload: helloWorld, Chop: 1}, frameSpec{Opcode: 15, Payload: helloWorld, Chop: 1}, frameSpec{Opcode: opPing, Chop: 1}),
	}
}

// fragmentationCases is group 5 (RFC 6455 §5.4).
func fragmentationCases() []*Case {
	const noContinue = "The connection is failed immediately, since there is no message to continue."
	f := func(op frame.Opcode, fin bool, payload string, chop int, sync bool) frameSpec {
		return frameSpec{Opcode: op, NoFin: !fin, Payload: []byte(payload), Chop: chop, Sync: sync}
	}
	echo2 := func(id, desc, exp string, withPing bool, chop int, sync bool) *Case {
		return &Case{ID: id, Description: desc, expectation: exp, bound: sec + slack,
			open: func(s *session) {
				msg := text("fragment1fragment2")
				if withPing {
					s.Expect(OK, pong([]byte("ping payload")), msg)
				} else {
					s.Expect(OK, msg)
				}
				s.ExpectClose(closeNormal)
				s.SendFrame(f(opText, false, "fragment1", chop, sync))
				if withPing {
					s.SendFrame(f(opPing, true, "ping payload", chop, sync))
				}
				s.SendFrame(f(opCont, true, "fragment2", chop, sync))
				s.CloseAfter(sec)
			}}
	}
	pingPong := func(id, desc, exp string, sync bool) *Case {
		return &Case{ID: id, Description: desc, expectation: exp, bound: 2*sec + slack,
			open: func(s *session) {
				s.Expect(OK, pong([]byte("pongme 1!")), pong([]byte("pongme 2!")), text("fragment1fragment2fragment3fragment4fragment5"))
				s.ExpectClose(closeNormal)
				s.SendFrame(f(opText, false, "fragment1", 0, sync))
				s.SendFrame(f(opCont, false, "fragment2", 0, sync))
				s.SendFrame(f(opPing, true, "pongme 1!", 0, sync))
				s.ContinueLater(sec, func() {
					s.SendFrame(f(opCont, false, "fragment3", 0, sync))
					s.SendFrame(f(opCont, false, "fragment4", 0, sync))
					s.SendFrame(f(opPing, true, "pongme 2!", 0, sync))
					s.SendFrame(f(opCont, true, "fragment5", 0, sync))
					s.CloseAfter(sec)
				})
			}}
	}
	const pingExp = "A pong is received, then the message is echo'ed back to us."
	return []*Case{
		failAfter("5.1", "Send Ping fragmented into 2 fragments.", "Connection is failed immediately, since control message MUST NOT be fragmented.", nil,
			f(opPing, false, "fragment1", 0, false), f(opCont, true, "fragment2", 0, false)),
		failAfter("5.2", "Send Pong fragmented into 2 fragments.", "Connection is failed immediately, since control message MUST NOT be fragmented.", nil,
			f(opPong, false, "fragment1", 0, false), f(opCont, true, "fragment2", 0, false)),
		echo2("5.3", "Send text Message fragmented into 2 fragments.", "Message is processed and echo'ed back to us.", false, 0, false),
		echo2("5.4", "Send text Message fragmented into 2 fragments, octets are sent in frame-wise chops.", "Message is processed and echo'ed back to us.", false, 0, true),
		echo2("5.5", "Send text Message fragmented into 2 fragments, octets are sent in octet-wise chops.", "Message is processed and echo'ed back to us.", false, 1, false),
		echo2("5.6", "Send text Message fragmented into 2 fragments, one ping with payload in-between.", pingExp, true, 0, false),
		echo2("5.7", "Send text Message fragmented into 2 fragments, one ping with payload in-between. Octets are sent in frame-wise chops.", pingExp, true, 0, true),
		echo2("5.8", "Send text Message fragmented into 2 fragments, one ping with payload in-between. Octets are sent in octet-wise chops.", pingExp, true, 1, false),
		failAfter("5.9", "Send unfragmented Text Message after Continuation Frame with FIN = true, where there is nothing to continue, sent in one chop.", noContinue, nil,
			f(opCont, true, "non-continuation payload", 0, false), f(opText, true, "Hello, world!", 0, false)),
		failAfter("5.10", "Send unfragmented Text Message after Continuation Frame with FIN = true, where there is nothing to continue, sent in per-frame chops.", noContinue, nil,
			f(opCont, true, "non-continuation payload", 0, true), f(opText, true, "Hello, world!", 0, true)),
		failAfter("5.11", "Send unfragmented Text Message after Continuation Frame with FIN = true, where there is nothing to continue, sent in octet-wise chops.", noContinue, nil,
			f(opCont, true, "non-continuation payload", 1, false), f(opText, true, "Hello, world!", 1, false)),
		failAfter("5.12", "Send unfragmented Text Message after Continuation Frame with FIN = false, where there is nothing to continue, sent in one chop.", noContinue, nil,
			f(opCont, false, "non-continuation payload", 0, false), f(opText, true, "Hello, world!", 0, false)),
		failAfter("5.13", "Send unfragmented Text Message after Continuation Frame with FIN = false, where there is nothing to continue, sent in per-frame chops.", noContinue, nil,
			f(opCont, false, "non-continuation payload", 0, true), f(opText, true, "Hello, world!", 0, true)),
		failAfter("5.14", "Send unfragmented Text Message after Continuation Frame with FIN = false, where there is nothing to continue, sent in octet-wise chops.", noContinue, nil,
			f(opCont, false, "non-continuation payload", 1, false), f(opText, true, "Hello, world!", 1, false)),
		failAfter("5.15", "Send text Message fragmented into 2 fragments, then Continuation Frame with FIN = false where there is nothing to continue, then unfragmented Text Message, all sent in one chop.", noContinue, []byte("fragment1fragment2"),
			f(opText, false, "fragment1", 0, false), f(opCont, true, "fragment2", 0, false), f(opCont, false, "fragment3", 0, false), f(opText, true, "fragment4", 0, false)),
		failAfter("5.16", "Repeated 2x: Continuation Frame with FIN = false (where there is nothing to continue), then text Message fragmented into 2 fragments.", noContinue, nil,
			f(opCont, false, "fragment1", 0, false), f(opText, false, "fragment2", 0, false), f(opCont, true, "fragment3", 0, false),
			f(opCont, false, "fragment1", 0, false), f(opText, false, "fragment2", 0, false), f(opCont, true, "fragment3", 0, false)),
		failAfter("5.17", "Repeated 2x: Continuation Frame with FIN = true (where there is nothing to continue), then text Message fragmented into 2 fragments.", noContinue, nil,
			f(opCont, true, "fragment1", 0, false), f(opText, false, "fragment2", 0, false), f(opCont, true, "fragment3", 0, false),
			f(opCont, true, "fragment1", 0, false), f(opText, false, "fragment2", 0, false), f(opCont, true, "fragment3", 0, false)),
		failAfter("5.18", "Send text Message fragmented into 2 fragments, with both frame opcodes set to text, sent in one chop.", "The connection is failed immediately, since all data frames after the initial data frame must have opcode 0.", nil,
			f(opText, false, "fragment1", 0, false), f(opText, true, "fragment2", 0, false)),
		pingPong("5.19", "A fragmented text message is sent in multiple frames. After sending the first 2 frames of the text message, a Ping is sent. Then we wait 1s, then we send 2 more text fragments, another Ping and then the final text fragment. Everything is legal.",
			"The peer immediately answers the first Ping before it has received the last text message fragment. The peer pong's back the Ping's payload exactly, and echo's the payload of the fragmented message back to us.", false),
		pingPong("5.20", "Same as Case 5.19, but send all frames with SYNC = True. Note, this does not change the octets sent in any way, only how the stream is chopped up on the wire.",
			"Same as Case 5.19. Implementations must be agnostic to how octet stream is chopped up on wire (must be TCP clean).", true),
	}
}

// wrongCodeFails makes a WRONG CODE close verdict fail the case, as the
// testsuite's group 7 cases do.
func wrongCodeFails(s *session) {
	s.OnLost = func() {
		if s.BehaviorClose == WrongCode {
			s.Behavior = Failed
			s.Result = s.ResultClose
		}
	}
}

// informational makes both verdicts INFORMATIONAL whatever happened.
func informational(s *session, result string) {
	s.OnLost = func() {
		switch s.Behavior {
		case OK:
			result = "Text message was processed before close."
		case NonStrict:
			result = "Close was processed before text message could be returned."
		}
		s.Behavior = Informational
		s.BehaviorClose = Informational
		s.Result = result
	}
}

// closeCases is group 7: the closing handshake (RFC 6455 §5.5.1, §7).
func closeCases() []*Case {
	fuzzerClose := func(id, desc, exp string, ec expectedClose, send func(s *session)) *Case {
		return &Case{ID: id, Description: desc, expectation: exp, bound: sec + slack,
			open: func(s *session) {
				s.SuppressClose()
				wrongCodeFails(s)
				s.Expect(OK)
				s.ExpectClose(ec)
				send(s)
				s.KillAfter(sec)
			}}
	}
	cs := []*Case{
		{ID: "7.1.1", Description: "Send a message followed by a close frame", expectation: "Echoed message followed by clean close with normal code.", bound: sec + slack,
			open: func(s *session) {
				wrongCodeFails(s)
				p := []byte("Hello World!")
				s.Expect(OK, text("Hello World!"))
				s.ExpectClose(closeNormal)
				s.Send(opText, p)
				s.KillAfter(sec)
			}},
		fuzzerClose("7.1.2", "Send two close frames", "Clean close with normal code. Second close frame ignored.", closeNormal, func(s *session) {
			s.SendClose(1000, "")
			s.Send(opClose, nil)
		}),
		fuzzerClose("7.1.3", "Send a ping after close message", "Clean close with normal code, no pong.", closeNormal, func(s *session) {
			s.SendClose(1000, "")
			s.Send(opPing, nil)
		}),
		fuzzerClose("7.1.4", "Send text message after sending a close frame.", "Clean close with normal code. Text message ignored.", closeNormal, func(s *session) {
			s.SendClose(1000, "")
			s.Send(opText, []byte("Hello World!"))
		}),
		fuzzerClose("7.1.5", "Send message fragment1 followed by close then fragment", "Clean close with normal code.", closeNormal, func(s *session) {
			s.SendFrame(frameSpec{Opcode: opText, NoFin: true, Payload: []byte("fragment1")})
			s.SendClose(1000, "")
			s.SendFrame(frameSpec{Opcode: opCont, Payload: []byte("fragment2")})
		}),
		{ID: "7.1.6", Description: "Send 256K message followed by close then a ping",
			expectation: "Case outcome depends on implementation defined close behavior. Message and close frame are sent back to back. If the close frame is processed before the text message write is complete (as can happen in asynchronous processing models) the close frame is processed first and the text message may not be received or may only be partially received.",
			bound:       sec + slack,
			open: func(s *session) {
				s.SuppressClose()
				informational(s, "")
				s.Expect(OK, text("Hello World!"))
				s.Expect(NonStrict)
				s.ExpectClose(closeNormal)
				s.SendFrame(frameSpec{Opcode: opText, Payload: []byte("BAsd7&jh23"), Len: 256 << 10})
				s.Send(opText, []byte("Hello World!"))
				s.SendClose(1000, "")
				s.Send(opPing, nil)
				s.KillAfter(sec)
			}},
		fuzzerClose("7.3.1", "Send a close frame with payload length 0 (no close code, no close reason)", "Clean close with normal code.", closeNormal, func(s *session) {
			s.SendCloseFrame(-1, nil)
		}),
		fuzzerClose("7.3.2", "Send a close frame with payload length 1", "Clean close with protocol error or drop TCP.",
			expectedClose{ClosedByMe: true, CloseCodes: []int{1002}}, func(s *session) {
				s.SendCloseFrame(-1, []byte("a"))
			}),
		fuzzerClose("7.3.3", "Send a close frame with payload length 2 (regular close with a code)", "Clean close with normal code.", closeNormal, func(s *session) {
			s.SendClose(1000, "")
		}),
		fuzzerClose("7.3.4", "Send a close frame with close code and close reason", "Clean close with normal code.", closeNormal, func(s *session) {
			s.SendClose(1000, "Hello World!")
		}),
		fuzzerClose("7.3.5", "Send a close frame with close code and close reason of maximum length (123)", "Clean close with normal code.", closeNormal, func(s *session) {
			s.SendClose(1000, string(rep("*", 123)))
		}),
		fuzzerClose("7.3.6", "Send a close frame with close code and close reason which is too long (124) - total frame payload 126 octets", "Clean close with protocol error code or dropped TCP connection.",
			expectedClose{ClosedByMe: true, CloseCodes: []int{1002}}, func(s *session) {
				s.SendCloseFrame(1000, rep("*", 124))
			}),
		fuzzerClose("7.5.1", "Send a close frame with invalid UTF8 payload", "Clean close with protocol error or invalid utf8 code or dropped TCP.",
			expectedClose{ClosedByMe: true, CloseCodes: []int{1002, 1007}}, func(s *session) {
				s.SendCloseFrame(1000, invalidUTF8)
			}),
	}
	for i, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999} {
		code := code
		cs = append(cs, fuzzerClose(fmt.Sprintf("7.7.%d", i+1), fmt.Sprintf("Send close with valid close code %d", code), "Clean close with normal or echoed code",
			expectedClose{ClosedByMe: true, CloseCodes: []int{1000, code}, RequireClean: true}, func(s *session) {
				s.SendCloseFrame(code, nil)
			}))
	}
	for i, code := range []int{0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999} {
		code := code
		cs = append(cs, fuzzerClose(fmt.Sprintf("7.9.%d", i+1), fmt.Sprintf("Send close with invalid close code %d", code), "Clean close with protocol error code or drop TCP",
			expectedClose{ClosedByMe: true, CloseCodes: []int{1002}}, func(s *session) {
				s.SendCloseFrame(code, nil)
			}))
	}
	for i, code := range []int{5000, 65535} {
		code := code
		cs = append(cs, &Case{ID: fmt.Sprintf("7.13.%d", i+1), Description: fmt.Sprintf("Send close with close code %d", code),
			expectation: "Actual events are undefined by the spec.", bound: sec + slack,
			open: func(s *session) {
				s.SuppressClose()
				s.OnLost = func() {
					s.Behavior, s.BehaviorClose = Informational, Informational
					s.Result = "Actual events are undefined by the spec."
				}
				s.Expect(OK)
				s.ExpectClose(expectedClose{ClosedByMe: true, CloseCodes: []int{1000, code, 1002}})
				s.SendCloseFrame(code, nil)
				s.KillAfter(sec)
			}})
	}
	return cs
}

// autoFragmentCases is group 10.
func autoFragmentCases() []*Case {
	return []*Case{{ID: "10.1.1",
		Description: "Send text message with payload of length 65536 auto-fragmented with <b>autoFragmentSize = 1300</b>.",
		expectation: "Receive echo'ed text message (with payload as sent and transmitted frame counts as expected). Clean close with normal code.",
		bound:       10*sec + slack,
		open: func(s *session) {
			payload := rep("*", 65536)
			s.AutoFragmentSize = 1300
			s.Expect(OK, message(payload, false))
			s.ExpectClose(closeNormal)
			s.SendMessage(payload, false, 0)
			s.KillAfter(10 * sec)
			s.OnLost = func() {
				want := [2]int{len(payload) / 1300, 0}
				if len(payload)%1300 > 0 {
					want[1] = 1
				}
				got := [2]int{s.txFrames[opCont], s.txFrames[opText]}
				if got != want {
					s.Behavior = Failed
					s.Result = fmt.Sprintf("Frames transmitted %v does not match what we expected %v.", got, want)
				}
			}
		}}}
}
