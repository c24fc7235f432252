package autobahn

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Case is one case of the catalogue: the testsuite's id, description and
// expectation, and the script that plays it.
type Case struct {
	ID          string
	Description string
	expectation string
	// open runs when the connection is open: it sets the expectations,
	// sends the case's traffic and schedules what follows.
	open func(s *session)
	// offers are the permessage-deflate offers the fuzzer makes as a client
	// (groups 12 and 13; nil elsewhere).
	offers []deflateOffer
	// accept is how the fuzzer, as a server, answers a client's offers.
	accept acceptFunc
	// bound is the longest the case can take against a conforming peer
	// (its waits and timeouts); runners add a margin and then drop the
	// connection, so a hanging peer cannot stall a run.
	bound time.Duration
	// reportTime: the duration is part of the result (groups 9, 12, 13).
	reportTime bool
}

// Group is the first component of the id ("9" for "9.7.3").
func (c *Case) Group() string {
	g, _, _ := strings.Cut(c.ID, ".")
	return g
}

func idKey(id string) []int {
	var k []int
	for _, p := range strings.Split(id, ".") {
		n, _ := strconv.Atoi(p)
		k = append(k, n)
	}
	return k
}

func idLess(a, b string) bool {
	ka, kb := idKey(a), idKey(b)
	for i := 0; i < len(ka) && i < len(kb); i++ {
		if ka[i] != kb[i] {
			return ka[i] < kb[i]
		}
	}
	return len(ka) < len(kb)
}

// sortIDs sorts case ids numerically ("1.2.10" after "1.2.9").
func sortIDs(ids []string) { sort.Slice(ids, func(i, j int) bool { return idLess(ids[i], ids[j]) }) }

var catalogue = sync.OnceValue(func() []*Case {
	var cs []*Case
	cs = append(cs, framingCases()...)
	cs = append(cs, pingCases()...)
	cs = append(cs, reservedCases()...)
	cs = append(cs, fragmentationCases()...)
	cs = append(cs, utf8Cases()...)
	cs = append(cs, closeCases()...)
	cs = append(cs, limitCases()...)
	cs = append(cs, autoFragmentCases()...)
	cs = append(cs, deflateCases()...)
	sort.SliceStable(cs, func(i, j int) bool { return idLess(cs[i].ID, cs[j].ID) })
	return cs
})

// Cases returns the full catalogue (517 cases) in the testsuite's order.
// The slice is shared: do not modify it.
func Cases() []*Case { return catalogue() }

// Select returns the cases whose ids match any of the patterns ("*",
// "1.*", "9.7.*", "6.4.1"), minus those matching any exclude pattern, the
// way the testsuite reads "cases" and "exclude-cases" of its config.
func Select(patterns, exclude []string) []*Case {
	inc := compilePatterns(patterns)
	exc := compilePatterns(exclude)
	var out []*Case
	for _, c := range Cases() {
		if matchAny(inc, c.ID) && !matchAny(exc, c.ID) {
			out = append(out, c)
		}
	}
	return out
}

func compilePatterns(ps []string) []*regexp.Regexp {
	var out []*regexp.Regexp
	for _, p := range ps {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		q := regexp.QuoteMeta(p)
		q = strings.ReplaceAll(q, `\*`, `.*`)
		out = append(out, regexp.MustCompile("^"+q+"$"))
	}
	return out
}

func matchAny(res []*regexp.Regexp, id string) bool {
	for _, re := range res {
		if re.MatchString(id) {
			return true
		}
	}
	return false
}
