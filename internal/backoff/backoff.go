// Package backoff provides jittered exponential back-off with context-aware sleeps, shared by the
// loops that reconnect to clocks and brokers.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff doubles its delay after each failure, from Min up to Max, with ±20% jitter so that many
// daemons restarted together do not retry in step. The zero value is not usable; use New.
type Backoff struct {
	Min, Max time.Duration
	cur      time.Duration
}

// New returns a Backoff starting at min and capped at max.
func New(min, max time.Duration) *Backoff { return &Backoff{Min: min, Max: max} }

// Next returns the delay to wait before the next attempt and advances the sequence.
func (b *Backoff) Next() time.Duration {
	if b.cur < b.Min {
		b.cur = b.Min
	} else {
		b.cur *= 2
		if b.cur > b.Max {
			b.cur = b.Max
		}
	}
	j := float64(b.cur) * (0.8 + 0.4*rand.Float64())
	return time.Duration(j)
}

// Reset starts the sequence again after a success.
func (b *Backoff) Reset() { b.cur = 0 }

// Sleep waits d or until ctx is done, and reports whether the full delay elapsed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
