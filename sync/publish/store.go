package publish

import (
	"fmt"
	"time"

	"github.com/jinbi/punchd/internal/store"
)

// StoreMethods are the outbox methods of *store.DB.
type StoreMethods interface {
	OutboxPeek(n int) ([]store.OutboxEntry, error)
	OutboxDelete(seqs ...uint64) error
	OutboxStats() (count int, oldest time.Time, err error)
	OutboxTrim(maxEntries int, maxAge time.Duration, now time.Time) (int, error)
}

var _ StoreMethods = (*store.DB)(nil)

// FromStore adapts the store's outbox (a *store.DB) to Outbox.
func FromStore(s StoreMethods) Outbox { return storeOutbox{s} }

type storeOutbox struct{ s StoreMethods }

func (o storeOutbox) Peek(n int) ([]Entry, error) {
	in, err := o.s.OutboxPeek(n)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, len(in))
	for i, e := range in {
		key := e.Key
		if e.EventID != "" {
			key = fmt.Sprintf("%s rev %d", e.EventID, e.Rev)
		}
		out[i] = Entry{Seq: e.Seq, Topic: e.Topic, Payload: e.Payload, Retained: e.Retained,
			EnqueuedAt: e.EnqueuedAt, Key: key}
	}
	return out, nil
}

func (o storeOutbox) Delete(seqs ...uint64) error { return o.s.OutboxDelete(seqs...) }

func (o storeOutbox) Stats() (int, time.Time, error) { return o.s.OutboxStats() }

func (o storeOutbox) Trim(maxEntries int, maxAge time.Duration, now time.Time) (int, error) {
	return o.s.OutboxTrim(maxEntries, maxAge, now)
}
