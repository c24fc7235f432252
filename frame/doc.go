// Package frame is the wire format of RFC 6455 §5: opcodes, the frame
// header, pack flags, close payloads and the validity rules a receiver
// applies to each header.
//
// The codecs work on byte slices the caller owns and allocate nothing:
// [ParseHeader] reports [ErrIncomplete] when a buffer holds only part of a
// header, which is what a sans-I/O state machine needs, and [AppendHeader],
// [AppendFrame] and [AppendClose] append to a caller's buffer. [Reader] and
// [Writer] do the same over an io.Reader and io.Writer with scratch space of
// their own; a Reader interrupted by an error (a read deadline, say) resumes
// mid-header on the next call without losing bytes.
//
// Frames are built with explicit [Flags]. A data frame is final unless the
// caller names [More]: no other flag, in particular [Compressed], can clear
// FIN by accident.
//
// Every violation of the RFC is a [*ProtocolError] that carries the close
// code to send (1002 for protocol errors, 1007 for invalid UTF-8, 1009 for
// sizes over a limit). The exported sentinels can be matched with errors.Is.
//
// Package frame does not track state across frames (fragmentation, the
// closing handshake); that is the job of package conn.
package frame
