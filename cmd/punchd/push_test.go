package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
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
	// Its operation log: the first table it states is the baseline (no alert); then a user enrolled,
	// one removed and one made an administrator at its keypad reach the clock's alerts topic over
	// the broker, as a polled clock's do, each once.
	alerts := watch(t, r.broker.URL(), event.ClockAlertsTopic("punchd/jinbi", "tuishui")).sub
	dev.SetUsers([]pushsim.User{{UserID: "P900", Name: "张三"}, {UserID: "P901", Name: "李四"}, {UserID: "P902", Name: "王五"}}, at(9, 0))
	if _, err := dev.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	dev.SetUsers([]pushsim.User{{UserID: "P900", Name: "张三", Privilege: 14}, {UserID: "P902", Name: "王五"}, {UserID: "P903", Name: "赵六"}}, at(9, 30))
	if _, err := dev.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := []string{"admin_changed P900 14 0", "user_enrolled P903 0 -", "user_removed P901 0 -"}
	var got []string
	waitFor(t, fmt.Sprintf("alerts %v", want), 10*time.Second, func() bool {
		got = got[:0]
		for _, m := range alerts.Messages() {
			var a event.ClockAlert
			if err := json.Unmarshal(m.Payload, &a); err != nil {
				t.Fatalf("alert %s: %v", m.Payload, err)
			}
			was := "-"
			if a.PrivilegeWas != nil {
				was = fmt.Sprint(*a.PrivilegeWas)
			}
			got = append(got, fmt.Sprintf("%s %s %d %s", a.Kind, a.UserID, *a.Privilege, was))
			if a.Clock != "tuishui" || a.Serial != "PUSH0001" || a.ID == "" {
				t.Errorf("alert %s: clock, serial or id wrong", m.Payload)
			}
		}
		slices.Sort(got)
		return len(got) >= len(want)
	})
	if !slices.Equal(got, want) {
		t.Errorf("alerts %v, want %v", got, want)
	}
	if n, err := dev.Sync(t.Context()); err != nil || n != 0 {
		t.Fatalf("a sync with nothing new sent %d, %v", n, err)
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
