package autobahn

import (
	"encoding/hex"
	"fmt"
)

// utf8Group is one subcategory of the UTF-8 decoder vectors (after Markus
// Kuhn's UTF-8-test.txt, as the testsuite arranges them from 6.5 on).
type utf8Group struct {
	title   string
	vectors []utf8Vector
}

type utf8Vector struct {
	valid   bool
	payload string
}

var kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5" // κόσμε

func v(valid bool, s string) utf8Vector { return utf8Vector{valid, s} }

// utf8Vectors builds the table of 6.5 onwards: each group becomes 6.N and
// each vector 6.N.M.
func utf8Vectors() []utf8Group {
	var gs []utf8Group
	add := func(title string, vs ...utf8Vector) { gs = append(gs, utf8Group{title, vs}) }

	add("Some valid UTF-8 sequences",
		v(true, "hello\x24world"), v(true, "hello\xc2\xa2world"), v(true, "hello\xe2\x82\xacworld"),
		v(true, "hello\xf0\xa4\xad\xa2world"), v(true, kosme))

	var prefixes []utf8Vector
	for i := 1; i <= len(kosme); i++ {
		prefixes = append(prefixes, v(validUTF8([]byte(kosme[:i])), kosme[:i]))
	}
	add("All prefixes of a valid UTF-8 string that contains multi-byte code points", prefixes...)

	add("First possible sequence of a certain length",
		v(true, "\x00"), v(true, "\xc2\x80"), v(true, "\xe0\xa0\x80"), v(true, "\xf0\x90\x80\x80"))
	add("First possible sequence length 5/6 (invalid codepoints)",
		v(false, "\xf8\x88\x80\x80\x80"), v(false, "\xfc\x84\x80\x80\x80\x80"))
	add("Last possible sequence of a certain length",
		v(true, "\x7f"), v(true, "\xdf\xbf"), v(true, "\xef\xbf\xbf"), v(true, "\xf4\x8f\xbf\xbf"))
	add("Last possible sequence length 4/5/6 (invalid codepoints)",
		v(false, "\xf7\xbf\xbf\xbf"), v(false, "\xfb\xbf\xbf\xbf\xbf"), v(false, "\xfd\xbf\xbf\xbf\xbf\xbf"))
	add("Other boundary conditions",
		v(true, "\xed\x9f\xbf"), v(true, "\xee\x80\x80"), v(true, "\xef\xbf\xbd"), v(true, "\xf4\x8f\xbf\xbf"), v(false, "\xf4\x90\x80\x80"))

	var contBytes []byte
	for b := 0x80; b < 0xbf; b++ {
		contBytes = append(contBytes, byte(b))
	}
	cont := string(contBytes)
	add("Unexpected continuation bytes",
		v(false, "\x80"), v(false, "\xbf"), v(false, "\x80\xbf"), v(false, "\x80\xbf\x80"), v(false, "\x80\xbf\x80\xbf"),
		v(false, "\x80\xbf\x80\xbf\x80"), v(false, "\x80\xbf\x80\xbf\x80\xbf"), v(false, cont))

	var lonely []utf8Vector
	for _, r := range [][2]int{{0xc0, 0xdf}, {0xe0, 0xef}, {0xf0, 0xf7}, {0xf8, 0xfb}, {0xfc, 0xfd}} {
		var s []byte
		for b := r[0]; b < r[1]; b++ {
			s = append(s, byte(b), 0x20)
		}
		lonely = append(lonely, v(false, string(s)))
	}
	add("Lonely start characters", lonely...)

	missing := []string{"\xc0", "\xe0\x80", "\xf0\x80\x80", "\xf8\x80\x80\x80", "\xfc\x80\x80\x80\x80",
		"\xdf", "\xef\xbf", "\xf7\xbf\xbf", "\xfb\xbf\xbf\xbf", "\xfd\xbf\xbf\xbf\xbf"}
	var mv []utf8Vector
	all := ""
	for _, m := range missing {
		mv = append(mv, v(false, m))
		all += m
	}
	add("Sequences with last continuation byte missing", mv...)
	add("Concatenation of incomplete sequences", v(false, all))
	add("Impossible bytes", v(false, "\xfe"), v(false, "\xff"), v(false, "\xfe\xfe\xff\xff"))
	add("Examples of an overlong ASCII character",
		v(false, "\xc0\xaf"), v(false, "\xe0\x80\xaf"), v(false, "\xf0\x80\x80\xaf"), v(false, "\xf8\x80\x80\x80\xaf"), v(false, "\xfc\x80\x80\x80\x80\xaf"))
	add("Maximum overlong sequences",
		v(false, "\xc1\xbf"), v(false, "\xe0\x9f\xbf"), v(false, "\xf0\x8f\xbf\xbf"), v(false, "\xf8\x87\xbf\xbf\xbf"), v(false, "\xfc\x83\xbf\xbf\xbf\xbf"))
	add("Overlong representation of the NUL character",
		v(false, "\xc0\x80"), v(false, "\xe0\x80\x80"), v(false, "\xf0\x80\x80\x80"), v(false, "\xf8\x80\x80\x80\x80"), v(false, "\xfc\x80\x80\x80\x80\x80"))
	add("Single UTF-16 surrogates",
		v(false, "\xed\xa0\x80"), v(false, "\xed\xad\xbf"), v(false, "\xed\xae\x80"), v(false, "\xed\xaf\xbf"),
		v(false, "\xed\xb0\x80"), v(false, "\xed\xbe\x80"), v(false, "\xed\xbf\xbf"))
	add("Paired UTF-16 surrogates",
		v(false, "\xed\xa0\x80\xed\xb0\x80"), v(false, "\xed\xa0\x80\xed\xbf\xbf"), v(false, "\xed\xad\xbf\xed\xb0\x80"),
		v(false, "\xed\xad\xbf\xed\xbf\xbf"), v(false, "\xed\xae\x80\xed\xb0\x80"), v(false, "\xed\xae\x80\xed\xbf\xbf"),
		v(false, "\xed\xaf\xbf\xed\xb0\x80"), v(false, "\xed\xaf\xbf\xed\xbf\xbf"))

	nonChars := []utf8Vector{v(true, "\xef\xbf\xbe"), v(true, "\xef\xbf\xbf")}
	for _, z1 := range []byte{0xf0, 0xf1, 0xf2, 0xf3, 0xf4} {
		for _, z2 := range []byte{0x8f, 0x9f, 0xaf, 0xbf} {
			if z1 == 0xf4 && z2 != 0x8f {
				continue // above U+10FFFF
			}
			for _, z3 := range []byte{0xbe, 0xbf} {
				zz := string([]byte{z1, z2, 0xbf, z3})
				if zz == "\xf0\x8f\xbf\xbe" || zz == "\xf0\x8f\xbf\xbf" {
					continue // overlong
				}
				nonChars = append(nonChars, v(true, zz))
			}
		}
	}
	add("Non-character code points (valid UTF-8)", nonChars...)
	add("Unicode specials (i.e. replacement char)",
		v(true, "\xef\xbf\xb9"), v(true, "\xef\xbf\xba"), v(true, "\xef\xbf\xbb"), v(true, "\xef\xbf\xbc"),
		v(true, "\xef\xbf\xbd"), v(true, "\xef\xbf\xbe"), v(true, "\xef\xbf\xbf"))
	return gs
}

// utf8Cases is group 6: UTF-8 handling of text messages (RFC 6455 §8.1:
// "When an endpoint is to interpret a byte stream as UTF-8 but finds that
// the byte stream is not, in fact, a valid UTF-8 stream, that endpoint
// MUST _Fail the WebSocket Connection_").
func utf8Cases() []*Case {
	echo := func(id, desc string, want []byte, send func(s *session)) *Case {
		return &Case{ID: id, Description: desc, expectation: "The message is echo'ed back to us.", bound: sec + slack,
			open: func(s *session) {
				s.Expect(OK, message(want, false))
				s.ExpectClose(closeNormal)
				send(s)
				s.CloseAfter(sec)
			}}
	}
	const hello = "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!" // Hello-µ@ßöäüàá-UTF-8!!
	const p1, p2 = "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4", "\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!"
	cs := []*Case{
		{ID: "6.1.1", Description: "Send text message of length 0.", expectation: "A message is echo'ed back to us (with empty payload).", bound: sec + slack,
			open: func(s *session) {
				s.Expect(OK, text(""))
				s.ExpectClose(closeNormal)
				s.Send(opText, nil)
				s.CloseAfter(sec)
			}},
		{ID: "6.1.2", Description: "Send fragmented text message, 3 fragments each of length 0.", expectation: "A message is echo'ed back to us (with empty payload).", bound: sec + slack,
			open: func(s *session) {
				s.Expect(OK, text(""))
				s.ExpectClose(closeNormal)
				s.SendFrame(frameSpec{Opcode: opText, NoFin: true})
				s.SendFrame(frameSpec{Opcode: opCont, NoFin: true})
				s.SendFrame(frameSpec{Opcode: opCont})
				s.CloseAfter(sec)
			}},
		{ID: "6.1.3", Description: "Send fragmented text message, 3 fragments, first and last of length 0, middle non-empty.", expectation: "A message is echo'ed back to us (with payload = payload of middle fragment).", bound: sec + slack,
			open: func(s *session) {
				s.Expect(OK, text("middle frame payload"))
				s.ExpectClose(closeNormal)
				s.SendFrame(frameSpec{Opcode: opText, NoFin: true})
				s.SendFrame(frameSpec{Opcode: opCont, NoFin: true, Payload: []byte("middle frame payload")})
				s.SendFrame(frameSpec{Opcode: opCont})
				s.CloseAfter(sec)
			}},
		echo("6.2.1", "Send a valid UTF-8 text message in one fragment.<br><br>MESSAGE:<br>"+hello+"<br>"+hex.EncodeToString([]byte(hello)), []byte(hello), func(s *session) {
			s.SendMessage([]byte(hello), false, 0)
		}),
		echo("6.2.2", "Send a valid UTF-8 text message in two fragments, fragmented on UTF-8 code point boundary.", []byte(p1+p2), func(s *session) {
			s.SendFrame(frameSpec{Opcode: opText, NoFin: true, Payload: []byte(p1)})
			s.SendFrame(frameSpec{Opcode: opCont, Payload: []byte(p2)})
		}),
		echo("6.2.3", "Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.<br><br>MESSAGE:<br>"+hello, []byte(hello), func(s *session) {
			s.SendMessage([]byte(hello), false, 1)
		}),
		echo("6.2.4", "Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.<br><br>MESSAGE:<br>"+kosme, []byte(kosme), func(s *session) {
			s.SendMessage([]byte(kosme), false, 1)
		}),
	}
	invalid := func(id, desc string, frag int) *Case {
		return &Case{ID: id, Description: desc + "<br><br>MESSAGE:<br>" + hex.EncodeToString(invalidUTF8),
			expectation: "The connection is failed immediately, since the payload is not valid UTF-8.", bound: sec + slack,
			open: func(s *session) {
				s.Expect(OK)
				s.ExpectClose(failPayload)
				s.SendMessage(invalidUTF8, false, frag)
				s.KillAfter(sec)
			}}
	}
	cs = append(cs,
		invalid("6.3.1", "Send invalid UTF-8 text message unfragmented.", 0),
		invalid("6.3.2", "Send invalid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.", 1),
	)

	// 6.4.x: fail fast. The payload turns invalid at octet 12 (0xf4 0x90 is
	// above U+10FFFF); the peer should fail as soon as it sees that octet.
	full := kosme + "\xf4\x90\x80\x80" + "edited"
	failFast := func(id, desc string, parts [3]string, oneFrame bool) *Case {
		return &Case{ID: id, Description: desc, bound: 3*sec + slack,
			expectation: "The first frame is accepted, we expect to timeout on the first wait. The 2nd frame should be rejected immediately (fail fast on UTF-8). If we timeout, we expect the connection is failed at least then, since the complete message payload is not valid UTF-8.",
			open: func(s *session) {
				s.Expect(OK, timeout("A"))
				s.Expect(NonStrict, timeout("A"), timeout("B"))
				s.ExpectClose(failPayload)
				if oneFrame {
					s.BeginFrame(opText, len(full))
					s.FrameData([]byte(parts[0]))
				} else {
					s.SendFrame(frameSpec{Opcode: opText, NoFin: true, Payload: []byte(parts[0])})
				}
				s.ContinueLater(sec, func() {
					if !s.IsOpen() {
						return
					}
					s.Record(timeout("A"))
					if oneFrame {
						s.FrameData([]byte(parts[1]))
					} else {
						s.SendFrame(frameSpec{Opcode: opCont, NoFin: true, Payload: []byte(parts[1])})
					}
					s.ContinueLater(sec, func() {
						if !s.IsOpen() {
							return
						}
						s.Record(timeout("B"))
						if oneFrame {
							s.FrameData([]byte(parts[2]))
							s.EndMessage()
						} else {
							s.SendFrame(frameSpec{Opcode: opCont, Payload: []byte(parts[2])})
						}
						s.KillAfter(sec)
					})
				})
			}}
	}
	byCodePoint := [3]string{kosme, "\xf4\x90\x80\x80", "edited"}
	byOctet := [3]string{full[:12], full[12:13], full[13:]}
	cs = append(cs,
		failFast("6.4.1", "Send invalid UTF-8 text message in 3 fragments (frames). First frame payload is valid, then wait, then 2nd frame which contains the payload making the sequence invalid, then wait, then 3rd frame with rest.", byCodePoint, false),
		failFast("6.4.2", "Same as Case 6.4.1, but in 2nd frame, we send only up to and including the octet making the complete payload invalid.", byOctet, false),
		failFast("6.4.3", "Same as Case 6.4.1, but we send message not in 3 frames, but in 3 chops of the same message frame.", byCodePoint, true),
		failFast("6.4.4", "Same as Case 6.4.2, but we send message not in 3 frames, but in 3 chops of the same message frame.", byOctet, true),
	)

	for gi, g := range utf8Vectors() {
		for vi, vec := range g.vectors {
			vec := vec
			desc := "Send a text message with payload which is valid UTF-8 in one fragment."
			exp := "The message is echo'ed back to us."
			if !vec.valid {
				desc = "Send a text message with payload which is not valid UTF-8 in one fragment."
				exp = "The connection is failed immediately, since the payload is not valid UTF-8."
			}
			payload := []byte(vec.payload)
			cs = append(cs, &Case{ID: fmt.Sprintf("6.%d.%d", gi+5, vi+1),
				Description: desc + "<br><br>Payload: 0x" + hex.EncodeToString(payload),
				expectation: exp, bound: sec/2 + slack,
				open: func(s *session) {
					if vec.valid {
						s.Expect(OK, message(payload, false))
						s.ExpectClose(closeNormal)
					} else {
						s.Expect(OK)
						s.ExpectClose(failPayload)
					}
					s.SendMessage(payload, false, 0)
					s.KillAfter(sec / 2)
				}})
		}
	}
	return cs
}
