// Package fuzz holds hybi's native Go fuzz targets (go test -fuzz) over every
// parser and over the connection state machine. It has no API: everything
// else is in _test.go files, one Fuzz function per target, each with a seed
// corpus under testdata/fuzz/<Target>/ in Go's corpus format.
//
// Every target checks properties, not only the absence of panics:
//
//   - frame: ParseHeader and AppendHeader are inverse on every input
//     (RFC 6455 §5.2, minimal length encoding), Header.Check agrees with an
//     independent statement of the §5.1/§5.2/§5.5 rules, close payloads
//     round-trip through ParseClose and AppendClose with only valid codes
//     (§5.5.1, §7.4), and Reader reads the same headers as ParseHeader
//     through arbitrary chunking and read timeouts;
//   - mask: Apply in arbitrary chunks at arbitrary offsets equals a
//     byte-at-a-time XOR (§5.3);
//   - internal/utf8: the streaming validator agrees with unicode/utf8 on
//     whole and split input, and fails in exactly the chunk holding the
//     first byte that cannot continue valid UTF-8 (§8.1);
//   - handshake: request and response parsing (§4.1, §4.2) agree with
//     net/http and do not depend on buffering, the Sec-WebSocket-Extensions
//     grammar (§9.1) round-trips, and whatever our client sends our server
//     accepts, with both ends agreeing on the result;
//   - deflate: parameter negotiation (RFC 7692 §7.1) and inflation whose
//     output never exceeds its limit;
//   - conn: the state machine in both roles, fed arbitrary bytes in arbitrary
//     chunks, agrees with an independent model of RFC 6455 (and of RFC 7692
//     through compress/flate), ends in states that carry a close code valid
//     for the situation, emits only well-formed frames masked as its role
//     requires, stays within its configured limits without allocating, and
//     produces the same events and verdict for every chunking of the same
//     stream; its sending side accepts and refuses writes as the RFC says
//     and never produces an invalid stream;
//   - websocket: a server Conn read by a Loop (non-blocking reads on epoll
//     readiness) delivers the same messages, ends with the same close code,
//     reason and initiator, and writes the same bytes back as one read
//     with ReadMessage, for any stream, chunking and pacing over loopback
//     TCP.
//
// Seeds come from the RFC examples, Autobahn-shaped cases and traffic
// captured from the Node.js ws library (traffic_test.go).
//
// scripts/fuzz.sh runs every target for a share of a total time and prints
// executions and new-coverage counts per target; docs/fuzzing.md describes
// the targets and findings.
package fuzz
