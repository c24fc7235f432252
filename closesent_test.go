package websocket

import (
	"errors"
	"testing"
	"time"
)

// TestErrCloseSent: after this side's Close frame went out and before the
// end, a data write returns ErrCloseSent (exported, so that callers can
// tell it apart); after the end, writes, including a NextWriter's Write,
// return the connection's *CloseError.
func TestErrCloseSent(t *testing.T) {
	client, server := connPair(t, nil, nil)
	// The server never reads, so its Close waits for the client's reply
	// and the connection stays between the two Close frames.
	done := make(chan error, 1)
	go func() { done <- server.Close(CloseNormal, "bye") }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := server.WriteMessage(Text, []byte("late"))
		if errors.Is(err, ErrCloseSent) {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("write after Close began: %v, want ErrCloseSent", err)
		}
		time.Sleep(time.Millisecond)
	}
	w, err := client.NextWriter(Text)
	if err != nil {
		t.Fatal(err)
	}
	// The client reads the server's Close and replies: the end.
	// (Writes that went out before the Close frame arrive first.)
	if err := readUntilError(client); CloseStatus(err) != CloseNormal {
		t.Fatalf("client read: %v, want the server's 1000", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("server Close: %v", err)
	}
	var ce *CloseError
	if _, err := w.Write([]byte("x")); !errors.As(err, &ce) {
		t.Errorf("NextWriter Write after the end: %v, want the *CloseError", err)
	}
	if err := client.WriteMessage(Text, []byte("x")); !errors.As(err, &ce) {
		t.Errorf("WriteMessage after the end: %v, want the *CloseError", err)
	}
}
