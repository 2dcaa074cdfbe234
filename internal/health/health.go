// Package health answers two questions about the running daemon.
//
// Liveness (/healthz): are the daemon's own loops still turning? Each long
// running loop (one per clock, the publisher, the finaliser timers, the API)
// registers with the interval within which it promises to beat, and calls
// Beat on every turn — including turns where its clock or the broker is
// unreachable. A loop that is waiting on a dead clock is alive; a loop stuck
// on a lock is not. Liveness therefore does not depend on clocks or the
// broker, and the same state drives the systemd watchdog (package sdnotify):
// when a loop stops beating, the watchdog stops being fed and systemd
// restarts the daemon.
//
// Readiness (/readyz): can the daemon do its work at all? Named checks (the
// store is open, the configuration is valid) each return an error or nil; the
// handler answers 200 or 503 with JSON naming each check.
//
// The package owns no goroutine and reads the time only through the clock
// it is given.
package health

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// LoopStatus is the state of one registered loop.
type LoopStatus struct {
	Name     string    `json:"name"`
	Healthy  bool      `json:"healthy"`
	LastBeat time.Time `json:"last_beat"` // registration time until the first beat
	Within   string    `json:"within"`    // the allowed interval between beats
	Age      string    `json:"age"`       // time since the last beat
}

type loop struct {
	within time.Duration
	last   time.Time
}

// Liveness tracks the heartbeats of the daemon's loops. It is safe for
// concurrent use.
type Liveness struct {
	now           func() time.Time
	defaultWithin time.Duration

	mu    sync.Mutex
	loops map[string]*loop

	descBeat, descHealthy *prometheus.Desc
}

var _ prometheus.Collector = (*Liveness)(nil)

// NewLiveness returns an empty registry of loops. now is the clock (time.Now
// in the daemon); defaultWithin is the interval given to a loop that beats
// without having registered.
func NewLiveness(now func() time.Time, defaultWithin time.Duration) *Liveness {
	return &Liveness{
		now:           now,
		defaultWithin: defaultWithin,
		loops:         map[string]*loop{},
		descBeat: prometheus.NewDesc("punchd_loop_last_beat_timestamp_seconds",
			"Unix time of the last heartbeat of each daemon loop.", []string{"loop"}, nil),
		descHealthy: prometheus.NewDesc("punchd_loop_healthy",
			"1 when the loop beat within its allowed interval.", []string{"loop"}, nil),
	}
}

// Register declares a loop that promises to Beat at least every `within`.
// The loop counts as having beaten at registration. Registering again
// changes the interval and counts as a beat.
func (l *Liveness) Register(name string, within time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.loops[name] = &loop{within: within, last: l.now()}
}

// Unregister removes a loop that ended on purpose (shutdown, a clock removed
// from the configuration). A loop that ends by accident must not unregister:
// its silence is what makes the daemon unhealthy.
func (l *Liveness) Unregister(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.loops, name)
}

// Beat records that the loop made progress. A name never registered is
// registered with the default interval.
func (l *Liveness) Beat(name string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	lp, ok := l.loops[name]
	if !ok {
		l.loops[name] = &loop{within: l.defaultWithin, last: now}
		return
	}
	lp.last = now
}

// Check reports whether every registered loop beat within its interval, and
// the state of each loop sorted by name. With no loop registered the daemon
// counts as healthy (nothing can have stalled).
func (l *Liveness) Check() (bool, []LoopStatus) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	all := true
	out := make([]LoopStatus, 0, len(l.loops))
	for name, lp := range l.loops {
		age := now.Sub(lp.last)
		ok := age <= lp.within
		all = all && ok
		out = append(out, LoopStatus{Name: name, Healthy: ok, LastBeat: lp.last, Within: lp.within.String(), Age: age.Round(time.Millisecond).String()})
	}
	slices.SortFunc(out, func(a, b LoopStatus) int { return strings.Compare(a.Name, b.Name) })
	return all, out
}

// Healthy reports whether every registered loop beat within its interval.
// It is the function to hand to sdnotify's watchdog.
func (l *Liveness) Healthy() bool {
	ok, _ := l.Check()
	return ok
}

// Stalled names the loops that missed their interval (for a log line or
// the systemd STATUS).
func (l *Liveness) Stalled() []string {
	_, loops := l.Check()
	var out []string
	for _, s := range loops {
		if !s.Healthy {
			out = append(out, s.Name)
		}
	}
	return out
}

// Handler serves /healthz: 200 {"status":"ok","loops":[...]} when every
// loop is alive, 503 {"status":"stalled",...} otherwise.
func (l *Liveness) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, loops := l.Check()
		body := struct {
			Status string       `json:"status"`
			Loops  []LoopStatus `json:"loops"`
		}{"ok", loops}
		code := http.StatusOK
		if !ok {
			body.Status, code = "stalled", http.StatusServiceUnavailable
		}
		writeJSON(w, code, body)
	})
}

// Describe implements prometheus.Collector.
func (l *Liveness) Describe(ch chan<- *prometheus.Desc) {
	ch <- l.descBeat
	ch <- l.descHealthy
}

// Collect implements prometheus.Collector: one series per registered loop.
func (l *Liveness) Collect(ch chan<- prometheus.Metric) {
	_, loops := l.Check()
	for _, s := range loops {
		ch <- prometheus.MustNewConstMetric(l.descBeat, prometheus.GaugeValue, float64(s.LastBeat.UnixNano())/1e9, s.Name)
		h := 0.0
		if s.Healthy {
			h = 1
		}
		ch <- prometheus.MustNewConstMetric(l.descHealthy, prometheus.GaugeValue, h, s.Name)
	}
}

// CheckFunc is one readiness check; nil means ready. It must return quickly
// and honour ctx.
type CheckFunc func(ctx context.Context) error

// CheckResult is the outcome of one readiness check.
type CheckResult struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Readiness holds the named checks behind /readyz. It is safe for
// concurrent use.
type Readiness struct {
	mu     sync.Mutex
	names  []string
	checks map[string]CheckFunc
}

// NewReadiness returns a Readiness with no checks (ready).
func NewReadiness() *Readiness { return &Readiness{checks: map[string]CheckFunc{}} }

// Set adds or replaces the check called name. Checks run in the order they
// were first set.
func (r *Readiness) Set(name string, check CheckFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.checks[name]; !ok {
		r.names = append(r.names, name)
	}
	r.checks[name] = check
}

// Check runs every check and reports whether all passed.
func (r *Readiness) Check(ctx context.Context) (bool, []CheckResult) {
	r.mu.Lock()
	names := slices.Clone(r.names)
	checks := make([]CheckFunc, len(names))
	for i, n := range names {
		checks[i] = r.checks[n]
	}
	r.mu.Unlock()
	all := true
	out := make([]CheckResult, len(names))
	for i, n := range names {
		out[i] = CheckResult{Name: n, OK: true}
		if err := checks[i](ctx); err != nil {
			out[i] = CheckResult{Name: n, OK: false, Error: err.Error()}
			all = false
		}
	}
	return all, out
}

// Handler serves /readyz: 200 {"status":"ready","checks":[...]} or 503
// {"status":"not_ready","checks":[...]} with the failing check's error.
// Each request gets at most timeout for all checks.
func (r *Readiness) Handler(timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ctx, cancel := context.WithTimeout(req.Context(), timeout)
		defer cancel()
		ok, results := r.Check(ctx)
		body := struct {
			Status string        `json:"status"`
			Checks []CheckResult `json:"checks"`
		}{"ready", results}
		code := http.StatusOK
		if !ok {
			body.Status, code = "not_ready", http.StatusServiceUnavailable
		}
		writeJSON(w, code, body)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to do
}
