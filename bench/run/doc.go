// Package run measures the rows of docs/performance.md that need sockets:
// echo round trips, permessage-deflate echo, memory per idle connection and
// broadcast time, and upgrade cost. Every server runs in a child process (the
// same executable, selected by an environment variable) so that allocations,
// heap, stacks and RSS are counted for each side separately and a library's
// server never shares a heap with the client driving it. The microbenchmarks
// (package micro) run as go test benchmarks and are summarised here too.
package run
