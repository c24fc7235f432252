// Package autobahn is hybi's conformance harness: a Go-native runner of the
// Autobahn testsuite's case catalogue (crossbario/autobahn-testsuite), plus
// the report format and gate shared with the official Docker image.
//
// The catalogue holds the testsuite's 517 cases of groups 1-7, 9, 10, 12
// and 13 under their original ids, with the same traffic and the same
// judging: each case records what it observes (echoed messages, pongs,
// timeout markers) and compares it with the expected outcomes to give
// behavior (OK, NON-STRICT, FAILED, INFORMATIONAL, UNIMPLEMENTED), and
// judges how the connection ended to give behaviorClose (OK, FAILED, WRONG
// CODE, UNCLEAN, FAILED BY CLIENT, INFORMATIONAL), following the
// testsuite's rules: who sent the first close frame (closedByMe), whether
// the closing handshake completed and the server closed TCP (wasClean),
// which close code the peer sent, and who dropped TCP.
//
// RunClient is fuzzing-client mode (it tests any ws:// server) and Server
// is fuzzing-server mode (it tests any client that follows the testsuite's
// /getCaseCount, /runCase, /updateReports protocol). Both write the
// testsuite's index.json shape; Gate fails unless every case is OK or
// INFORMATIONAL.
//
// What a user needs is exported: the catalogue (Cases, Select, Case),
// the two runners (RunClient, NewServer and Options), their results
// (Report, Result, Verdict) and the gate (Gate, GateIndex, ReadIndex).
// How a case is played (its script, frames and expected events) is not:
// cases are added to the catalogue in this package.
//
// The runner judges implementations, so it depends on nothing it judges
// except the wire codec (packages frame and mask): the opening handshake
// (RFC 6455 §4), UTF-8 validation (RFC 3629) and permessage-deflate
// (RFC 7692, on compress/flate) are its own.
package autobahn
