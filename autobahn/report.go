package autobahn

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Result is the outcome of one case for one agent, with the fields of the
// testsuite's per-case report.
type Result struct {
	ID                             string             `json:"id"`
	Description                    string             `json:"description"`
	Expectation                    string             `json:"expectation"`
	Agent                          string             `json:"agent"`
	Started                        string             `json:"started"`
	Duration                       int64              `json:"duration"` // milliseconds from open to connection lost
	ReportTime                     bool               `json:"reportTime"`
	Behavior                       Verdict            `json:"behavior"`
	BehaviorClose                  Verdict            `json:"behaviorClose"`
	Result                         string             `json:"result"`
	ResultClose                    string             `json:"resultClose"`
	Expected                       map[string][]event `json:"expected"`
	ExpectedClose                  expectedClose      `json:"expectedClose"`
	Received                       []event            `json:"received"`
	IsServer                       bool               `json:"isServer"`
	ClosedByMe                     bool               `json:"closedByMe"`
	FailedByMe                     bool               `json:"failedByMe"`
	DroppedByMe                    bool               `json:"droppedByMe"`
	WasClean                       bool               `json:"wasClean"`
	WasNotCleanReason              string             `json:"wasNotCleanReason,omitempty"`
	WasServerConnectionDropTimeout bool               `json:"wasServerConnectionDropTimeout"`
	WasCloseHandshakeTimeout       bool               `json:"wasCloseHandshakeTimeout"`
	LocalCloseCode                 *int               `json:"localCloseCode"`
	LocalCloseReason               string             `json:"localCloseReason,omitempty"`
	RemoteCloseCode                *int               `json:"remoteCloseCode"`
	RemoteCloseReason              string             `json:"remoteCloseReason,omitempty"`
	Wirelog                        []string           `json:"wirelog,omitempty"`
}

// Passed reports whether both verdicts are OK or INFORMATIONAL.
func (r *Result) Passed() bool { return r.Behavior.Passing() && r.BehaviorClose.Passing() }

// result collects the session's outcome.
func (s *session) result(agent string, started time.Time) *Result {
	r := &Result{
		ID: s.Case.ID, Description: s.Case.Description, Expectation: s.Case.expectation,
		Agent: agent, Started: started.UTC().Format(time.RFC3339Nano),
		Duration: s.end.Sub(s.start).Milliseconds(), ReportTime: s.Case.reportTime,
		Behavior: s.Behavior, BehaviorClose: s.BehaviorClose, Result: s.Result, ResultClose: s.ResultClose,
		Expected: map[string][]event{}, ExpectedClose: s.expectedClose, Received: s.received,
		IsServer: s.isServer, ClosedByMe: s.closedByMe, FailedByMe: s.failedByMe, DroppedByMe: s.droppedByMe,
		WasClean: s.wasClean, WasNotCleanReason: s.notCleanReason,
		WasServerConnectionDropTimeout: s.serverDropTO, WasCloseHandshakeTimeout: s.closeHSTO,
		LocalCloseCode: s.localCode, LocalCloseReason: logData(s.localReason),
		RemoteCloseCode: s.remoteCode, RemoteCloseReason: logData(s.remoteReason),
		Wirelog: s.trace,
	}
	if r.Received == nil {
		r.Received = []event{}
	}
	for _, e := range s.expected {
		r.Expected[string(e.Verdict)] = e.Events
	}
	return r
}

// handshakeFailed is the result of a case whose connection never opened.
func handshakeFailed(c *Case, agent string, started time.Time, isServer bool, err error) *Result {
	return &Result{
		ID: c.ID, Description: c.Description, Expectation: c.expectation, Agent: agent,
		Started: started.UTC().Format(time.RFC3339Nano), ReportTime: c.reportTime,
		Behavior: Failed, BehaviorClose: Failed,
		Result:      fmt.Sprintf("The opening handshake failed: %v", err),
		ResultClose: "The WebSocket opening handshake was never completed!",
		Expected:    map[string][]event{}, Received: []event{}, IsServer: isServer,
	}
}

// Report holds the results of a run: agent → case id → result. It is safe
// for concurrent use.
type Report struct {
	mu      sync.Mutex
	results map[string]map[string]*Result
}

// NewReport returns an empty report.
func NewReport() *Report { return &Report{results: map[string]map[string]*Result{}} }

// Add records a result (replacing an earlier one for the same agent and case).
func (r *Report) Add(res *Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.results == nil {
		r.results = map[string]map[string]*Result{}
	}
	m := r.results[res.Agent]
	if m == nil {
		m = map[string]*Result{}
		r.results[res.Agent] = m
	}
	m[res.ID] = res
}

// Agents returns the agents in the report, sorted.
func (r *Report) Agents() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for a := range r.results {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// Sorted returns one agent's results in case order.
func (r *Report) Sorted(agent string) []*Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for id := range r.results[agent] {
		ids = append(ids, id)
	}
	sortIDs(ids)
	out := make([]*Result, 0, len(ids))
	for _, id := range ids {
		out = append(out, r.results[agent][id])
	}
	return out
}

// Failures returns every result, of any agent, that is not OK/INFORMATIONAL.
func (r *Report) Failures() []*Result {
	var out []*Result
	for _, a := range r.Agents() {
		for _, res := range r.Sorted(a) {
			if !res.Passed() {
				out = append(out, res)
			}
		}
	}
	return out
}

// IndexEntry is one case in index.json, the testsuite's master report.
type IndexEntry struct {
	Behavior        Verdict `json:"behavior"`
	BehaviorClose   Verdict `json:"behaviorClose"`
	Duration        int64   `json:"duration"`
	RemoteCloseCode *int    `json:"remoteCloseCode"`
	ReportFile      string  `json:"reportfile"`
}

// Index is index.json: agent → case id → entry.
type Index map[string]map[string]IndexEntry

func cleanForFilename(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(strings.TrimSpace(s)) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		} else {
			b.WriteByte(' ')
		}
	}
	return strings.ReplaceAll(strings.TrimSpace(b.String()), " ", "_")
}

// reportFile is the name of a case's detail report, as the testsuite names it.
func reportFile(agent, id, ext string) string {
	return cleanForFilename(agent) + "_case_" + strings.ReplaceAll(id, ".", "_") + "." + ext
}

// Index builds index.json's content.
func (r *Report) Index() Index {
	idx := Index{}
	for _, a := range r.Agents() {
		m := map[string]IndexEntry{}
		for _, res := range r.Sorted(a) {
			m[res.ID] = IndexEntry{Behavior: res.Behavior, BehaviorClose: res.BehaviorClose, Duration: res.Duration,
				RemoteCloseCode: res.RemoteCloseCode, ReportFile: reportFile(a, res.ID, "json")}
		}
		idx[a] = m
	}
	return idx
}

// Write writes index.json, one JSON detail file per case, and index.md (a
// readable summary with the details of every case that did not pass) into
// dir.
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	idx, err := json.MarshalIndent(r.Index(), "", "   ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), idx, 0o644); err != nil {
		return err
	}
	for _, a := range r.Agents() {
		for _, res := range r.Sorted(a) {
			b, err := json.MarshalIndent(res, "", "   ")
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, reportFile(a, res.ID, "json")), b, 0o644); err != nil {
				return err
			}
		}
	}
	return os.WriteFile(filepath.Join(dir, "index.md"), []byte(r.Markdown()), 0o644)
}

// GroupSummary counts verdicts of one case group for one agent.
type GroupSummary struct {
	Group    string
	Cases    int
	Passed   int
	Behavior map[Verdict]int
	Close    map[Verdict]int
	Millis   int64 // summed durations
}

// Summary counts verdicts per case group for one agent, in group order.
func (r *Report) Summary(agent string) []GroupSummary {
	by := map[string]*GroupSummary{}
	var order []string
	for _, res := range r.Sorted(agent) {
		g, _, _ := strings.Cut(res.ID, ".")
		gs := by[g]
		if gs == nil {
			gs = &GroupSummary{Group: g, Behavior: map[Verdict]int{}, Close: map[Verdict]int{}}
			by[g] = gs
			order = append(order, g)
		}
		gs.Cases++
		if res.Passed() {
			gs.Passed++
		}
		gs.Behavior[res.Behavior]++
		gs.Close[res.BehaviorClose]++
		gs.Millis += res.Duration
	}
	out := make([]GroupSummary, 0, len(order))
	for _, g := range order {
		out = append(out, *by[g])
	}
	return out
}

var groupNames = map[string]string{
	"1": "Framing", "2": "Pings/Pongs", "3": "Reserved Bits", "4": "Opcodes", "5": "Fragmentation",
	"6": "UTF-8 Handling", "7": "Close Handling", "9": "Limits/Performance", "10": "Misc (auto-fragmentation)",
	"12": "WebSocket Compression (different payloads)", "13": "WebSocket Compression (different parameters)",
}

// GroupName is the testsuite's title of a case group.
func GroupName(g string) string { return groupNames[g] }

func verdictCounts(m map[Verdict]int) string {
	var parts []string
	for _, v := range []Verdict{OK, NonStrict, Informational, Unimplemented, Failed, WrongCode, Unclean, FailedByClient} {
		if m[v] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", v, m[v]))
		}
	}
	return strings.Join(parts, ", ")
}

// Markdown renders the summary per agent and group, then the details of
// every case that did not pass.
func (r *Report) Markdown() string {
	var b strings.Builder
	b.WriteString("# Autobahn conformance report (hybi native runner)\n\n")
	for _, a := range r.Agents() {
		fmt.Fprintf(&b, "## Agent `%s`\n\n", a)
		b.WriteString("| Group | Title | Cases | Pass | behavior | behaviorClose | Time |\n|---|---|---:|---:|---|---|---:|\n")
		total, pass := 0, 0
		for _, g := range r.Summary(a) {
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %s | %s | %.1fs |\n", g.Group, GroupName(g.Group), g.Cases, g.Passed,
				verdictCounts(g.Behavior), verdictCounts(g.Close), float64(g.Millis)/1000)
			total += g.Cases
			pass += g.Passed
		}
		fmt.Fprintf(&b, "\n%d of %d cases OK or INFORMATIONAL in both verdicts.\n\n", pass, total)
		var timed []*Result
		for _, res := range r.Sorted(a) {
			if res.ReportTime && strings.HasPrefix(res.ID, "9.") {
				timed = append(timed, res)
			}
		}
		if len(timed) > 0 {
			b.WriteString("### Limits/Performance (group 9) durations\n\n| Case | Verdict | Duration |\n|---|---|---:|\n")
			for _, res := range timed {
				fmt.Fprintf(&b, "| %s | %s | %d ms |\n", res.ID, res.Behavior, res.Duration)
			}
			b.WriteString("\n")
		}
		var fails []*Result
		for _, res := range r.Sorted(a) {
			if !res.Passed() {
				fails = append(fails, res)
			}
		}
		if len(fails) == 0 {
			continue
		}
		b.WriteString("### Cases that did not pass\n\n")
		for _, res := range fails {
			fmt.Fprintf(&b, "#### Case %s: %s / %s\n\n", res.ID, res.Behavior, res.BehaviorClose)
			fmt.Fprintf(&b, "- Description: %s\n- Expectation: %s\n- Result: %s\n- Close: %s\n", res.Description, res.Expectation, res.Result, res.ResultClose)
			exp, _ := json.Marshal(res.Expected)
			rec, _ := json.Marshal(res.Received)
			fmt.Fprintf(&b, "- Expected: `%s`\n- Observed: `%s`\n", limit(string(exp), 600), limit(string(rec), 600))
			code := "none"
			if res.RemoteCloseCode != nil {
				code = fmt.Sprint(*res.RemoteCloseCode)
			}
			fmt.Fprintf(&b, "- closedByMe=%v failedByMe=%v droppedByMe=%v wasClean=%v remoteCloseCode=%s %s\n", res.ClosedByMe, res.FailedByMe, res.DroppedByMe, res.WasClean, code, res.WasNotCleanReason)
			if len(res.Wirelog) > 0 {
				b.WriteString("\n```\n")
				for i, l := range res.Wirelog {
					if i == 40 {
						fmt.Fprintf(&b, "... %d more lines in %s\n", len(res.Wirelog)-40, reportFile(a, res.ID, "json"))
						break
					}
					b.WriteString(limit(l, 200) + "\n")
				}
				b.WriteString("```\n")
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func limit(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + " ..."
}

// ReadIndex reads an index.json.
func ReadIndex(path string) (Index, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var idx Index
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("autobahn: %s: %w", path, err)
	}
	return idx, nil
}
