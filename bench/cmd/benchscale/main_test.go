package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplice(t *testing.T) {
	for _, tc := range []struct{ name, old, want string }{
		{"markers", "a\n" + beginMark + "\nold\n" + endMark + "\nb\n", "a\n" + beginMark + "\nnew\n" + endMark + "\nb\n"},
		{"notes", "a\n\n" + notesHead + "\nn\n", "a\n\n" + beginMark + "\nnew\n" + endMark + "\n\n" + notesHead + "\nn\n"},
		{"append", "a\n", "a\n\n" + beginMark + "\nnew\n" + endMark + "\n"},
		{"empty", "", beginMark + "\nnew\n" + endMark + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "p.md")
			if tc.old != "" {
				os.WriteFile(f, []byte(tc.old), 0o644)
			}
			if err := splice(f, "new\n"); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(f)
			if d := cmp.Diff(tc.want, string(got)); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}
