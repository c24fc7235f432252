package handshake

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAcceptKey checks the RFC 6455 §1.3 vector.
func TestAcceptKey(t *testing.T) {
	const key, want = "dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
	if got := AcceptKey(key); got != want {
		t.Errorf("AcceptKey(%q) = %q, want %q", key, got, want)
	}
	if got := string(AppendAcceptKey([]byte("x"), []byte(key))); got != "x"+want {
		t.Errorf("AppendAcceptKey = %q, want %q", got, "x"+want)
	}
}

func TestAppendAcceptKeyNoAllocs(t *testing.T) {
	key := []byte("dGhlIHNhbXBsZSBub25jZQ==")
	buf := make([]byte, 0, 28)
	if n := testing.AllocsPerRun(100, func() { buf = AppendAcceptKey(buf[:0], key) }); n != 0 {
		t.Errorf("AppendAcceptKey allocates %v times, want 0", n)
	}
}

func TestValidKey(t *testing.T) {
	tests := []struct {
		name string
		key  string
		want bool
	}{
		{"rfc vector", "dGhlIHNhbXBsZSBub25jZQ==", true},
		{"empty", "", false},
		{"15 bytes", "dGhlIHNhbXBsZSBub25j", false},
		{"17 bytes", "dGhlIHNhbXBsZSBub25jZQE=", false},
		{"no padding", "dGhlIHNhbXBsZSBub25jZQ", false},
		{"bad alphabet", "dGhlIHNhbXBsZSBub25j*Q==", false},
		{"url alphabet", "dGhlIHNhbXBsZSBub25j_Q==", false},
		{"32 bytes", "dGhlIHNhbXBsZSBub25jZQ==dGhlIHNhbXBsZSBub25jZQ==", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, validKey(tt.key)); diff != "" {
				t.Errorf("validKey(%q) (-want +got):\n%s", tt.key, diff)
			}
		})
	}
}
