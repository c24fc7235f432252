//go:build !(linux && (amd64 || arm64))

package netpoll

import (
	"errors"
	"strings"
	"testing"
)

func sysRead(int, []byte) (int, error)  { return 0, errors.ErrUnsupported }
func sysWrite(int, []byte) (int, error) { return 0, errors.ErrUnsupported }

// TestUnsupported checks that New fails with a message that says why.
func TestUnsupported(t *testing.T) {
	p, err := New()
	if p != nil || err == nil || !strings.Contains(err.Error(), "not supported on this platform") {
		t.Fatalf("New() = %v, %v; want nil and a \"not supported\" error", p, err)
	}
}
