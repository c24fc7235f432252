package main

import (
	"bytes"
	"compress/flate"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/mask"
)

// runDecode prints the frames of a captured byte stream and checks them
// against RFC 6455: masking per sender role, fragmentation, UTF-8 of text
// messages and close payloads. The first violation ends the run with its
// byte offset and the close code hybi would send.
func runDecode(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("decode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	role := fs.String("role", "client", "who sent the bytes: client (frames must be masked) or server (must not be)")
	raw := fs.Bool("raw", false, "the input is raw bytes, not hex")
	deflate := fs.Bool("deflate", false, "permessage-deflate was negotiated: RSV1 marks a compressed message, which is inflated (context takeover assumed)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `usage: wsx decode [-role client|server] [-raw] [FILE]

Reads a captured WebSocket byte stream (hex by default, whitespace ignored;
raw bytes with -raw) from FILE or stdin, prints one line per frame and
checks it against RFC 6455. An invalid stream ends with the byte offset,
the reason and the close code hybi would send; the exit status is then 1.

Example (RFC 6455 §5.7, a masked "Hello" from a client):
  echo 818537fa213d7f9f4d5158 | wsx decode -role client

`)
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if *role != "client" && *role != "server" {
		fmt.Fprintf(stderr, "wsx decode: -role must be client or server, not %q\n", *role)
		return 2
	}
	var in io.Reader = os.Stdin
	if fs.NArg() > 0 {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			fmt.Fprintf(stderr, "wsx decode: %v\n", err)
			return 1
		}
		defer f.Close()
		in = f
	}
	data, err := io.ReadAll(io.LimitReader(in, 64<<20))
	if err != nil {
		fmt.Fprintf(stderr, "wsx decode: %v\n", err)
		return 1
	}
	if !*raw {
		s := strings.Join(strings.Fields(string(data)), "")
		data, err = hex.DecodeString(s)
		if err != nil {
			fmt.Fprintf(stderr, "wsx decode: invalid hex: %v\n", err)
			return 1
		}
	}
	if err := decodeStream(data, *role == "client", *deflate, stdout); err != nil {
		fmt.Fprintf(stdout, "%v\n", err)
		return 1
	}
	return 0
}

// decodeError says where and why a stream is invalid.
type decodeError struct {
	Offset int
	Code   frame.CloseCode // the close code hybi would send; 0 for a truncated capture
	Reason string
}

func (e *decodeError) Error() string {
	if e.Code == 0 {
		return fmt.Sprintf("invalid at byte %d: %s", e.Offset, e.Reason)
	}
	return fmt.Sprintf("invalid at byte %d: %s (hybi would close with %d)", e.Offset, e.Reason, int(e.Code))
}

func violation(off int, err error) *decodeError {
	var pe *frame.ProtocolError
	if errors.As(err, &pe) {
		return &decodeError{Offset: off, Code: pe.Code, Reason: pe.Reason}
	}
	return &decodeError{Offset: off, Reason: err.Error()}
}

func decodeStream(b []byte, masked, deflate bool, w io.Writer) error {
	var (
		off     int
		open    bool // a fragmented message is in progress
		openOp  frame.Opcode
		message []byte
		packed  bool   // the open message is compressed
		window  []byte // the last 32 KiB inflated, for context takeover
	)
	for off < len(b) {
		h, n, err := frame.ParseHeader(b[off:])
		if errors.Is(err, frame.ErrIncomplete) {
			return &decodeError{Offset: off, Reason: "truncated capture: incomplete frame header"}
		}
		if err != nil {
			return violation(off, err)
		}
		var allowed frame.Flags
		if deflate && !h.Opcode.IsControl() && h.Opcode != frame.OpContinuation {
			allowed = frame.RSV1
		}
		if err := h.Check(masked, allowed); err != nil {
			return violation(off, err)
		}
		if h.Length > int64(len(b)-off-n) {
			return &decodeError{Offset: off, Reason: fmt.Sprintf("truncated capture: frame payload of %d bytes, %d present", h.Length, len(b)-off-n)}
		}
		payload := append([]byte(nil), b[off+n:off+n+int(h.Length)]...)
		if h.Masked {
			mask.Apply(h.Key, 0, payload)
		}
		fmt.Fprintf(w, "@%d %s fin=%t rsv1=%t mask=%t len=%d", off, h.Opcode, h.Fin, h.RSV1, h.Masked, h.Length)
		switch {
		case h.Opcode == frame.OpClose:
			code, reason, err := frame.ParseClose(payload)
			if err != nil {
				fmt.Fprintln(w)
				return violation(off, err)
			}
			if !utf8.Valid(reason) {
				fmt.Fprintln(w)
				return violation(off, frame.ErrInvalidUTF8)
			}
			fmt.Fprintf(w, " code=%d reason=%q\n", int(code), reason)
		case h.Opcode.IsControl():
			fmt.Fprintf(w, " payload=%q\n", payload)
		default:
			fmt.Fprintf(w, " payload=%q\n", payload)
			if h.Opcode == frame.OpContinuation {
				if !open {
					return violation(off, frame.ErrUnexpectedContinuation)
				}
			} else {
				if open {
					return violation(off, frame.ErrMessageOpen)
				}
				open, openOp, message, packed = true, h.Opcode, message[:0], h.RSV1
			}
			message = append(message, payload...)
			if h.Fin {
				open = false
				if packed {
					r := flate.NewReaderDict(bytes.NewReader(append(message, 0, 0, 0xff, 0xff)), window)
					out, err := io.ReadAll(io.LimitReader(r, 64<<20))
					if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
						return &decodeError{Offset: off, Code: frame.CloseInvalidPayload, Reason: "cannot inflate: " + err.Error()}
					}
					message = out
					window = append(window, out...)
					if len(window) > 32<<10 {
						window = window[len(window)-32<<10:]
					}
					fmt.Fprintf(w, "  inflated %q\n", message)
				}
				if openOp == frame.OpText && !utf8.Valid(message) {
					return violation(off, frame.ErrInvalidUTF8)
				}
				fmt.Fprintf(w, "  message %s %d bytes\n", openOp, len(message))
			}
		}
		off += n + int(h.Length)
	}
	if open {
		return &decodeError{Offset: off, Reason: "truncated capture: fragmented message not finished"}
	}
	return nil
}
