package fuzz

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hybi/websocket/frame"
)

func init() {
	addSeeds("FuzzReadHeader",
		seed{"rfc-frames", []any{cat(rfcTextUnmasked, rfcTextMasked, rfcFragment1, rfcFragment2, rfcPingUnmasked, rfcPongMasked), []byte{}, []byte{}}},
		seed{"rfc-frames-timeouts", []any{cat(rfcTextMasked, rfc256Header, make([]byte, 256), rfcPongMasked), []byte{0, 1, 2}, []byte{2, 0, 1, 3, 0}}},
		seed{"truncated-header", []any{cat(rfcTextUnmasked, rfc64KHeader[:5]), []byte{1}, []byte{3}}},
		seed{"truncated-payload", []any{cat(rfcTextUnmasked, rfcTextMasked[:8]), []byte{}, []byte{1, 2}}},
		seed{"non-minimal", []any{cat(rfcTextUnmasked, nonMinimal64), []byte{0}, []byte{0, 3}}},
		seed{"overflow", []any{overflowHeader, []byte{4}, []byte{1}}},
	)
}

var errTimeout = errors.New("fuzz: i/o timeout")

// faultReader hands out data in the chunks from splits and, following
// faults (cyclically), fails some reads with errTimeout: fault byte f&3 == 0
// returns no data and the error, == 1 returns data and the error, else data
// only. After budget calls it stops injecting, so every run ends.
type faultReader struct {
	data   []byte
	sizes  []int
	faults []byte
	calls  int
	budget int
}

func (r *faultReader) Read(p []byte) (int, error) {
	r.calls++
	f := byte(2)
	if len(r.faults) > 0 && r.calls <= r.budget {
		f = r.faults[r.calls%len(r.faults)] & 3
	}
	if f == 0 {
		return 0, errTimeout
	}
	if len(r.data) == 0 || len(p) == 0 {
		if len(r.data) == 0 {
			return 0, io.EOF
		}
		return 0, nil
	}
	n := min(len(p), r.sizes[0], len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	if r.sizes[0] -= n; r.sizes[0] == 0 {
		r.sizes = r.sizes[1:]
	}
	if f == 1 {
		return n, errTimeout
	}
	return n, nil
}

type headerRun struct {
	Headers []frame.Header
	End     string // how the stream ended: "eof", "unexpected-eof", "payload-eof", or the protocol error
}

// FuzzReadHeader: frame.Reader over an io.Reader that delivers the stream
// in arbitrary chunks and fails reads with a timeout at arbitrary points
// (with and without data) reads the same headers as ParseHeader on the
// whole stream, ends the same way (io.EOF between frames,
// io.ErrUnexpectedEOF inside a header, the same *ProtocolError), loses no
// byte across a timeout, and leaves the payload for the caller to read from
// the same reader; frame.Writer writes each header back to its bytes.
func FuzzReadHeader(f *testing.F) {
	f.Fuzz(checkReadHeader)
}

func checkReadHeader(t *testing.T, stream, splits, faults []byte) {
	{
		// Reference: ParseHeader on the whole stream.
		var want headerRun
		var raw [][]byte
		truncatedBadHeader := false
		for rest := stream; ; {
			h, n, err := frame.ParseHeader(rest)
			if errors.Is(err, frame.ErrIncomplete) {
				want.End = "eof"
				if len(rest) > 0 {
					want.End = "unexpected-eof"
				}
				break
			}
			if err != nil {
				want.End = err.Error()
				if len(rest) < headerSize(rest[1]) {
					// ParseHeader fails as soon as the length is known; the
					// Reader first waits for the whole header (key included),
					// which never came. Either report is right.
					truncatedBadHeader = true
				}
				break
			}
			want.Headers = append(want.Headers, h)
			raw = append(raw, rest[:n])
			rest = rest[n:]
			if int64(len(rest)) < h.Length {
				want.End = "payload-eof"
				break
			}
			rest = rest[h.Length:]
		}

		src := &faultReader{data: stream, sizes: chunks(len(stream), splits), faults: faults, budget: 4*len(stream) + 64}
		r := frame.NewReader(src)
		var got headerRun
		var out bytes.Buffer
		w := frame.NewWriter(&out)
		payload := make([]byte, 4096)
		for got.End == "" {
			h, err := r.ReadHeader()
			switch {
			case errors.Is(err, errTimeout):
				continue // a timeout never loses bytes: just call again
			case err == io.EOF:
				got.End = "eof"
				continue
			case err == io.ErrUnexpectedEOF:
				got.End = "unexpected-eof"
				continue
			case err != nil:
				var pe *frame.ProtocolError
				if !errors.As(err, &pe) {
					t.Fatalf("ReadHeader error %v", err)
				}
				got.End = err.Error()
				continue
			}
			got.Headers = append(got.Headers, h)
			out.Reset()
			if err := w.WriteHeader(h); err != nil {
				t.Fatal(err)
			}
			if i := len(got.Headers) - 1; i < len(raw) && !bytes.Equal(out.Bytes(), raw[i]) {
				t.Fatalf("Writer wrote % x for header % x", out.Bytes(), raw[i])
			}
			// The payload stays in src for the caller.
			for need := h.Length; need > 0; {
				n, err := src.Read(payload[:min(need, int64(len(payload)))])
				need -= int64(n)
				if err == io.EOF {
					got.End = "payload-eof"
					break
				}
			}
		}
		if truncatedBadHeader && got.End == "unexpected-eof" {
			want.End = got.End
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("Reader differs from ParseHeader (-ParseHeader +Reader):\n%s\nstream % x", diff, stream)
		}
	}
}

// headerSize is the size of a header whose second byte is b1 (RFC 6455
// §5.2: 7-bit length 126 adds 2 bytes, 127 adds 8, the MASK bit 4).
func headerSize(b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	return n
}
