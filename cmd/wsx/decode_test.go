package main

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildWsx returns the wsx binary, built once for the package's tests.
func buildWsx(t *testing.T) string {
	t.Helper()
	return wsxBinary(t)
}

func TestDecodeBinary(t *testing.T) {
	bin := buildWsx(t)
	tests := []struct {
		name, role, in string
		deflate        bool
		code           int
		want           []string
	}{
		// RFC 6455 §5.7.
		{"unmasked text", "server", "810548656c6c6f", false, 0, []string{`@0 text fin=true rsv1=false mask=false len=5 payload="Hello"`}},
		{"masked text", "client", "818537fa213d7f9f4d5158", false, 0, []string{`@0 text fin=true rsv1=false mask=true len=5 payload="Hello"`}},
		{"fragmented text", "server", "010348656c 80026c6f", false, 0, []string{`@5 continuation fin=true`, "message text 5 bytes"}},
		{"unmasked ping", "server", "890548656c6c6f", false, 0, []string{`@0 ping fin=true rsv1=false mask=false len=5 payload="Hello"`}},
		{"masked pong", "client", "8a8537fa213d7f9f4d5158", false, 0, []string{`@0 pong fin=true rsv1=false mask=true len=5 payload="Hello"`}},
		{"256 bytes binary", "server", "827e0100" + strings.Repeat("00", 256), false, 0, []string{"@0 binary fin=true rsv1=false mask=false len=256"}},
		// Invalid streams.
		{"masked from server", "server", "810548656c6c6f 818537fa213d7f9f4d5158", false, 1, []string{"invalid at byte 7: server frame is masked (hybi would close with 1002)"}},
		{"unmasked from client", "client", "810548656c6c6f", false, 1, []string{"invalid at byte 0: client frame is not masked (hybi would close with 1002)"}},
		{"bad utf8", "server", "810548656c6c6f 8102c328", false, 1, []string{"invalid at byte 7: invalid UTF-8 in text (hybi would close with 1007)"}},
		{"close of one byte", "server", "880103", false, 1, []string{"invalid at byte 0: close payload of 1 byte (hybi would close with 1002)"}},
		{"stray continuation", "server", "80026c6f", false, 1, []string{"invalid at byte 0: continuation frame without a message in progress (hybi would close with 1002)"}},
		{"truncated payload", "server", "89054865", false, 1, []string{"invalid at byte 0: truncated capture"}},
		{"truncated header", "server", "810548656c6c6f 81", false, 1, []string{"invalid at byte 7: truncated capture: incomplete frame header"}},
		// RFC 7692 §7.2.3.1 and §7.2.3.2: "Hello" compressed, twice with context takeover.
		{"deflate", "server", "c107f248cdc9c90700 c105f200110000", true, 0, []string{`inflated "Hello"`, "@9 text fin=true rsv1=true", "message text 5 bytes"}},
		{"rsv1 without deflate", "server", "c107f248cdc9c90700", false, 1, []string{"invalid at byte 0: reserved bit set without a negotiated extension (hybi would close with 1002)"}},
		{"invalid hex", "server", "zz", false, 1, []string{"invalid hex"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"decode", "-role", tt.role}
			if tt.deflate {
				args = append(args, "-deflate")
			}
			cmd := exec.Command(bin, args...)
			cmd.Stdin = strings.NewReader(tt.in)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code {
				t.Errorf("exit %d, want %d; output:\n%s", code, tt.code, out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

// TestDecodeRawFile reads raw bytes from a file, and a missing file is an
// error with exit status 1.
func TestDecodeRawFile(t *testing.T) {
	bin := buildWsx(t)
	capture := filepath.Join(t.TempDir(), "capture.bin")
	if err := os.WriteFile(capture, []byte{0x81, 0x05, 'H', 'e', 'l', 'l', 'o', 0x88, 0x02, 0x03, 0xe8}, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "decode", "-role", "server", "-raw", capture).CombinedOutput()
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, out)
	}
	for _, w := range []string{`payload="Hello"`, `@7 close fin=true rsv1=false mask=false len=2 code=1000 reason=""`} {
		if !strings.Contains(string(out), w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	out, err = exec.Command(bin, "decode", filepath.Join(t.TempDir(), "missing")).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "no such file") {
		t.Errorf("missing file: err %v, output %q; want exit 1 naming the file", err, out)
	}
}

// FuzzDecodeStream: any capture, in either role, with or without deflate,
// decodes or is reported invalid, and never panics.
func FuzzDecodeStream(f *testing.F) {
	for _, s := range []string{"810548656c6c6f", "818537fa213d7f9f4d5158", "010348656c80026c6f", "c107f248cdc9c90700c105f200110000", "880103", "89054865", "7f"} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, masked := range []bool{false, true} {
			for _, deflate := range []bool{false, true} {
				_ = decodeStream(b, masked, deflate, io.Discard)
			}
		}
	})
}
