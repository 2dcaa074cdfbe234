// Package publish is the outbox → MQTT loop: it takes entries from the durable outbox oldest
// first, publishes them at Options.QoS ([mqtt] qos, 1 by default) within a small in-flight window,
// and deletes an entry only after the broker acknowledged it on the connection it was sent on (at
// QoS 0 there is no acknowledgement: once the packet is written to the socket). It also keeps the daemon's
// retained presence on {prefix}/status ("online" on connect, "offline" as Last Will and on a
// clean shutdown) and bounds the outbox by size and age.
//
// It owns the MQTT connection and nothing else: it never writes the outbox except to delete
// acknowledged entries and to trim it, and it never builds payloads (internal/event does). It
// counts what it does in its own Metrics.
//
// # Why its own reconnect loop
//
// paho's auto-reconnect re-queues unacknowledged publishes on the new connection and completes
// their tokens without error, so a completed token would not prove the broker has the message.
// Every connection here is a fresh client with AutoReconnect, ConnectRetry off and CleanSession
// on; when it dies, the unacknowledged entries are still in the outbox and are sent again on the
// next connection. A consumer may therefore see an event twice, always with the same id.
package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/jinbi/punchd/internal/backoff"
	"github.com/jinbi/punchd/internal/event"
)

// Entry is one message waiting in the outbox.
type Entry struct {
	Seq        uint64 // position in the outbox; oldest first
	Topic      string
	Payload    []byte
	Retained   bool
	EnqueuedAt time.Time
	Key        string // the producer's key (e.g. event id and rev); for logs only
}

// Outbox is the durable queue the publisher drains. Implementations must be safe for concurrent
// use: Trim and Stats run beside Peek and Delete.
type Outbox interface {
	// Peek returns up to n entries, oldest first, without removing them.
	Peek(n int) ([]Entry, error)
	// Delete removes the entries with these sequence numbers; unknown ones are ignored.
	Delete(seqs ...uint64) error
	// Stats returns the number of entries and the enqueue time of the oldest (zero when empty).
	Stats() (count int, oldest time.Time, err error)
	// Trim drops the oldest entries beyond maxEntries and those enqueued before now-maxAge
	// (zero: no bound of that kind) and returns how many it dropped.
	Trim(maxEntries int, maxAge time.Duration, now time.Time) (int, error)
}

// Publisher drains an Outbox to an MQTT broker. Create it with New and call Run once; Notify
// and Connected may be called from any goroutine.
type Publisher struct {
	ob  Outbox
	o   Options
	log *slog.Logger

	wake      chan struct{}
	connected atomic.Bool
	connGen   atomic.Uint64 // incremented for every connection; results carry the one they were sent on
}

// New checks the options (applying defaults to zero values), reads the password file and the
// TLS files, and returns a Publisher that has not connected yet.
func New(ob Outbox, o Options) (*Publisher, error) {
	if ob == nil {
		return nil, fmt.Errorf("%w: no outbox", ErrConfig)
	}
	o.applyDefaults()
	if err := o.Check(); err != nil {
		return nil, err
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(prometheus.NewRegistry(), o.Now)
	}
	return &Publisher{
		ob: ob, o: o,
		log:  o.Logger.With("broker", o.Broker, "client_id", o.ClientID),
		wake: make(chan struct{}, 1),
	}, nil
}

// Notify wakes the publisher after the daemon enqueued entries. It never blocks and may be
// called from any goroutine, before or during Run.
func (p *Publisher) Notify() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Connected reports whether a connection is up and its "online" status was acknowledged.
func (p *Publisher) Connected() bool { return p.connected.Load() }

// Shutdown budget: Run returns within about this long after ctx is done.
const (
	drainOnShutdown   = 400 * time.Millisecond // publishing what is in flight or queued, and waiting for its acknowledgements
	offlineOnShutdown = 400 * time.Millisecond // waiting for "offline" to be acknowledged
	quiesceOnShutdown = 200                    // milliseconds paho waits for the DISCONNECT to go out
)

// Run connects, drains the outbox and reconnects after failures with a jittered, doubling
// back-off, until ctx is done. Then it goes on draining briefly (what is in flight and what is
// still queued), publishes "offline" (retained) and disconnects; it returns nil within about 1 s plus WriteTimeout
// (a publish being handed to a stalled socket) plus one outbox delete.
// Outbox and broker failures are logged and counted, never returned.
func (p *Publisher) Run(ctx context.Context) error {
	housekeeping := make(chan struct{})
	go func() { defer close(housekeeping); p.housekeep(ctx) }()
	defer func() { <-housekeeping }()

	// The logs say when the broker goes away (WARN, once, with the error) and when it is back
	// (INFO, once, with how long it was gone); the attempts in between are at DEBUG.
	failures := 0
	bo := backoff.New(p.o.BackoffMin, p.o.BackoffMax)
	everUp := false
	var downSince time.Time
	down := func(msg string, err error, retryIn time.Duration) {
		if downSince.IsZero() {
			downSince = p.o.Now()
			p.log.Warn(msg, "err", err, "retry_in", retryIn.Round(time.Millisecond))
			return
		}
		p.log.Debug("mqtt still down", "err", err, "attempt", failures,
			"down_for", p.o.Now().Sub(downSince).Round(time.Second), "retry_in", retryIn.Round(time.Millisecond))
	}
	for ctx.Err() == nil {
		c, lost, err := p.connect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			failures++
			p.o.Metrics.errors.WithLabelValues(errOther).Inc()
			d := bo.Next()
			down("mqtt broker unreachable", err, d)
			backoff.Sleep(ctx, d)
			continue
		}
		if everUp || failures > 0 {
			p.o.Metrics.reconnects.Inc()
		}
		everUp, failures = true, 0
		bo.Reset()
		p.connected.Store(true)
		p.o.Metrics.connected.Set(1)
		if downSince.IsZero() {
			p.log.Info("mqtt connected")
		} else {
			p.log.Info("mqtt connected", "down_for", p.o.Now().Sub(downSince).Round(time.Second))
			downSince = time.Time{}
		}

		err = p.session(ctx, c, lost)
		p.connected.Store(false)
		p.o.Metrics.connected.Set(0)
		if err == nil || ctx.Err() != nil {
			break
		}
		failures = 1
		d := bo.Next()
		down("mqtt connection lost", err, d)
		backoff.Sleep(ctx, d)
	}
	return nil
}

// connect makes a fresh client, connects it and waits for "online" to be acknowledged.
// lost is closed when that connection dies.
func (p *Publisher) connect(ctx context.Context) (mqtt.Client, <-chan struct{}, error) {
	opts, err := p.o.ClientOptions() // read again: a renewed certificate or password is picked up
	if err != nil {
		return nil, nil, err
	}
	will, err := json.Marshal(event.Status{State: event.StateOffline, Version: p.o.Version, Reason: "lost"})
	if err != nil {
		return nil, nil, err
	}
	lost := make(chan struct{})
	var lostOnce atomic.Bool
	opts.SetClientID(p.o.ClientID).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetOrderMatters(false).
		SetKeepAlive(p.o.KeepAlive).
		SetPingTimeout(p.o.AckTimeout).
		SetConnectTimeout(p.o.ConnectTimeout).
		SetWriteTimeout(p.o.WriteTimeout).
		SetMaxReconnectInterval(p.o.BackoffMax).
		SetBinaryWill(event.StatusTopic(p.o.Prefix), will, 1, true).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			if lostOnce.CompareAndSwap(false, true) {
				p.log.Debug("mqtt connection lost", "err", err) // Run logs the change
				close(lost)
			}
		})
	c := mqtt.NewClient(opts)
	tok := c.Connect()
	if err := waitToken(ctx, tok, p.o.ConnectTimeout+time.Second); err != nil {
		// A connect still in progress finishes in the background; make sure it does not linger.
		go func() {
			tok.WaitTimeout(p.o.ConnectTimeout + time.Second)
			c.Disconnect(0)
		}()
		return nil, nil, fmt.Errorf("mqtt %s: connect: %w", p.o.Broker, err)
	}
	if err := p.publishStatus(ctx, c, event.StateOnline, "", p.o.AckTimeout); err != nil {
		c.Disconnect(0)
		p.o.Metrics.errors.WithLabelValues(errOther).Inc()
		return nil, nil, fmt.Errorf("mqtt %s: publish online status: %w", p.o.Broker, err)
	}
	p.connGen.Add(1)
	return c, lost, nil
}

func (p *Publisher) publishStatus(ctx context.Context, c mqtt.Client, state, reason string, timeout time.Duration) error {
	payload, err := json.Marshal(event.Status{
		State: state, Since: p.o.Now().Format(time.RFC3339), Version: p.o.Version, Reason: reason,
	})
	if err != nil {
		return err
	}
	return waitToken(ctx, c.Publish(event.StatusTopic(p.o.Prefix), 1, true, payload), timeout)
}

// errAckTimeout: the broker did not acknowledge within AckTimeout.
var errAckTimeout = errors.New("no acknowledgement within ack timeout")

// waitToken waits for tok up to timeout or until ctx is done. Never a blocking Wait.
func waitToken(ctx context.Context, tok mqtt.Token, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-t.C:
		return errAckTimeout
	case <-ctx.Done():
		return ctx.Err()
	}
}

// result is the outcome of one publish, tagged with the connection it was sent on.
type result struct {
	seq   uint64
	gen   uint64
	topic string
	sent  time.Time
	err   error
}

// session is the state of draining over one connection.
//
// Entries move: outbox → inflight (published, token pending) → acked (acknowledged on this
// connection, not yet deleted) → deleting (handed to the deleter goroutine) → gone. Peek skips
// every entry in any of these sets, so nothing is published twice on one connection. Deletes run
// beside the publishing, so an fsync does not stall the window.
type session struct {
	p    *Publisher
	c    mqtt.Client
	lost <-chan struct{}
	gen  uint64

	results  chan result
	queue    []Entry // read ahead from the outbox, not yet published on this connection
	inflight map[uint64]struct{}
	acked    []uint64
	held     map[uint64]struct{} // acked or deleting: acknowledged, still in the outbox
	toDelete chan []uint64       // to the deleter; cap 1, at most one batch outstanding
	deleted  chan deleteResult
	deleting bool
	failure  error
}

type deleteResult struct {
	seqs []uint64
	err  error
}

// session drains the outbox over one connection. It returns nil after a clean shutdown (ctx
// done) and an error when the connection failed; either way the client is disconnected.
func (p *Publisher) session(ctx context.Context, c mqtt.Client, lost <-chan struct{}) error {
	s := &session{
		p: p, c: c, lost: lost, gen: p.connGen.Load(),
		// Buffered for the whole window: waiters of an abandoned session never block.
		results:  make(chan result, p.o.Inflight),
		inflight: make(map[uint64]struct{}, p.o.Inflight),
		held:     make(map[uint64]struct{}),
		toDelete: make(chan []uint64, 1),
		deleted:  make(chan deleteResult, 1),
	}
	deleterDone := make(chan struct{})
	go func() {
		defer close(deleterDone)
		for seqs := range s.toDelete {
			s.deleted <- deleteResult{seqs, p.ob.Delete(seqs...)}
		}
	}()
	defer func() {
		// Every acknowledged entry is deleted before the session ends.
		s.waitDeleter()
		s.flushDeletes()
		s.waitDeleter()
		close(s.toDelete)
		<-deleterDone
	}()

	poll := time.NewTicker(p.o.PollInterval)
	defer poll.Stop()
	for {
		if s.failure == nil {
			s.fill()
		}
		s.flushDeletes()
		if s.failure != nil {
			c.Disconnect(0)
			return s.failure
		}
		select {
		case r := <-s.results:
			s.handle(r)
			s.drainResults()
		case d := <-s.deleted:
			s.deleteDone(d)
		case <-p.wake:
		case <-poll.C:
		case <-lost:
			s.drainResults() // none of these count: see handle
			p.o.Metrics.errors.WithLabelValues(errDisconnected).Inc()
			return fmt.Errorf("mqtt %s: connection lost with %d publishes unacknowledged", p.o.Broker, len(s.inflight))
		case <-ctx.Done():
			s.shutdown()
			return nil
		}
	}
}

// fill publishes the oldest entries not in flight or held until the window is full. Entries
// are read ahead into a queue so that the outbox is not read again for every acknowledgement.
func (s *session) fill() {
	p := s.p
	window := p.o.Inflight
	for len(s.inflight) < window {
		if len(s.queue) == 0 {
			entries, err := p.ob.Peek(len(s.inflight) + len(s.held) + max(4*window, 64))
			if err != nil {
				p.o.Metrics.errors.WithLabelValues(errOther).Inc()
				p.log.Error("outbox peek failed", "err", err)
				return
			}
			for _, e := range entries {
				_, busy := s.inflight[e.Seq]
				_, held := s.held[e.Seq]
				if !busy && !held {
					s.queue = append(s.queue, e)
				}
			}
			if len(s.queue) == 0 {
				return
			}
		}
		e := s.queue[0]
		s.queue = s.queue[1:]
		sent := time.Now()
		// Publish hands the packet to paho's writer; it blocks at most WriteTimeout.
		tok := s.c.Publish(e.Topic, p.o.QoS, e.Retained, e.Payload)
		s.inflight[e.Seq] = struct{}{}
		p.log.Debug("mqtt publish", "seq", e.Seq, "topic", e.Topic, "key", e.Key)
		if h := p.o.OnSend; h != nil {
			h(e.Topic, e.Payload)
		}
		go func(seq uint64, gen uint64, topic string) {
			var err error
			if !tok.WaitTimeout(p.o.AckTimeout) {
				err = errAckTimeout
			} else {
				err = tok.Error()
			}
			s.results <- result{seq: seq, gen: gen, topic: topic, sent: sent, err: err}
		}(e.Seq, s.gen, e.Topic)
	}
}

// handle takes the outcome of one publish.
func (s *session) handle(r result) {
	p := s.p
	delete(s.inflight, r.seq)
	select {
	case <-s.lost:
		// The connection is gone. paho completes the tokens of a dead connection while tearing
		// it down, and a result handled now cannot show it was acknowledged before the loss:
		// the entry stays and is sent again (a duplicate with the same id, never a loss).
		return
	default:
	}
	switch {
	case r.gen != s.gen:
		// Sent on a connection that has been replaced: not an acknowledgement.
	case r.err == nil:
		s.acked = append(s.acked, r.seq)
		s.held[r.seq] = struct{}{}
		p.o.Metrics.published(p.o.Prefix, r.topic, time.Since(r.sent))
	case errors.Is(r.err, errAckTimeout):
		p.o.Metrics.errors.WithLabelValues(errTimeout).Inc()
		if s.failure == nil {
			s.failure = fmt.Errorf("mqtt %s: entry %d: %w (%s)", p.o.Broker, r.seq, r.err, p.o.AckTimeout)
		}
	default:
		// paho fails the publishes of a connection it is tearing down ("connection lost before
		// Publish completed") after it marked the connection closed: those are not refusals.
		reason := errRejected
		if errors.Is(r.err, mqtt.ErrNotConnected) || !s.c.IsConnectionOpen() {
			reason = errDisconnected
		}
		p.o.Metrics.errors.WithLabelValues(reason).Inc()
		if s.failure == nil {
			s.failure = fmt.Errorf("mqtt %s: publish entry %d: %w", p.o.Broker, r.seq, r.err)
		}
	}
}

func (s *session) drainResults() {
	for {
		select {
		case r := <-s.results:
			s.handle(r)
		default:
			return
		}
	}
}

// flushDeletes hands the acknowledged entries to the deleter unless it is busy (then they go
// with the next batch, so batches grow while the disk is slow).
func (s *session) flushDeletes() {
	if s.deleting || len(s.acked) == 0 {
		return
	}
	s.deleting = true
	s.toDelete <- s.acked
	s.acked = nil
}

func (s *session) deleteDone(d deleteResult) {
	s.deleting = false
	if d.err != nil {
		// The broker has them; keep them held and retry with the next batch. If the daemon stops
		// first they are published again (same id) after the restart.
		s.p.o.Metrics.errors.WithLabelValues(errOther).Inc()
		s.p.log.Error("outbox delete failed", "err", d.err, "entries", len(d.seqs))
		s.acked = append(s.acked, d.seqs...)
		return
	}
	for _, seq := range d.seqs {
		delete(s.held, seq)
	}
}

// waitDeleter waits for an outstanding delete batch.
func (s *session) waitDeleter() {
	if s.deleting {
		s.deleteDone(<-s.deleted)
	}
}

// shutdown goes on publishing for a little while — what is in flight, and what was queued last,
// such as the clocks' retained status at a daemon's stop — deletes what was acknowledged,
// publishes "offline" and disconnects.
func (s *session) shutdown() {
	p := s.p
	deadline := time.NewTimer(drainOnShutdown)
	defer deadline.Stop()
wait:
	for {
		if s.failure == nil {
			s.fill()
		}
		s.flushDeletes()
		if len(s.inflight) == 0 || s.failure != nil {
			break
		}
		select {
		case r := <-s.results:
			s.handle(r)
		case d := <-s.deleted:
			s.deleteDone(d)
		case <-s.lost:
			break wait
		case <-deadline.C:
			break wait
		}
	}
	select {
	case <-s.lost:
		return
	default:
	}
	if err := p.publishStatus(context.Background(), s.c, event.StateOffline, "shutdown", offlineOnShutdown); err != nil {
		p.o.Metrics.errors.WithLabelValues(errOther).Inc()
		p.log.Warn("mqtt offline status not acknowledged", "err", err)
	}
	s.c.Disconnect(quiesceOnShutdown)
	p.log.Info("mqtt disconnected", "unacknowledged", len(s.inflight))
}

// housekeep trims the outbox and reports its depth every PollInterval, connected or not.
func (p *Publisher) housekeep(ctx context.Context) {
	t := time.NewTicker(p.o.PollInterval)
	defer t.Stop()
	for {
		p.trim()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *Publisher) trim() {
	count, oldest, err := p.ob.Stats()
	if err != nil {
		p.o.Metrics.errors.WithLabelValues(errOther).Inc()
		p.log.Error("outbox stats failed", "err", err)
		return
	}
	now := p.o.Now()
	over := (p.o.MaxEntries > 0 && count > p.o.MaxEntries) ||
		(p.o.MaxAge > 0 && !oldest.IsZero() && now.Sub(oldest) > p.o.MaxAge)
	if over {
		reason := dropSize
		if p.o.MaxEntries <= 0 || count <= p.o.MaxEntries {
			reason = dropAge
		}
		// Only then: a trim is a write transaction (an fsync), not something to do every poll.
		n, err := p.ob.Trim(p.o.MaxEntries, p.o.MaxAge, now)
		if err != nil {
			p.o.Metrics.errors.WithLabelValues(errOther).Inc()
			p.log.Error("outbox trim failed", "err", err)
		} else if n > 0 {
			p.log.Warn("outbox over its bounds: dropped unsent entries", "dropped", n,
				"max_entries", p.o.MaxEntries, "max_age", p.o.MaxAge)
			p.o.Metrics.dropped.WithLabelValues(reason).Add(float64(n))
		}
		if count, oldest, err = p.ob.Stats(); err != nil {
			p.o.Metrics.errors.WithLabelValues(errOther).Inc()
			p.log.Error("outbox stats failed", "err", err)
			return
		}
	}
	p.o.Metrics.outbox(count, oldest)
	if h := p.o.OnPoll; h != nil {
		h()
	}
}
