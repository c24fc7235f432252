package websocket

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// A context that ends stops a read or write like a deadline: the error
// matches the context's error and os.ErrDeadlineExceeded, and the
// connection stays usable.
func TestContextMethods(t *testing.T) {
	for _, tr := range testTransports {
		t.Run(tr.name, func(t *testing.T) { testContextMethods(t, tr) })
	}
}

func testContextMethods(t *testing.T, tr testTransport) {
	client, server := tr.connPair(t, nil, nil, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	_, _, err := client.ReadMessageContext(ctx, nil)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadMessageContext = %v, want a deadline error", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	_, _, err = client.NextReaderContext(ctx)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("NextReaderContext = %v, want context.Canceled", err)
	}

	// A cancelled write to a peer that does not read queues the rest.
	big := bytes.Repeat([]byte("x"), 10<<20)
	ctx, cancel = context.WithCancel(context.Background())
	go func() { time.Sleep(30 * time.Millisecond); cancel() }()
	err = server.WriteMessageContext(ctx, Binary, big)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrWriteQueued) {
		t.Fatalf("WriteMessageContext = %v, want context.Canceled and ErrWriteQueued", err)
	}

	// Still open: the queued message and a new one arrive intact, and
	// the context binding did not leave a deadline behind.
	done := make(chan error, 1)
	go func() { done <- server.WriteMessageContext(context.Background(), Text, []byte("next")) }()
	_, b, err := client.ReadMessageContext(context.Background(), nil)
	if err != nil || !bytes.Equal(b, big) {
		t.Fatalf("queued message: %d bytes, %v", len(b), err)
	}
	_, b, err = client.ReadMessage(nil)
	if err != nil || string(b) != "next" {
		t.Fatalf("next message: %q, %v", b, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// A context already done does nothing.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if err := client.WriteMessageContext(ctx, Text, []byte("no")); !errors.Is(err, context.Canceled) {
		t.Fatalf("WriteMessageContext(done ctx) = %v", err)
	}
}
