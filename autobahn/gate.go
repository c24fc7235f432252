package autobahn

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// GateIndex returns one line per case of idx whose behavior or
// behaviorClose is not OK or INFORMATIONAL (NON-STRICT, UNIMPLEMENTED,
// UNCLEAN, WRONG CODE, FAILED BY CLIENT and FAILED all count), and an
// error if the index holds no case at all.
func GateIndex(name string, idx Index) ([]string, error) {
	var bad []string
	n := 0
	var agents []string
	for a := range idx {
		agents = append(agents, a)
	}
	sort.Strings(agents)
	for _, a := range agents {
		var ids []string
		for id := range idx[a] {
			ids = append(ids, id)
		}
		sortIDs(ids)
		for _, id := range ids {
			e := idx[a][id]
			n++
			if !e.Behavior.Passing() || !e.BehaviorClose.Passing() {
				bad = append(bad, fmt.Sprintf("%s: agent %q case %s: behavior %s, behaviorClose %s", name, a, id, e.Behavior, e.BehaviorClose))
			}
		}
	}
	if n == 0 {
		return bad, fmt.Errorf("autobahn: %s holds no results", name)
	}
	return bad, nil
}

// Gate checks the reports under dir: dir/servers/index.json and
// dir/clients/index.json (either may be absent, not both), or dir/index.json
// itself. It returns the failing cases and an error when no report is found.
func Gate(dir string) ([]string, error) {
	var paths []string
	for _, p := range []string{filepath.Join(dir, "index.json"), filepath.Join(dir, "servers", "index.json"), filepath.Join(dir, "clients", "index.json")} {
		if _, err := os.Stat(p); err == nil {
			paths = append(paths, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("autobahn: no index.json under %s (looked in ., servers/ and clients/)", dir)
	}
	var bad []string
	for _, p := range paths {
		idx, err := ReadIndex(p)
		if err != nil {
			return bad, err
		}
		b, err := GateIndex(p, idx)
		bad = append(bad, b...)
		if err != nil {
			return bad, err
		}
	}
	return bad, nil
}
