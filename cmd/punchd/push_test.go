package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/jinbi/punchd/device/zkpush/pushsim"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/event"
)

// A ZK PUSH device beside the polled clock: its uploads go through the same ingest (a late punch is
// published at once with its verify method), a stranger's serial number is refused and counted,
// and the device is asked to resend only what follows the stamp punchd acknowledged.
func TestPushDevice(t *testing.T) {
	r := startRigWith(t, rigOptions{configure: func(c *config.Config) {
		pc := config.DefaultClock()
		pc.Name, pc.URL = "tuishui", "zk+push://127.0.0.1:0?sn=PUSH0001"
		c.Clock = append(c.Clock, pc)
	}})
	w := watch(t, r.broker.URL(), "punchd/jinbi/events/#")
	addr := r.addrs.Push["tuishui"]
	if addr == "" {
		t.Fatalf("no push address in %+v", r.addrs)
	}
	dev, err := pushsim.New("PUSH0001", "http://"+addr, 100)
	if err != nil {
		t.Fatal(err)
	}
	dev.Punch(pushsim.Record{UserID: "P900", Time: at(8, 52), Verify: 15})
	dev.Punch(pushsim.Record{UserID: "P901", Time: at(8, 20), Verify: 1})
	if n, err := dev.Sync(t.Context()); err != nil || n != 2 {
		t.Fatalf("sync sent %d, %v", n, err)
	}
	waitFor(t, "the late event of the pushed face punch", 10*time.Second, func() bool {
		return len(w.find(func(e event.Event) bool {
			return e.UserID == "P900" && e.Kind == "late" && e.Verify == "face" && e.Clock == "tuishui"
		})) == 1
	})
	if n, err := dev.Sync(t.Context()); err != nil || n != 0 {
		t.Fatalf("second sync sent %d, %v; want nothing (the stamp was acknowledged)", n, err)
	}
	stranger, _ := pushsim.New("EVIL0001", "http://"+addr, 100)
	if _, err := stranger.Sync(t.Context()); err == nil {
		t.Fatal("an unconfigured serial number was served")
	}
	if n := r.metric(t, `punchd_push_requests_total{clock="unknown",endpoint="cdata",result="unknown_sn"}`); n != 1 {
		t.Errorf("unknown serial counted %v times, want 1", n)
	}
	if n := r.metric(t, `punchd_push_requests_total{clock="tuishui",endpoint="cdata",result="ok"}`); n < 3 {
		t.Errorf("push requests ok = %v, want the two handshakes and the upload", n)
	}
	if n := r.metric(t, `punchd_punches_ingested_total{clock="tuishui",path="pull"}`); n != 2 {
		t.Errorf("punches ingested from the push device = %v, want 2", n)
	}
	st := r.status(t)
	for _, c := range st.Clocks {
		if c.Name == "tuishui" && (!c.Up || c.Serial != "PUSH0001") {
			t.Errorf("push clock status %+v: up, serial PUSH0001", c)
		}
	}
	// Its heartbeat is answered OK.
	resp, err := http.Get("http://" + addr + "/iclock/getrequest?SN=PUSH0001")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("getrequest: %d", resp.StatusCode)
	}
}
