package winsvc

import (
	"context"
	"log/slog"
	"strings"
)

// EventSink is the Windows event log as the handler writes to it; *eventlog.Log satisfies it.
type EventSink interface {
	Warning(eid uint32, msg string) error
	Error(eid uint32, msg string) error
}

// EventHandler is a slog.Handler that puts the daemon's warnings and errors in the event log,
// one event per record: the message, then its attributes as key=value (the event log keeps the
// time and the level itself). Below WARN it takes nothing: the log file has everything. It is safe
// for concurrent use if the sink is, as the event log is.
type EventHandler struct {
	sink  EventSink
	steps []step // the WithGroup and WithAttrs calls, in order, replayed on each record
}

// step is one WithGroup (group != "") or WithAttrs call.
type step struct {
	group string
	attrs []slog.Attr
}

var _ slog.Handler = (*EventHandler)(nil)

// NewEventHandler writes WARN and ERROR records to sink.
func NewEventHandler(sink EventSink) *EventHandler { return &EventHandler{sink: sink} }

// Enabled is true from WARN up.
func (h *EventHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

// Handle writes r as one event: an error from ERROR up, a warning below.
func (h *EventHandler) Handle(ctx context.Context, r slog.Record) error {
	var b strings.Builder
	var th slog.Handler = slog.NewTextHandler(&b, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey) {
				return slog.Attr{}
			}
			return a
		},
	})
	for _, s := range h.steps {
		if s.group != "" {
			th = th.WithGroup(s.group)
		} else {
			th = th.WithAttrs(s.attrs)
		}
	}
	if err := th.Handle(ctx, r); err != nil {
		return err
	}
	msg := r.Message
	if attrs := strings.TrimSuffix(b.String(), "\n"); attrs != "" {
		msg += "  " + attrs
	}
	if r.Level >= slog.LevelError {
		return h.sink.Error(EventError, msg)
	}
	return h.sink.Warning(EventWarning, msg)
}

// WithAttrs returns a handler whose records carry attrs too.
func (h *EventHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return h.with(step{attrs: attrs})
}

// WithGroup returns a handler whose later attributes are in the group name.
func (h *EventHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.with(step{group: name})
}

func (h *EventHandler) with(s step) *EventHandler {
	steps := make([]step, len(h.steps), len(h.steps)+1)
	copy(steps, h.steps)
	return &EventHandler{sink: h.sink, steps: append(steps, s)}
}
