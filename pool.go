package websocket

import (
	"sync"

	"github.com/hybi/websocket/frame"
)

// chunkSize is the size of the pooled write buffers: a frame header plus
// 16 KiB of payload. Small frames are built whole in one chunk; a client
// masks large payloads into chunks one after the other, so no message is
// ever copied whole. Idle connections hold no write buffer at all.
const chunkSize = frame.MaxHeaderSize + 16<<10

var chunkPool = sync.Pool{New: func() any {
	b := make([]byte, chunkSize)
	return &b
}}

func getChunk() *[]byte {
	b := chunkPool.Get().(*[]byte)
	*b = (*b)[:chunkSize]
	return b
}

func putChunk(b *[]byte) { chunkPool.Put(b) }

// fragPool holds NextWriter buffers of the default fragment size; other
// sizes are allocated per writer.
var fragPool = sync.Pool{New: func() any {
	b := make([]byte, 0, DefaultFragmentSize)
	return &b
}}

func getBuf(size int) *[]byte {
	if size == DefaultFragmentSize {
		b := fragPool.Get().(*[]byte)
		*b = (*b)[:0]
		return b
	}
	b := make([]byte, 0, size)
	return &b
}

func putBuf(b *[]byte) {
	if cap(*b) == DefaultFragmentSize {
		fragPool.Put(b)
	}
}
