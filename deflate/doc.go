// Package deflate implements the permessage-deflate WebSocket extension
// (RFC 7692): parameter negotiation (§5, §7.1), per-message compression
// (§7.2.1) and decompression (§7.2.2), context takeover in each direction
// and window limits, on top of its own push-style DEFLATE (RFC 1951)
// decompressor. It imports handshake for the extension types and nothing
// else of hybi; package conn drives a Decompressor and the websocket
// package a Compressor (see "Plugging it in" below).
//
// # Decompression: Inflater
//
// hybi's protocol core is sans-I/O: bytes in, events out, no blocking
// reads. compress/flate's decompressor pulls from an io.Reader and its
// errors are sticky, so it cannot be handed frame payloads as they arrive.
// Inflater is a DEFLATE decoder driven the other way: Inflate(out, in)
// consumes what it is given, writes at most len(out) bytes, and keeps every
// bit of state between calls, so any chopping of input and output gives the
// same bytes. It decodes stored, fixed and dynamic Huffman blocks with a
// 32 KiB window, accepts BFINAL, and uses 9-bit primary tables with a
// canonical fallback for longer codes. It is faster than compress/flate's
// reader on the same data and allocates nothing (BenchmarkInflate; the
// figures are in docs/performance.md).
//
// Decompression bombs: output is bounded by the caller's buffer, so the
// message size limit counts decompressed bytes and memory stays at the
// window plus that buffer however much a payload expands. DEFLATE expands
// at most 1032:1 (a 258-byte match in 2 bits), so a 1 KiB frame yields at
// most about 1 MiB, and TestInflateBomb stops a 1 MiB payload that inflates
// to 1 GiB at a 64 MiB limit with no allocation.
//
// A message ends as RFC 7692 §7.2.2 says: the receiver appends Tail
// (00 00 ff ff) and decodes; EndMessage (or FinishMessage, which feeds Tail
// itself) then checks that the message ended at a block boundary. A block
// with BFINAL set is padded to a byte and followed by more blocks, the
// window kept (§7.2.1). An empty payload is accepted as an empty message.
// Errors for bad input match ErrCorrupt; a connection fails with 1007 on
// them.
//
// The Inflater accepts distances up to 32768 whatever window the peer
// negotiated: a smaller negotiated window (§7.1.2) bounds what the peer may
// send, and enforcing it would only reject data we can decode anyway.
//
// # Compression: Compressor
//
// Compressor is hybi's own DEFLATE encoder, built for per-message
// compression: Write, take output with Next, Finish with a sync flush
// whose 00 00 ff ff tail is removed (§7.2.1); the empty message is the
// single byte 0x00 (§7.2.3.6). LZ77 uses a window of exactly the
// negotiated size and a hash table of the last position of each 4-byte
// sequence; each block is the smallest of stored, fixed-code and
// dynamic-code. With context takeover the Compressor keeps the window,
// some room for input and the hash table: 40 KiB plus 8 KiB at 15 bits,
// proportionally less below (TestCompressorHeldMemory), where
// compress/flate's Writer keeps over 600 KB whatever the window. Without,
// that state comes from a sync.Pool per window size at the first Write of
// a message and returns at Finish, so an idle connection holds none.
//
// Window limits. When the peer allows our compressor less than 15 bits
// (server_max_window_bits for a server, client_max_window_bits for a
// client), no back-reference reaches further than that window (§7.1.2.1:
// the sender "MUST NOT use an LZ77 sliding window longer than" the
// negotiated size; TestCompressorWindowLimit checks a repeat at the window
// is matched and one a byte further is not). Text still compresses well at
// small windows (TestWindowRatio: 16 KiB of text to 5956 bytes at 8 bits,
// 3908 at 15, 8733 with Huffman coding alone). Before this encoder, hybi
// used compress/flate, whose window is always 32 KiB, and fell back to
// Huffman-only coding below 15 bits.
//
// # Negotiation
//
// Server implements handshake.ServerExtension: it accepts the first offer
// whose parameters are all known, unique and valid (§7.1: others "MUST" be
// declined) and answers with the parameters it will use, echoing
// server_no_context_takeover, client_no_context_takeover and the window
// sizes asked for, plus its own preferences. Every valid offer is
// acceptable, since our decompressor handles any window and our compressor
// honours any limit. Client implements handshake.ClientExtension: it sends
// its Offers (DefaultOffers: `permessage-deflate; client_max_window_bits`)
// and refuses a response with an unknown, duplicate or invalid parameter or
// one that answers none of its offers (a window parameter it did not offer
// or larger than offered, a no-takeover it asked for missing). Params is
// the agreed result: ParseResponse gets it from the accepted
// handshake.Extension (Client.Params also applies the client's own offer
// hints), and CompressorResets, InflaterResets, CompressWindowBits and
// InflateWindowBits answer for either role.
//
// The Autobahn testsuite's cases 13.1-13.7 (case12_x_x.py) offer, as
// client: the default `permessage-deflate; client_no_context_takeover;
// client_max_window_bits`, then with server_no_context_takeover,
// server_max_window_bits=8, =15, both, and a three-offer list. Our server
// accepts each; client_no_context_takeover is echoed (so our decompressor is
// pooled), and server_max_window_bits=8 gives our compressor a 256-byte
// window (see TestAutobahn13Offers). As server, the suite answers our default
// offer with nothing, client_no_context_takeover, client_max_window_bits=8
// or =15, or both; our client accepts each (TestAutobahn13Responses).
//
// # Plugging it in
//
// Server side, with a net/http or raw upgrade:
//
//	srv := &deflate.Server{}                  // a handshake.ServerExtension
//	// ... handshake with srv; then for the accepted element ext
//	// (ext.Name == deflate.ExtensionName) in Result.Extensions:
//	p, err := deflate.ParseResponse(ext)
//	cfg.AllowedRSV |= frame.RSV1              // conn.Config
//	cfg.Inflater = p.NewDecompressor(true)    // conn.Inflater and conn.MessageEnder
//	comp, err := p.NewCompressor(true, level) // for the writing side
//
// Client side: c := deflate.NewClient() as the handshake.ClientExtension,
// then p, err := c.Params(ext) and the same calls with server=false.
//
// Sending a message compressed: comp.AppendMessage(buf[:0], msg) gives the
// payload; set RSV1 on its first frame only, never on continuation or
// control frames (§6.1). Streaming (NextWriter): comp.Write(chunk), send
// comp.Next() as frame payload when it is not empty (RSV1 on the first
// frame), and at Close send comp.Finish() as the FIN frame (it is never
// empty). A message below a size threshold, or one the caller opts out, is
// sent with RSV1 clear and bypasses the Compressor; under context takeover
// that is safe because uncompressed messages touch neither side's window
// (TestRoundTrip). On receive, conn feeds the Decompressor the payload,
// then Tail, then calls EndMessage; conn.MessageEnder returns no error, so
// an error EndMessage finds is returned by the next Inflate and by
// Decompressor.Err, which a driver may check after EndMessage. Call
// Compressor.Close and Decompressor.Close when the connection ends to
// return pooled state. Neither is safe for concurrent use: the websocket
// write lock serialises the Compressor, conn's caller the Decompressor.
package deflate
