package autobahn

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Server is fuzzing-server mode: an HTTP handler that speaks the
// testsuite's client protocol, so any WebSocket client can be tested:
//
//	GET /getCaseCount                 → one text message: the number of cases
//	GET /runCase?case=N&agent=A       → plays case N (1-based) against the client
//	GET /runCase?casetuple=7.1.1&agent=A → the same, by case id
//	GET /updateReports?agent=A        → writes the reports to OutDir
//	GET /getCaseInfo?case=N           → {"id": ..., "description": ...}
//	GET /getCaseStatus?case=N&agent=A → {"behavior": ...} of a finished case
//
// Each request is a WebSocket connection; the client echoes whatever the
// fuzzer sends on /runCase.
type Server struct {
	cases  []*Case
	outDir string
	opts   Options
	report *Report
	ctx    context.Context
	mu     sync.Mutex
	wrote  int
}

// NewServer returns a fuzzing server for cases (nil: the whole catalogue)
// that writes reports to opts.OutDir on /updateReports.
func NewServer(ctx context.Context, cases []*Case, opts Options) *Server {
	if cases == nil {
		cases = Cases()
	}
	return &Server{cases: cases, outDir: opts.OutDir, opts: opts, report: NewReport(), ctx: ctx}
}

// Report returns the results so far.
func (f *Server) Report() *Report { return f.report }

// writeReports writes the reports to OutDir now.
func (f *Server) writeReports() error {
	if f.outDir == "" {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.wrote++
	return f.report.Write(f.outDir)
}

func (f *Server) caseParam(r *http.Request) *Case {
	if id := r.URL.Query().Get("casetuple"); id != "" {
		for _, c := range f.cases {
			if c.ID == id {
				return c
			}
		}
		return nil
	}
	n, err := strconv.Atoi(r.URL.Query().Get("case"))
	if err != nil || n < 1 || n > len(f.cases) {
		return nil
	}
	return f.cases[n-1]
}

// control plays a short exchange on a non-case endpoint: fn sends, then
// the fuzzer closes.
func control(fn func(s *session)) *Case {
	return &Case{ID: "control", bound: 3 * time.Second, open: func(s *session) {
		s.ExpectClose(closeNormal)
		fn(s)
		s.SendClose(1000, "")
	}}
}

func (f *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	agent := q.Get("agent")
	var c *Case
	switch r.URL.Path {
	case "/runCase":
		c = f.caseParam(r)
		if c == nil || agent == "" {
			http.Error(w, "autobahn fuzzing server: runCase needs case=1.."+strconv.Itoa(len(f.cases))+" and agent", http.StatusBadRequest)
			return
		}
	case "/getCaseCount":
		c = control(func(s *session) { s.SendMessage([]byte(strconv.Itoa(len(f.cases))), false, 0) })
	case "/updateReports":
		if err := f.writeReports(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		c = control(func(*session) {})
	case "/getCaseInfo":
		cc := f.caseParam(r)
		if cc == nil {
			http.Error(w, "autobahn fuzzing server: no such case", http.StatusBadRequest)
			return
		}
		b, _ := json.Marshal(map[string]string{"id": cc.ID, "description": cc.Description})
		c = control(func(s *session) { s.SendMessage(b, false, 0) })
	case "/getCaseStatus":
		cc := f.caseParam(r)
		if cc == nil {
			http.Error(w, "autobahn fuzzing server: no such case", http.StatusBadRequest)
			return
		}
		behavior := ""
		f.report.mu.Lock()
		if res := f.report.results[agent][cc.ID]; res != nil {
			behavior = string(res.Behavior)
		}
		f.report.mu.Unlock()
		b, _ := json.Marshal(map[string]string{"behavior": behavior})
		c = control(func(s *session) { s.SendMessage(b, false, 0) })
	default:
		http.Error(w, "autobahn fuzzing server: unknown endpoint", http.StatusNotFound)
		return
	}
	started := time.Now()
	conn, br, pmd, err := serverHandshake(w, r, c.accept)
	if err != nil {
		if c.ID != "control" {
			res := handshakeFailed(c, agent, started, true, err)
			f.report.Add(res)
			if f.opts.Progress != nil {
				f.opts.Progress(res)
			}
		}
		return
	}
	ctx := f.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	s := newSession(c, conn, br, true, pmd)
	s.run(ctx, c.bound+f.opts.margin())
	if c.ID == "control" {
		return
	}
	res := s.result(agent, started)
	f.report.Add(res)
	if f.opts.Progress != nil {
		f.opts.Progress(res)
	}
}
