// Package push serves the ZK PUSH devices of the config ([[clock]] url = "zk+push://HOST:PORT?sn=…"):
// one HTTP listener per address, the protocol of device/zkpush, and every upload committed through
// the same ingest as the pull loops' reads (pull.Sink), so pushed and pulled punches are judged,
// deduplicated and published alike.
//
// It owns the listeners and the bookkeeping that makes an upload look like a read of a growing log
// (the mark's count grows by the lines pushed). It never judges, stores or publishes itself.
package push

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/device/zkpush"
	"github.com/jinbi/punchd/sync/pull"
)

// Sink is where uploads go: the ingest engine.
type Sink interface {
	Pulled(ctx context.Context, r pull.Pull) error
	Mark(clock string) device.Mark
	// ClockUsers is the user table stored for a clock; nil when none was.
	ClockUsers(clock string) ([]device.User, error)
}

// Clock is one configured push device.
type Clock struct {
	Name     string
	URL      string         // zk+push://HOST:PORT?sn=SERIAL
	Location *time.Location // the device's wall time
	// SyncEvery is how often a device's requests for commands mark it synced up to now (a commit
	// each); default 1m.
	SyncEvery time.Duration
}

// IsPush reports whether a clock URL is a push device's.
func IsPush(url string) bool { return strings.HasPrefix(url, zkpush.Scheme+"://") }

// Server serves every push device of the config. Create with New, bind with Listen, then Run.
type Server struct {
	log      *slog.Logger
	now      func() time.Time
	sink     Sink
	obs      pull.Observer
	met      *pull.Metrics // the clocks' metrics: a push device is a clock
	requests *prometheus.CounterVec

	byAddr map[string][]Clock
	serial map[string]string // clock name -> serial
	lns    map[string]net.Listener

	mu   sync.Mutex           // one commit at a time: the mark's count must grow in order
	seen map[string]time.Time // clock -> last heartbeat commit
	cfg  map[string]Clock

	cmu     sync.Mutex
	contact map[string]time.Time // clock -> its device's last request
	silent  map[string]bool      // clocks reported down for silence
}

// SilentAfter is how long a device may go without a request before its clock is reported down: it
// asks for commands every Delay (10 s) when it is on and reachable.
const SilentAfter = 2 * time.Minute

// New checks the clocks' URLs and builds a server; obs is told what a pull loop would tell it, met
// count it as a pull loop's would, and the server's own metric is registered on reg (nil, nil: on
// registries nobody serves).
func New(clocks []Clock, sink Sink, now func() time.Time, log *slog.Logger, obs pull.Observer, met *pull.Metrics, reg prometheus.Registerer) (*Server, error) {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if met == nil {
		met = pull.NewMetrics(prometheus.NewRegistry(), nil)
	}
	s := &Server{log: log, now: now, sink: sink, obs: obs, met: met, byAddr: map[string][]Clock{}, serial: map[string]string{},
		lns: map[string]net.Listener{}, seen: map[string]time.Time{}, cfg: map[string]Clock{},
		contact: map[string]time.Time{}, silent: map[string]bool{},
		requests: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{Name: "punchd_push_requests_total",
			Help: "Requests from ZK PUSH devices, by clock (\"unknown\" for a serial number not configured), endpoint and result (ok, malformed_lines, unknown_sn, too_large, bad_request, store)."},
			[]string{"clock", "endpoint", "result"})}
	taken := map[string]string{}
	for _, c := range clocks {
		addr, sn, err := zkpush.ParseURL(c.URL)
		if err != nil {
			return nil, fmt.Errorf("clock %s: %w", c.Name, err)
		}
		if other, dup := taken[sn]; dup {
			return nil, fmt.Errorf("clock %s: serial number %s is already clock %s's", c.Name, sn, other)
		}
		taken[sn] = c.Name
		if c.SyncEvery <= 0 {
			c.SyncEvery = time.Minute
		}
		s.byAddr[addr] = append(s.byAddr[addr], c)
		s.serial[c.Name] = sn
		s.cfg[c.Name] = c
		met.Init(c.Name)
		for _, ep := range []string{"cdata", "getrequest"} {
			s.requests.WithLabelValues(c.Name, ep, "ok")
		}
	}
	return s, nil
}

// Listen binds every address; it returns each clock's bound host:port (useful with port 0).
func (s *Server) Listen() (map[string]string, error) {
	out := map[string]string{}
	for addr, clocks := range s.byAddr {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range s.lns {
				l.Close()
			}
			return nil, fmt.Errorf("push devices %s: listen %s: %w", clocks[0].Name, addr, err)
		}
		s.lns[addr] = ln
		for _, c := range clocks {
			out[c.Name] = ln.Addr().String()
		}
	}
	return out, nil
}

// Run serves the bound listeners until ctx is done.
func (s *Server) Run(ctx context.Context, stamps zkpush.Stamps) {
	var wg sync.WaitGroup
	var servers []*http.Server
	for addr, clocks := range s.byAddr {
		devices := map[string]string{}
		for _, c := range clocks {
			devices[s.serial[c.Name]] = c.Name
		}
		h := zkpush.Handler(zkpush.Config{Devices: devices, Location: clocks[0].Location,
			Logger: s.log.With("component", "push", "listen", addr), Observer: observer{s, devices}}, s, stamps)
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
			BaseContext: func(net.Listener) context.Context { return ctx }}
		servers = append(servers, srv)
		wg.Add(1)
		go func(ln net.Listener) {
			defer wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("push server stopped", "listen", ln.Addr().String(), "err", err)
			}
		}(s.lns[addr])
		for _, c := range clocks {
			s.log.Info("serving ZK PUSH device", "clock", c.Name, "sn", s.serial[c.Name], "listen", s.lns[addr].Addr().String())
		}
	}
	tick := time.NewTicker(SilentAfter / 8)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tick.C:
			s.checkSilent()
		}
	}
	shut, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, srv := range servers {
		srv.Shutdown(shut)
	}
	wg.Wait()
}

// Upload implements zkpush.Sink: the lines pushed continue the clock's log from its mark.
func (s *Server) Upload(ctx context.Context, clock, serial string, ps []device.Punch, skipped []device.Skipped) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	mark := s.sink.Mark(clock)
	n := len(ps) + len(skipped)
	for i := range skipped {
		skipped[i].Index += mark.Count
	}
	last := mark.Last
	if len(ps) > 0 {
		last = ps[len(ps)-1].Raw
	}
	start := s.now()
	r := pull.Pull{Clock: clock, Info: device.Info{Serial: serial, Records: mark.Count + n}, Punches: ps, Skipped: skipped,
		From: mark.Count, New: mark.Count, Mark: device.Mark{Count: mark.Count + n, Last: last}, At: s.now()}
	r.Duration = r.At.Sub(start)
	if err := s.sink.Pulled(ctx, r); err != nil {
		s.clockError(clock, "store")
		return err
	}
	s.seen[clock] = r.At
	s.met.Pulled(clock, r)
	if s.obs != nil {
		s.obs.ClockUp(clock, true)
		s.obs.Pulled(clock, r)
	}
	return nil
}

// Users implements zkpush.Sink: the changes an OPERLOG upload states are applied to the clock's
// stored user table, and the table that results goes through ingest like a polled clock's (the
// same decision of user_enrolled, user_removed and admin_changed alerts against the stored one).
// The first table a device states is the one later changes are compared with: it raises nothing.
// The log's mark is left as it is, and the sync point is the last upload or heartbeat's (now only
// when there was none since the start, as for a heartbeat): the operation log says nothing about
// which punches were sent.
func (s *Server) Users(ctx context.Context, clock, serial string, changes []zkpush.UserChange) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	stored, err := s.sink.ClockUsers(clock)
	if err != nil {
		return fmt.Errorf("clock %s: read the stored user table: %w", clock, err)
	}
	mark := s.sink.Mark(clock)
	r := pull.Pull{Clock: clock, Info: device.Info{Serial: serial, Records: mark.Count}, From: mark.Count, New: mark.Count,
		Mark: mark, Users: zkpush.ApplyUserChanges(stored, changes), At: s.now()}
	if seen := s.seen[clock]; !seen.IsZero() {
		r.Duration = r.At.Sub(seen)
	}
	if err := s.sink.Pulled(ctx, r); err != nil {
		s.clockError(clock, "store")
		return err
	}
	return nil
}

// Seen implements zkpush.Sink: a device asking for commands has sent what it held, so at most
// every SyncEvery it marks the clock synced up to now (an empty upload).
func (s *Server) Seen(ctx context.Context, clock, serial string) {
	s.mu.Lock()
	due := s.now().Sub(s.seen[clock]) >= s.cfg[clock].SyncEvery
	s.mu.Unlock()
	if !due {
		return
	}
	if err := s.Upload(ctx, clock, serial, nil, nil); err != nil {
		s.log.Warn("mark push device synced", "clock", clock, "err", err)
	}
}

// contacted notes a request from a configured device; a clock reported down for silence is up again.
func (s *Server) contacted(clock string) {
	s.cmu.Lock()
	s.contact[clock] = s.now()
	back := s.silent[clock]
	delete(s.silent, clock)
	s.cmu.Unlock()
	if back {
		s.clockUp(clock, true)
	}
}

// checkSilent reports down, once, the clocks whose devices have not called for SilentAfter.
func (s *Server) checkSilent() {
	now := s.now()
	var gone []string
	s.cmu.Lock()
	for clock, at := range s.contact {
		if !s.silent[clock] && now.Sub(at) >= SilentAfter {
			s.silent[clock] = true
			gone = append(gone, clock)
		}
	}
	s.cmu.Unlock()
	for _, clock := range gone {
		s.log.Warn("push device silent: no request for a while (off, unplugged or its server setting changed)", "clock", clock, "after", SilentAfter)
		s.clockError(clock, "timeout")
		s.clockUp(clock, false)
	}
}

// clockUp and clockError count what happened to a device's clock and tell the observer, as a
// pull loop does.
func (s *Server) clockUp(clock string, up bool) {
	s.met.Up(clock, up)
	if s.obs != nil {
		s.obs.ClockUp(clock, up)
	}
}

func (s *Server) clockError(clock, reason string) {
	s.met.Error(clock, reason)
	if s.obs != nil {
		s.obs.ClockError(clock, reason)
	}
}

type observer struct {
	s       *Server
	devices map[string]string
}

func (o observer) Request(serial, endpoint, result string) {
	clock, ok := o.devices[serial]
	if !ok {
		clock = "unknown"
	} else {
		o.s.contacted(clock)
	}
	o.s.requests.WithLabelValues(clock, endpoint, result).Inc()
}

var _ zkpush.Sink = (*Server)(nil)
