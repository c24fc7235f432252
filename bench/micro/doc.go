// Package micro holds the microbenchmarks of docs/performance.md: masking
// against copy, frame header encode and decode, and a client's masked frame
// write to a connection that discards what it gets. Only the libraries that
// export these pieces take part: gobwas/ws exports ws.Cipher and its header
// codec; gorilla, coder, gws and nbio keep masking and headers unexported, so
// they appear only in the masked write benchmark, through their public
// write call (nbio needs its epoll engine, so not even there).
//
// cmd/benchall builds this package's test binary once and runs it several
// times, each run going through every library in turn, so that drift on a
// shared machine hits all libraries alike.
package micro
