package backoff

import (
	"context"
	"testing"
	"time"
)

func TestNextDoublesWithinJitterUpToMax(t *testing.T) {
	b := New(time.Second, 8*time.Second)
	for i, base := range []time.Duration{1, 2, 4, 8, 8, 8} {
		d := b.Next()
		lo, hi := base*time.Second*8/10, base*time.Second*12/10
		if d < lo || d > hi {
			t.Fatalf("attempt %d: %v, want within ±20%% of %v", i+1, d, base*time.Second)
		}
	}
	b.Reset()
	if d := b.Next(); d > 1200*time.Millisecond {
		t.Fatalf("after Reset: %v, want about the minimum", d)
	}
}

func TestSleepReturnsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, time.Hour) {
		t.Fatal("Sleep reported a full delay on a cancelled context")
	}
	if !Sleep(context.Background(), time.Millisecond) {
		t.Fatal("Sleep did not complete a short delay")
	}
}
