package zk

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/jinbi/punchd/device"
)

// Listen registers for attendance events (REG_EVENT EF_ATTLOG) and calls fn for each punch until
// ctx ends or the link is found dead. Every event is ACKed by the reader as it arrives; events the
// clock flags invalid/repeat, of unknown length or with impossible times are not delivered, only
// logged and counted (Stats). Duplicates are possible (a resent event); dedupe by Punch.Key.
// A heartbeat (GET_TIME every Heartbeat) notices a clock that went away: Listen then returns an
// error naming the step. fn runs on Listen's goroutine; other calls may be made meanwhile.
func (c *Client) Listen(ctx context.Context, fn func(device.Punch)) error {
	if !c.listening.CompareAndSwap(false, true) {
		return c.wrap("listen", ErrAlreadyListening)
	}
	defer c.listening.Store(false)
	// Events queued before we listened belong to nobody; start clean.
	for len(c.events) > 0 {
		<-c.events
	}
	var sn string
	if err := c.op(ctx, "register for events", func() error {
		var err error
		if sn, err = c.serialNumber(ctx); err != nil {
			return err
		}
		_, err = c.simple(ctx, CmdRegEvent, binary.LittleEndian.AppendUint32(nil, EFAttLog))
		return err
	}); err != nil {
		return err
	}
	defer func() {
		// Best effort: unregister so the clock stops queueing events for this session.
		uctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
		defer cancel()
		_ = c.op(uctx, "unregister events", func() error {
			_, err := c.simple(uctx, CmdRegEvent, make([]byte, 4))
			return err
		})
	}()

	every := c.Heartbeat
	if every <= 0 {
		every = DefaultHeartbeat
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.dead:
			return c.wrap("listen", c.deadError())
		case p := <-c.events:
			if pu, ok := c.eventPunch(p, sn); ok {
				fn(pu)
			}
		case <-tick.C:
			if err := c.op(ctx, "listen: heartbeat", func() error { _, _, err := c.getTime(ctx); return err }); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return err
			}
		}
	}
}

func (c *Client) eventPunch(p Packet, sn string) (device.Punch, bool) {
	if p.Session&EFAttLog == 0 {
		c.log.Debug("ignored event", "flag", p.Session, "len", len(p.Payload))
		return device.Punch{}, false
	}
	e, err := DecodeAttEvent(p.Payload, c.opts.Location)
	if err != nil {
		c.st.unknownEvents.Add(1)
		if errors.Is(err, ErrUnknownEventLength) {
			c.st.lastUnknownLen.Store(int64(len(p.Payload)))
		}
		c.log.Warn("undecodable attendance event", "len", len(p.Payload), "payload", fmt.Sprintf("% x", p.Payload), "err", err)
		return device.Punch{}, false
	}
	if e.Invalid {
		c.st.invalidEvents.Add(1)
		c.log.Info("attendance event flagged invalid/repeat by the clock, not delivered", "user_id", e.UserID, "time", e.Time)
		return device.Punch{}, false
	}
	return device.Punch{
		Clock: sn, UserID: e.UserID, Time: e.Time, State: e.State, Verify: e.Verify,
		WorkCode: e.WorkCode, Raw: append([]byte(nil), p.Payload...),
	}, true
}
