package sdnotify

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestWatchdogSilentWhileUnhealthy uses a fake clock (synctest) to show that
// no ping at all is sent while the loops are stalled, however long that
// lasts: systemd must be left to restart the daemon.
func TestWatchdogSilentWhileUnhealthy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var pings, statuses atomic.Int32
		var healthy atomic.Bool
		healthy.Store(true)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			done <- runWatchdog(ctx, 15*time.Second, healthy.Load,
				func() error { pings.Add(1); return nil },
				func(string) error { statuses.Add(1); return nil })
		}()
		synctest.Wait()
		if got := pings.Load(); got != 1 {
			t.Fatalf("at start: %d pings, want 1", got)
		}
		time.Sleep(60 * time.Second) // four more ticks
		synctest.Wait()
		if got := pings.Load(); got != 5 {
			t.Fatalf("after 60 s healthy: %d pings, want 5", got)
		}
		healthy.Store(false)
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if got := pings.Load(); got != 5 {
			t.Fatalf("pinged while unhealthy: %d pings, want 5", got)
		}
		if got := statuses.Load(); got != 1 {
			t.Fatalf("status sent %d times while unhealthy, want once", got)
		}
		healthy.Store(true)
		time.Sleep(15 * time.Second)
		synctest.Wait()
		if got := pings.Load(); got != 6 {
			t.Fatalf("after recovery: %d pings, want 6", got)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("returned %v", err)
		}
	})
}

// TestWatchdogSendErrorsDoNotStop: a failing socket does not end the loop.
func TestWatchdogSendErrorsDoNotStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tries atomic.Int32
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			done <- runWatchdog(ctx, time.Second, func() bool { return true },
				func() error { tries.Add(1); return errors.New("connection refused") },
				func(string) error { return nil })
		}()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := tries.Load(); got != 11 {
			t.Fatalf("%d tries, want 11", got)
		}
		cancel()
		<-done
	})
}
