package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jinbi/punchd/internal/audit"
	"github.com/jinbi/punchd/internal/event"
)

// feedItem is one message of the live feed: an anomaly event (the MQTT payload, unchanged) or an
// audit entry.
type feedItem struct {
	Kind    string // "event" or "audit"
	Key     string // id and rev: a message sent again after a lost connection is shown once
	Payload []byte
	Event   event.Event
	Audit   audit.Entry
}

// feed fans the publisher's messages out to the open /events/stream connections and keeps the
// last few for a page that opens later.
type feed struct {
	max int

	mu     sync.Mutex
	prefix string // [mqtt] topic_prefix; a reload may change it (setPrefix)
	recent []feedItem
	seen   map[string]bool
	subs   map[chan feedItem]struct{}
}

func newFeed(prefix string, max int) *feed {
	return &feed{prefix: prefix, max: max, seen: map[string]bool{}, subs: map[chan feedItem]struct{}{}}
}

// publish takes one message the publisher handed to the broker; others than events and audit
// entries are ignored. It never blocks: a subscriber that does not keep up loses messages.
func (f *feed) publish(topic string, payload []byte) {
	f.mu.Lock()
	prefix := f.prefix
	f.mu.Unlock()
	var it feedItem
	switch {
	case strings.HasPrefix(topic, prefix+"/events/"):
		if err := json.Unmarshal(payload, &it.Event); err != nil || it.Event.ID == "" {
			return
		}
		it.Kind, it.Key = "event", fmt.Sprintf("%s/%d", it.Event.ID, it.Event.Rev)
	case topic == audit.Topic(prefix):
		if err := json.Unmarshal(payload, &it.Audit); err != nil || it.Audit.ID == "" {
			return
		}
		it.Kind, it.Key = "audit", it.Audit.ID
	default:
		return
	}
	it.Payload = append([]byte(nil), payload...)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen[it.Key] {
		return
	}
	f.seen[it.Key] = true
	f.recent = append(f.recent, it)
	if len(f.recent) > f.max {
		delete(f.seen, f.recent[0].Key)
		f.recent = f.recent[1:]
	}
	for c := range f.subs {
		select {
		case c <- it:
		default:
		}
	}
}

// setPrefix follows a reload that changed [mqtt] topic_prefix.
func (f *feed) setPrefix(prefix string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prefix = prefix
}

func (f *feed) subscribe() chan feedItem {
	c := make(chan feedItem, 64)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs[c] = struct{}{}
	return c
}

// latest returns the recent messages, newest first.
func (f *feed) latest() []feedItem {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]feedItem, 0, len(f.recent))
	for i := len(f.recent) - 1; i >= 0; i-- {
		out = append(out, f.recent[i])
	}
	return out
}

func (f *feed) unsubscribe(c chan feedItem) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.subs, c)
}

// eventStream is the live feed as server-sent events: "event: event" with the MQTT event payload,
// "event: audit" with the audit entry, each with its id.
func (s *Server) eventStream(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	c := s.feed.subscribe()
	defer s.feed.unsubscribe(c)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	fmt.Fprintf(w, "retry: 5000\n: punchd live feed\n\n")
	fl.Flush()
	keepalive := time.NewTicker(25 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case it := <-c:
			fmt.Fprintf(w, "event: %s\nid: %s\ndata: %s\n\n", it.Kind, it.Key, it.Payload)
			fl.Flush()
		case <-keepalive.C:
			fmt.Fprintf(w, ": keepalive\n\n")
			fl.Flush()
		}
	}
}
