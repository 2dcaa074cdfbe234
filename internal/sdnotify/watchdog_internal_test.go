package sdnotify

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jinbi/punchd/internal/health"
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

// TestDeadlockedLoopStarvesWatchdog wires the real liveness registry to the
// watchdog loop, on a fake clock: a loop that beats keeps systemd fed; once
// it deadlocks (stops beating while its goroutine still exists), pings stop
// within its allowed interval plus one watchdog period and never resume, so
// systemd's WatchdogSec restarts the daemon.
func TestDeadlockedLoopStarvesWatchdog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		live := health.NewLiveness(time.Now, time.Minute)
		live.Register("pull/dangzhengban", 30*time.Second)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()

		stuck := make(chan struct{})
		never := make(chan struct{}) // stands for a lock nobody releases (a channel, so synctest sees it blocked)
		go func() {
			tick := time.NewTicker(10 * time.Second)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-stuck:
					<-never // deadlocked: the goroutine lives on, its beats stop
				case <-tick.C:
					live.Beat("pull/dangzhengban")
				}
			}
		}()

		var last atomic.Int64 // fake-clock time of the last ping, in seconds since start
		start := time.Now()
		var pings atomic.Int32
		go runWatchdog(ctx, 15*time.Second, live.Healthy,
			func() error { pings.Add(1); last.Store(int64(time.Since(start) / time.Second)); return nil },
			func(string) error { return nil })

		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if got := pings.Load(); got != 41 { // at 0, 15 s, …, 600 s
			t.Fatalf("healthy for 10 min: %d pings, want 41", got)
		}
		close(stuck)
		deadlockAt := int64(time.Since(start) / time.Second)
		time.Sleep(time.Hour)
		synctest.Wait()
		if got := last.Load(); got > deadlockAt+30+15 {
			t.Fatalf("watchdog fed at %d s, deadlock at %d s: fed past the loop's 30 s allowance plus one period", got, deadlockAt)
		}
		if live.Healthy() {
			t.Fatal("liveness still healthy an hour after the loop deadlocked")
		}
		cancel()
		close(never)
	})
}
