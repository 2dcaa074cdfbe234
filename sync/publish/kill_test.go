package publish_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jinbi/punchd/internal/event"
	"github.com/jinbi/punchd/internal/mqtttest"
	"github.com/jinbi/punchd/internal/store"
	"github.com/jinbi/punchd/sync/publish"
)

// TestHelperPublisher is the child of TestSIGKILLMidPublish: it drains the store named by
// PUNCHD_TEST_STORE to PUNCHD_TEST_BROKER until it is killed.
func TestHelperPublisher(t *testing.T) {
	path, broker := os.Getenv("PUNCHD_TEST_STORE"), os.Getenv("PUNCHD_TEST_BROKER")
	if path == "" {
		t.Skip("helper process for TestSIGKILLMidPublish")
	}
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := fastOptions(t, broker)
	o.Inflight = 2
	p, err := publish.New(publish.FromStore(db), o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	_ = p.Run(ctx)
}

// TestSIGKILLMidPublish: a publisher process killed with SIGKILL mid-drain. Every entry gone from
// the store reached the broker; the rest is published by the next run; the broker published the
// Last Will; a consumer sees only ids that were enqueued.
func TestSIGKILLMidPublish(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process")
	}
	b := mqtttest.Start(t)
	sub := subscribe(t, b.URL(), "sub-kill", prefix+"/#", true)
	path := filepath.Join(t.TempDir(), "punchd.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := enqueueStore(t, db, 3000)
	seqID := map[uint64]string{}
	all, err := db.OutboxPeek(10_000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		seqID[e.Seq] = e.EventID
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPublisher$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PUNCHD_TEST_STORE="+path, "PUNCHD_TEST_BROKER="+b.URL())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the child published some events", 20*time.Second, func() bool { return len(sub.idCounts()) >= 300 }, sub.got)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	db, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer db.Close()
	left, err := db.OutboxPeek(10_000)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) == 0 || len(left) == len(want) {
		t.Fatalf("%d of %d entries left: the kill did not land mid-drain", len(left), len(want))
	}
	remaining := map[uint64]bool{}
	for _, e := range left {
		remaining[e.Seq] = true
	}
	waitFor(t, "every deleted entry received", 10*time.Second, func() bool {
		got := sub.idCounts()
		for seq, id := range seqID {
			if !remaining[seq] && got[id] == 0 {
				return false
			}
		}
		return true
	}, sub.got)
	waitFor(t, "Last Will after SIGKILL", 10*time.Second, func() bool {
		for _, raw := range sub.payloads(event.StatusTopic(prefix)) {
			var st event.Status
			if json.Unmarshal(raw, &st) == nil && st.Reason == "lost" {
				return true
			}
		}
		return false
	}, sub.got)

	p, err := publish.New(publish.FromStore(db), fastOptions(t, b.URL()))
	if err != nil {
		t.Fatal(err)
	}
	run(t, p)
	waitFor(t, "the rest drained by the next run", 20*time.Second, func() bool {
		n, _, err := db.OutboxStats()
		return err == nil && n == 0
	})
	waitFor(t, "every id received", 20*time.Second, func() bool { return len(sub.idCounts()) == len(want) }, sub.got)
	dups := 0
	for id, n := range sub.idCounts() {
		if !want[id] {
			t.Errorf("received id %s that was never enqueued", id)
		}
		dups += n - 1
	}
	t.Logf("SIGKILL with %d of %d entries left; %d duplicates (same id) after the restart", len(left), len(want), dups)
}
