package publish_test

import (
	"slices"
	"sync"
	"time"

	"github.com/jinbi/punchd/sync/publish"
)

// memOutbox is an in-memory Outbox: a fake with the store's contract, not a mock.
type memOutbox struct {
	mu       sync.Mutex
	next     uint64
	entries  []publish.Entry // ordered by Seq
	deleted  []uint64        // every seq ever deleted, in order
	changed  chan struct{}   // signalled (non-blocking) on every Delete
	failPeek error
}

var _ publish.Outbox = (*memOutbox)(nil)

func newMemOutbox() *memOutbox { return &memOutbox{changed: make(chan struct{}, 1)} }

func (m *memOutbox) add(topic string, payload []byte, retained bool, at time.Time) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	m.entries = append(m.entries, publish.Entry{
		Seq: m.next, Topic: topic, Payload: payload, Retained: retained, EnqueuedAt: at,
	})
	return m.next
}

func (m *memOutbox) Peek(n int) ([]publish.Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failPeek != nil {
		return nil, m.failPeek
	}
	n = min(n, len(m.entries))
	return slices.Clone(m.entries[:n]), nil
}

func (m *memOutbox) Delete(seqs ...uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	drop := make(map[uint64]bool, len(seqs))
	for _, s := range seqs {
		drop[s] = true
	}
	m.entries = slices.DeleteFunc(m.entries, func(e publish.Entry) bool {
		if drop[e.Seq] {
			m.deleted = append(m.deleted, e.Seq)
			return true
		}
		return false
	})
	select {
	case m.changed <- struct{}{}:
	default:
	}
	return nil
}

func (m *memOutbox) Stats() (int, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.entries) == 0 {
		return 0, time.Time{}, nil
	}
	return len(m.entries), m.entries[0].EnqueuedAt, nil
}

func (m *memOutbox) Trim(maxEntries int, maxAge time.Duration, now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	before := len(m.entries)
	if maxAge > 0 {
		cut := now.Add(-maxAge)
		m.entries = slices.DeleteFunc(m.entries, func(e publish.Entry) bool { return e.EnqueuedAt.Before(cut) })
	}
	if maxEntries > 0 && len(m.entries) > maxEntries {
		m.entries = slices.Clone(m.entries[len(m.entries)-maxEntries:])
	}
	return before - len(m.entries), nil
}

func (m *memOutbox) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

func (m *memOutbox) deletedSeqs() []uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.deleted)
}

func (m *memOutbox) remaining() []publish.Entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.entries)
}
