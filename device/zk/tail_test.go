package zk_test

import (
	"testing"
	"time"

	"github.com/jinbi/punchd/device/zk/zksim"
)

// PunchesFrom hands over exactly the records after an index, with the total, and the same
// punches as a whole read; an index past the end gives none.
func TestPunchesFromMatchesWholeRead(t *testing.T) {
	data := gen(t, zksim.GenConfig{People: 12, Days: 10, Start: time.Date(2026, 9, 1, 0, 0, 0, 0, shanghai), Seed: 4})
	sc := startSim(t, zksim.Config{Data: data})
	c := dial(t, "tcp", sc.tcp, opts())
	ctx := t.Context()
	all, err := c.Punches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, from := range []int{0, 1, len(all) / 2, len(all) - 1, len(all), len(all) + 5} {
		tail, total, err := c.PunchesFrom(ctx, from)
		if err != nil {
			t.Fatal(err)
		}
		if total != len(all) {
			t.Fatalf("from %d: total %d, want %d", from, total, len(all))
		}
		want := all[min(from, len(all)):]
		if len(tail) != len(want) {
			t.Fatalf("from %d: %d punches, want %d", from, len(tail), len(want))
		}
		for i := range tail {
			if tail[i].Key() != want[i].Key() || string(tail[i].Raw) != string(want[i].Raw) {
				t.Fatalf("from %d: punch %d = %+v, want %+v", from, i, tail[i], want[i])
			}
		}
	}
	// A new punch appears at the end of the tail.
	at := time.Date(2026, 9, 11, 8, 31, 0, 0, shanghai)
	if err := sc.sim.InjectPunch(data.Users[0].UserID, at, 0, 1); err != nil {
		t.Fatal(err)
	}
	tail, total, err := c.PunchesFrom(ctx, len(all))
	if err != nil || total != len(all)+1 || len(tail) != 1 || !tail[0].Time.Equal(at) || tail[0].UserID != data.Users[0].UserID {
		t.Fatalf("after one more punch: %d punches of %d (%v), %+v", len(tail), total, err, tail)
	}
}
