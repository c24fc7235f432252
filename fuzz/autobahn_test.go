package fuzz

import (
	"bytes"
	"fmt"
)

// autobahnStreams are byte streams shaped like the cases of the Autobahn
// testsuite (case numbers in the names), framed by fr: masked for a server
// to read, unmasked for a client.
func autobahnStreams(fr func(byte, []byte) []byte) []seed {
	var seeds []seed
	add := func(name string, parts ...[]byte) {
		seeds = append(seeds, seed{"autobahn-" + name, []any{cat(parts...), []byte{}, byte(0)}})
	}
	// 1.1.x / 1.2.x: text and binary at the length encoding boundaries.
	for _, n := range []int{0, 125, 126, 127, 128} {
		add(fmt.Sprintf("1.1-text-%d", n), fr(0x81, bytes.Repeat([]byte("*"), n)))
		add(fmt.Sprintf("1.2-binary-%d", n), fr(0x82, bytes.Repeat([]byte{0xfe}, n)))
	}
	// 2.x: pings and pongs.
	all := make([]byte, 125)
	for i := range all {
		all[i] = byte(i * 2)
	}
	add("2.1-ping-empty", fr(0x89, nil))
	add("2.3-ping-binary-125", fr(0x89, all))
	add("2.5-ping-126", fr(0x89, append(all, 0)))
	add("2.7-unsolicited-pong", fr(0x8a, nil), fr(0x89, []byte("x")))
	add("2.10-ten-pings", bytes.Repeat(fr(0x89, []byte("ping")), 10))
	// 3.x: reserved bits without an extension.
	add("3.1-rsv1-text", fr(0xc1, []byte("Hello")))
	add("3.4-rsv3-ping-after-text", fr(0x81, []byte("a")), fr(0x99, nil))
	add("3.7-rsv-close", fr(0xf8, nil))
	// 4.x: reserved opcodes.
	for _, op := range []byte{3, 5, 0xb, 0xf} {
		add(fmt.Sprintf("4-opcode-%x", op), fr(0x81, []byte("a")), fr(0x80|op, []byte("x")), fr(0x89, nil))
	}
	// 5.x: fragmentation.
	add("5.1-fragmented-ping", fr(0x09, []byte("fr")), fr(0x80, []byte("ag")))
	add("5.6-text-ping-interleaved", fr(0x01, []byte("frag")), fr(0x89, []byte("p")), fr(0x80, []byte("ment")))
	add("5.9-continuation-first", fr(0x80, []byte("x")), fr(0x81, []byte("y")))
	add("5.15-data-after-final", fr(0x01, []byte("a")), fr(0x80, []byte("b")), fr(0x00, []byte("c")), fr(0x80, []byte("d")))
	add("5.18-text-while-open", fr(0x01, []byte("a")), fr(0x01, []byte("b")))
	add("5.19-pings-pongs-in-fragments", fr(0x01, []byte("a")), fr(0x89, []byte("1")), fr(0x00, []byte("b")), fr(0x8a, []byte("2")), fr(0x80, []byte("c")))
	// 6.x: UTF-8, one fragment per byte and whole.
	kosme := []byte("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5")
	var perByte [][]byte
	for i, b := range kosme {
		op := byte(0x00)
		if i == 0 {
			op = 0x01
		}
		if i == len(kosme)-1 {
			op |= 0x80
		}
		perByte = append(perByte, fr(op, []byte{b}))
	}
	add("6.2-kosme-per-byte", perByte...)
	add("6.3-invalid-surrogate", fr(0x81, []byte("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64")))
	add("6.6-invalid-cut-per-byte", fr(0x01, []byte("\xce")), fr(0x00, []byte("\xba\xe1")), fr(0x80, []byte("\xbd")))
	add("6.8-overlong", fr(0x81, []byte("\xc0\xaf")))
	add("6.20-surrogate-pair", fr(0x81, []byte("\xed\xa0\x80\xed\xb0\x80")))
	add("6.23-noncharacters-valid", fr(0x81, []byte("\xef\xbf\xbe\xef\xbf\xbf")))
	// 7.x: closing.
	add("7.1-close-then-text", fr(0x88, closePayload(1000, "")), fr(0x81, []byte("late")))
	add("7.3-close-one-byte", fr(0x88, []byte{0x03}))
	add("7.3-close-123-reason", fr(0x88, closePayload(1000, string(bytes.Repeat([]byte("r"), 123)))))
	add("7.3-close-124-reason", fr(0x88, closePayload(1000, string(bytes.Repeat([]byte("r"), 124)))))
	for _, code := range []uint16{999, 1004, 1005, 1006, 1012, 1015, 1016, 2999, 3000, 4999, 5000, 65535} {
		add(fmt.Sprintf("7.7-close-%d", code), fr(0x88, closePayload(code, "")))
	}
	// 9.x: a larger message in small fragments.
	var frags [][]byte
	for i := 0; i < 64; i++ {
		op := byte(0x00)
		if i == 0 {
			op = 0x02
		}
		if i == 63 {
			op |= 0x80
		}
		frags = append(frags, fr(op, bytes.Repeat([]byte{byte(i)}, 64)))
	}
	add("9.x-4k-in-64-byte-fragments", frags...)
	return seeds
}

func init() {
	addSeeds("FuzzConnServer", autobahnStreams(clientFrame)...)
	addSeeds("FuzzConnClient", autobahnStreams(serverFrame)...)
	for _, s := range autobahnStreams(clientFrame) {
		s.vals[1] = []byte{0} // byte at a time against the whole buffer
		addSeeds("FuzzConnChunking", s)
	}
}
