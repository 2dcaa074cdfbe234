package main

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/jinbi/punchd/internal/buildinfo"
	"github.com/jinbi/punchd/sync/ingest"
	"github.com/jinbi/punchd/sync/publish"
	"github.com/jinbi/punchd/sync/pull"
)

// The metrics punchd serves at /metrics live on one registry of the daemon's (never the global
// one). Each loop counts what it does where it does it, on metrics of its own package built here
// once: the clocks (sync/pull, the push server's devices too), the engine (sync/ingest), the
// publisher (sync/publish); the push server, the loops' liveness (internal/health) and the
// console (internal/web) register theirs as they are built. What is left is the daemon's own:
// its build, its loads of the configuration and roster, the holiday years it needs and the
// store's size. docs/operations.md lists them all; testdata/metrics.golden holds their names.

// metrics are the daemon's registry and the metrics built on it.
type metrics struct {
	reg     *prometheus.Registry
	clocks  *pull.Metrics
	engine  *ingest.Metrics
	publish *publish.Metrics

	reloads                  *prometheus.CounterVec // result
	lastReload, lastReloadOK prometheus.Gauge
	people, unknown          prometheus.Gauge
	yearsMissing             prometheus.Gauge
	yearHasData              *prometheus.GaugeVec // year
	storeSize                prometheus.Gauge
}

// newMetrics builds the daemon's registry with the Go and process collectors and every metric
// built here. now is the daemon's clock (the outbox's age is told by it).
func newMetrics(build buildinfo.Info, now func() time.Time) *metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := register(reg, build, now)
	m.reg = reg
	return m
}

// register builds the metrics of this file on reg.
func register(reg prometheus.Registerer, build buildinfo.Info, now func() time.Time) *metrics {
	f := promauto.With(reg)
	gauge := func(name, help string) prometheus.Gauge {
		return f.NewGauge(prometheus.GaugeOpts{Name: "punchd_" + name, Help: help})
	}
	f.NewGaugeVec(prometheus.GaugeOpts{Name: "punchd_build_info", Help: "A constant 1 labelled with the version, VCS revision and Go version of punchd."},
		[]string{"version", "revision", "goversion"}).WithLabelValues(orUnknown(build.Version), orUnknown(build.Revision), orUnknown(build.GoVersion)).Set(1)
	m := &metrics{
		clocks:  pull.NewMetrics(reg, zkReasons),
		engine:  ingest.NewMetrics(reg),
		publish: publish.NewMetrics(reg, now),
		reloads: f.NewCounterVec(prometheus.CounterOpts{Name: "punchd_config_reloads_total",
			Help: "Reloads of the configuration and roster (SIGHUP), by result."}, []string{"result"}),
		lastReload:   gauge("config_last_reload_timestamp_seconds", "Unix time of the last load of the configuration and roster."),
		lastReloadOK: gauge("config_last_reload_successful", "1 when the last load of the configuration and roster succeeded."),
		people:       gauge("roster_people", "People on the roster, loaded at start and on SIGHUP."),
		unknown:      gauge("roster_unknown_users", "User ids seen on a clock that are not on the roster."),
		yearsMissing: gauge("calendar_years_missing", "Years the daemon needs (this year; next year from December) without holiday data."),
		yearHasData: f.NewGaugeVec(prometheus.GaugeOpts{Name: "punchd_calendar_year_has_data",
			Help: "1 when holiday data for the year is loaded, 0 when it is missing."}, []string{"year"}),
		storeSize: gauge("store_size_bytes", "Size of the bbolt store file."),
	}
	m.reloads.WithLabelValues("success")
	m.reloads.WithLabelValues("failure")
	return m
}

// handler serves the registry in the Prometheus exposition formats; errors while gathering are
// served, not hidden.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling:     promhttp.ContinueOnError,
		Registry:          m.reg, // promhttp_metric_handler_errors_total
		EnableOpenMetrics: true,
	})
}

// configLoaded records a load of the configuration and roster (at start and on each SIGHUP) at
// `at`, and whether it succeeded.
func (m *metrics) configLoaded(ok bool, at time.Time) {
	result := "success"
	if !ok {
		result = "failure"
	}
	m.reloads.WithLabelValues(result).Inc()
	m.lastReload.Set(float64(at.UnixNano()) / 1e9)
	m.lastReloadOK.Set(b2f(ok))
}

// calendarYears records, for each year the daemon needs, whether holiday data is loaded,
// replacing what an earlier call recorded.
func (m *metrics) calendarYears(hasData map[int]bool) {
	m.yearHasData.Reset()
	missing := 0
	for y, ok := range hasData {
		m.yearHasData.WithLabelValues(strconv.Itoa(y)).Set(b2f(ok))
		if !ok {
			missing++
		}
	}
	m.yearsMissing.Set(float64(missing))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
