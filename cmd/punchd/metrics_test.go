package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jinbi/punchd/internal/buildinfo"
)

var update = flag.Bool("update", false, "rewrite testdata/metrics.golden from the metrics the daemon builds")

// recorder registers on a registry and keeps, for each metric described, "name kind labels".
type recorder struct {
	prometheus.Registerer
	families []string
}

var descRE = regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`)

func (r *recorder) Register(c prometheus.Collector) error {
	var kind string
	// A Gauge has Inc and Add too, and any metric is a GaugeFunc: ask for what only it has first.
	switch c.(type) {
	case prometheus.Histogram, *prometheus.HistogramVec:
		kind = "histogram"
	case prometheus.Gauge, *prometheus.GaugeVec:
		kind = "gauge"
	case prometheus.Counter, *prometheus.CounterVec:
		kind = "counter"
	case prometheus.GaugeFunc:
		kind = "gauge"
	default:
		return fmt.Errorf("collector %T of no known kind", c)
	}
	descs := make(chan *prometheus.Desc)
	go func() { c.Describe(descs); close(descs) }()
	for d := range descs {
		m := descRE.FindStringSubmatch(d.String())
		if m == nil {
			return fmt.Errorf("unreadable descriptor %s", d)
		}
		r.families = append(r.families, strings.TrimSpace(m[1]+" "+kind+" "+m[2]))
	}
	return r.Registerer.Register(c)
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// TestMetricsGolden compares every metric the daemon builds for its loops and itself — name,
// kind and label names — with testdata/metrics.golden (go test -update rewrites it). They are
// contracts: the alerts and recording rules in deploy/ (whose test reads the same file), the
// dashboard and docs/operations.md use them, so a change must be a visible one.
func TestMetricsGolden(t *testing.T) {
	rec := &recorder{Registerer: prometheus.NewRegistry()}
	register(rec, buildinfo.Info{}, time.Now)
	slices.Sort(rec.families)
	text := strings.Join(rec.families, "\n") + "\n"
	const golden = "testdata/metrics.golden"
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestMetricsGolden -update once)", err)
	}
	if string(want) != text {
		t.Fatalf("the metrics changed; if intended, run go test ./cmd/punchd -run TestMetricsGolden -update and fix deploy/ and docs/operations.md\ngot:\n%s\nwant:\n%s", text, want)
	}
	for _, f := range rec.families {
		name, kind, _ := strings.Cut(f, " ")
		kind, _, _ = strings.Cut(kind, " ")
		if !strings.HasPrefix(name, "punchd_") {
			t.Errorf("%s lacks the punchd_ prefix", name)
		}
		if (kind == "counter") != strings.HasSuffix(name, "_total") {
			t.Errorf("%s is a %s: counters and only counters end in _total", name, kind)
		}
	}
}
