package autobahn

import (
	"bytes"
	"fmt"
	"time"
)

// msgSizes is the testsuite's table for 12.x and 13.x: message size,
// count, time limit, auto-fragment size.
var msgSizes = []struct {
	n, count int
	wait     time.Duration
	frag     int
}{
	{16, 1000, 60 * sec, 0}, {64, 1000, 60 * sec, 0}, {256, 1000, 120 * sec, 0}, {1024, 1000, 240 * sec, 0},
	{4096, 1000, 480 * sec, 0}, {8192, 1000, 480 * sec, 0}, {16384, 1000, 480 * sec, 0}, {32768, 1000, 480 * sec, 0},
	{65536, 1000, 480 * sec, 0}, {131072, 1000, 480 * sec, 0},
	{8192, 1000, 480 * sec, 256}, {16384, 1000, 480 * sec, 256}, {32768, 1000, 480 * sec, 256}, {65536, 1000, 480 * sec, 256}, {131072, 1000, 480 * sec, 256},
	{131072, 1000, 480 * sec, 1024}, {131072, 1000, 480 * sec, 4096}, {131072, 1000, 480 * sec, 32768},
}

var corpusOrder = []string{"json_data1", "lena512", "gutenberg_faust", "html_data1", "ooms"}

// deflateParamTable is 13.1 to 13.7: the client's offers and how the
// server answers them.
var deflateParamTable = []struct {
	offers []deflateOffer
	accept acceptFunc
	desc   string
}{
	{[]deflateOffer{defaultOffer}, acceptWith(false, 0), "[(False, 0)]"},
	{[]deflateOffer{{AcceptNoContextTakeover: true, AcceptMaxWindowBits: true, RequestNoContextTakeover: true}}, acceptWith(true, 0), "[(True, 0)]"},
	{[]deflateOffer{{AcceptNoContextTakeover: true, AcceptMaxWindowBits: true, RequestMaxWindowBits: 9}}, acceptWith(false, 9), "[(False, 9)]"},
	{[]deflateOffer{{AcceptNoContextTakeover: true, AcceptMaxWindowBits: true, RequestMaxWindowBits: 15}}, acceptWith(false, 15), "[(False, 15)]"},
	{[]deflateOffer{{AcceptNoContextTakeover: true, AcceptMaxWindowBits: true, RequestNoContextTakeover: true, RequestMaxWindowBits: 9}}, acceptWith(true, 9), "[(True, 9)]"},
	{[]deflateOffer{{AcceptNoContextTakeover: true, AcceptMaxWindowBits: true, RequestNoContextTakeover: true, RequestMaxWindowBits: 15}}, acceptWith(true, 15), "[(True, 15)]"},
	{[]deflateOffer{
		{AcceptNoContextTakeover: true, AcceptMaxWindowBits: true, RequestNoContextTakeover: true, RequestMaxWindowBits: 9},
		{AcceptNoContextTakeover: true, AcceptMaxWindowBits: true, RequestNoContextTakeover: true},
		defaultOffer,
	}, acceptFirst(acceptWith(true, 9), acceptWith(true, 0), acceptWith(false, 0)), "[(True, 9), (True, 0), (False, 0)]"},
}

func offersDesc(os []deflateOffer) string {
	s := "["
	for i, o := range os {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("(%s, %d)", pyBool(o.RequestNoContextTakeover), o.RequestMaxWindowBits)
	}
	return s + "]"
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// deflateCases is groups 12 and 13: permessage-deflate (RFC 7692) with
// different payloads (12) and different negotiated parameters (13).
func deflateCases() []*Case {
	var cs []*Case
	for j, key := range corpusOrder {
		for i, sz := range msgSizes {
			cs = append(cs, compressionCase(fmt.Sprintf("12.%d.%d", j+1, i+1), key, sz.n, sz.count, sz.wait, sz.frag,
				[]deflateOffer{defaultOffer}, acceptWith(false, 0), "Use default permessage-deflate offer."))
		}
	}
	for j, p := range deflateParamTable {
		for i, sz := range msgSizes {
			cs = append(cs, compressionCase(fmt.Sprintf("13.%d.%d", j+1, i+1), "json_data1", sz.n, sz.count, sz.wait, sz.frag,
				p.offers, p.accept, "Use permessage-deflate client offers (requestNoContextTakeover, requestMaxWindowBits): "+offersDesc(p.offers)))
		}
	}
	return cs
}

func compressionCase(id, key string, n, count int, wait time.Duration, frag int, offers []deflateOffer, accept acceptFunc, offerDesc string) *Case {
	return &Case{ID: id, offers: offers, accept: accept, reportTime: true, bound: wait + slack,
		Description: fmt.Sprintf("Send %d compressed messages each of payload size %d, auto-fragment to %d octets. %s", count, n, frag, offerDesc),
		expectation: fmt.Sprintf("Receive echo'ed messages (with payload as sent). Timeout case after %d secs.", int(wait/sec)),
		open: func(s *session) {
			c := corpora()[key]
			s.EnableTrace(false)
			s.AutoFragmentSize = frag
			s.ExpectClose(closeNormal)
			if s.pmd == nil {
				s.Behavior = Unimplemented
				s.Result = "The peer did not negotiate permessage-deflate."
				s.SendClose(1000, "")
				return
			}
			s.Behavior = Failed
			s.Result = fmt.Sprintf("Case did not finish within %d seconds.", int(wait/sec))
			s.CloseAfter(wait)
			sent, ptr := 0, 0
			var want []byte
			sendOne := func() {
				want, ptr = c.slice(ptr, n)
				s.SendMessage(want, c.binary, 0)
				sent++
			}
			s.OnMessage = func(msg []byte, bin bool) {
				fail := ""
				switch {
				case bin != c.binary:
					fail = fmt.Sprintf("Echo'ed message type differs from what I sent (got binary %v, expected binary %v).", bin, c.binary)
				case bytes.Equal(msg, want):
					// same bytes, so same length: no need to count code points
				case c.units(msg) != n:
					fail = fmt.Sprintf("Echo'ed message length differs from what I sent (got length %d, expected length %d).", c.units(msg), n)
				default:
					fail = "Echo'ed message contents differs from what I sent."
				}
				switch {
				case fail != "":
					s.conclude(Failed, fail)
				case sent < count:
					sendOne()
				default:
					s.conclude(OK, "Ok, received all echo'ed messages in time.")
				}
			}
			sendOne()
		}}
}
