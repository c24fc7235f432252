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

// maxWrite bounds the bytes handed to the kernel in one write of a large
// frame. On Linux loopback a single write of 1 MiB or more fills the
// socket and parks the writer until the reader drains it, which halves the
// throughput of a blocking echo, while writes just under 1 MiB run at the
// copy limit and smaller pieces pay a system call and a wake-up each;
// docs/performance.md has the sweep of raw TCP echoes that chose this size.
const maxWrite = 1<<20 - 4<<10

// writeBufPools hold the buffers a client masks large payloads into, in
// size classes so that a 20 KiB message does not pin a 1 MiB buffer; the
// largest class is maxWrite, and longer payloads are masked and written
// through it piece by piece. Idle connections hold none of them.
var writeBufSizes = [...]int{64<<10 + frame.MaxHeaderSize, 256<<10 + frame.MaxHeaderSize, maxWrite}

var writeBufPools [len(writeBufSizes)]sync.Pool

// getWriteBuf returns a pooled buffer of the smallest class that holds n
// bytes, or of the largest class.
func getWriteBuf(n int) *[]byte {
	i := 0
	for i < len(writeBufSizes)-1 && writeBufSizes[i] < n {
		i++
	}
	if b, ok := writeBufPools[i].Get().(*[]byte); ok {
		*b = (*b)[:writeBufSizes[i]]
		return b
	}
	b := make([]byte, writeBufSizes[i])
	return &b
}

func putWriteBuf(b *[]byte) {
	for i, size := range writeBufSizes {
		if cap(*b) == size {
			writeBufPools[i].Put(b)
			return
		}
	}
}

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
