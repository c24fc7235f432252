// Package wsjson reads and writes JSON values as WebSocket text messages,
// one value per message, so that the root package stays free of
// encoding/json.
//
// Write sends a value as one message, or nothing if it cannot be encoded.
// WriteStream encodes straight into the message (Conn.NextWriter): a large
// value is sent in fragments as it is encoded, never held whole. Read
// decodes from the message as it arrives (Conn.NextReader), without
// copying it first, and fails with ErrTrailingData if the message holds
// more than one value.
package wsjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/hybi/websocket"
)

// ErrTrailingData is returned by Read when a message holds more than one
// JSON value, or bytes after it other than white space.
var ErrTrailingData = errors.New("wsjson: data after the JSON value in the message")

// Read reads the next data message from c and decodes it into v. A binary
// message is decoded too (JSON is UTF-8 either way). The rest of a message
// that fails to decode is discarded by the next read. Errors from the
// connection (a *websocket.CloseError, a timeout) are returned unchanged.
func Read(c *websocket.Conn, v any) error {
	_, r, err := c.NextReader()
	if err != nil {
		return err
	}
	dec := json.NewDecoder(r)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("wsjson: read: %w", err)
	}
	// Only white space may follow the value.
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return ErrTrailingData
		}
		return fmt.Errorf("wsjson: read: %w", err)
	}
	return nil
}

// Write encodes v as JSON and sends it as one text message. If v cannot be
// encoded nothing is sent. It holds the encoding whole; WriteStream does
// not.
func Write(c *websocket.Conn, v any) error {
	// Marshal first: a value that cannot be encoded must not leave a
	// half-sent message. Values too large to hold twice should use
	// WriteStream.
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("wsjson: write: %w", err)
	}
	return c.WriteMessage(websocket.Text, b)
}

// WriteStream encodes v straight into one text message without holding the
// whole encoding: each full fragment is sent as it is produced. If encoding
// fails midway the message is ended with what was sent so far (invalid
// JSON, which the peer's decoder reports) and the error is returned.
func WriteStream(c *websocket.Conn, v any) error {
	w, err := c.NextWriter(websocket.Text)
	if err != nil {
		return err
	}
	encErr := json.NewEncoder(w).Encode(v)
	if err := w.Close(); err != nil {
		return err
	}
	if encErr != nil {
		return fmt.Errorf("wsjson: write: %w", encErr)
	}
	return nil
}
