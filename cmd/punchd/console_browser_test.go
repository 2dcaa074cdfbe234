package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"github.com/jinbi/punchd/device/zk/zksim"
	"github.com/jinbi/punchd/device/zk/zksim/zksimtest"
	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/audit"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/mqtttest"
	"github.com/jinbi/punchd/internal/testlog"
)

// chromium finds Debian's headless browser. Without it the test is skipped, except in CI, where
// .ci/run installs it and the test must run.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed, and CI is set: .ci/run installs it (apt-get install chromium fonts-noto-cjk)")
	}
	t.Skip("chromium is not installed (apt-get install chromium fonts-noto-cjk); CI runs this test")
	return ""
}

// TestConsoleInBrowser drives the web console in headless Chromium against the real daemon, a
// simulated clock and a real Mosquitto: a clerk logs in, registers a leave through the form, sees
// today's board change, downloads the month's XLSX, which excelize opens, and sets a village's mark. Every page is
// saved as a screenshot in the test's artifact directory (go test -artifacts keeps them).
func TestConsoleInBrowser(t *testing.T) {
	chrome := chromium(t)
	if testing.Short() {
		t.Skip("runs the daemon and a browser")
	}
	shots := t.ArtifactDir()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(loc)
	today := attendance.DateOf(now)
	data, err := zksim.Generate(zksim.GenConfig{People: 8, End: now, Days: 10, Seed: 5, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	sim, err := zksim.New(zksim.Config{Data: data, Location: loc, Serial: "WEB00001"})
	if err != nil {
		t.Fatal(err)
	}
	clockAddr := zksimtest.ServeTCP(t, sim)
	ctx := context.Background()
	broker := mqtttest.Start(t)

	// A free port for the console (the daemon logs the one it bound, but the browser needs it first).
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpAddr := pl.Addr().String()
	pl.Close()

	dir := t.TempDir()
	cfg := config.Default()
	cfg.Site.Name, cfg.Site.DisplayName, cfg.Site.Timezone, cfg.Site.Roster = "jinbi", "金碧镇", "Asia/Shanghai", ""
	cfg.Site.EventsSince = config.Date(today.AddDays(-3))
	cfg.Store.Path = filepath.Join(dir, "punchd.db")
	cfg.API.Socket = filepath.Join(dir, "punchd.sock")
	cfg.HTTP.Listen = httpAddr
	cfg.MQTT.Broker, cfg.MQTT.ClientID, cfg.MQTT.TopicPrefix = broker.URL(), "punchd-web", "punchd/jinbi"
	// Today is a working day whatever the calendar says: the board has people to miss.
	cfg.Calendar.Overrides = []config.Override{{Date: today, Type: attendance.MakeupWorkday, Name: "浏览器测试"}}
	cfg.Unit = []config.Unit{{Name: "党政办", Kind: attendance.UnitOffice}, {Name: "综治办", Kind: attendance.UnitOffice},
		{Name: "金碧村", Kind: attendance.UnitVillage}}
	c := config.DefaultClock()
	c.Name, c.URL, c.PollInterval, c.Realtime = "dangzhengban", "zk+tcp://"+clockAddr, config.Duration(time.Second), true
	cfg.Clock = []config.Clock{c}
	cfgPath := filepath.Join(dir, "punchd.toml")
	var tb bytes.Buffer
	if err := toml.NewEncoder(&tb).Encode(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, tb.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	logs := &testlog.Buffer{}
	dctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(dctx, []string{"--config", cfgPath}, &bytes.Buffer{}, Options{Stderr: logs}) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	}()

	// The roster and a clerk's account go in through the daemon's socket, as punchctl does.
	var cl *api.Client
	waitUntil(t, "the daemon's socket", 20*time.Second, func() bool {
		cl, err = api.Dial(ctx, cfg.API.Socket)
		return err == nil
	}, logs)
	var people []attendance.Person
	for i, u := range data.Users {
		p := attendance.Person{UserID: u.UserID, Name: u.Name, Unit: "党政办", Post: "干部", Tracking: attendance.TrackClock}
		switch {
		case i >= 6:
			p.Unit, p.Tracking = "金碧村", attendance.TrackVillage
		case i >= 4:
			p.Unit = "综治办"
		}
		people = append(people, p)
	}
	actx := audit.WithActor(ctx, audit.Actor{Name: "test", From: "local", Via: audit.ViaCLI})
	if err := cl.PutRoster(actx, people); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.AddAccount(actx, "clerk1", "clerk", "correct horse"); err != nil {
		t.Fatal(err)
	}
	// The clock's log ends yesterday: today nobody is in yet, whatever the hour the test runs.
	in, absent := people[0], people[1]
	waitUntil(t, "the first pull", 30*time.Second, func() bool {
		st, err := cl.Status(ctx)
		return err == nil && len(st.Clocks) == 1 && !st.Clocks[0].LastPull.IsZero()
	}, logs)
	base := "http://" + httpAddr

	// The browser.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1366, 900),
	}
	actxAlloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelB := chromedp.NewContext(actxAlloc)
	defer cancelB()
	bctx, cancelT := context.WithTimeout(bctx, 90*time.Second)
	defer cancelT()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v\ndaemon log:\n%s", what, err, logs.String())
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }

	// Reading needs no login on loopback: the board, with the absent person not in yet.
	do("the board", chromedp.Navigate(base+"/"), chromedp.WaitVisible(css("#notin")))
	shot("01-today-before")
	if notIn := text("#notin"); !strings.Contains(notIn, absent.Name) || !strings.Contains(notIn, in.Name) {
		t.Errorf("board before: not in %q, want %s and %s", notIn, in.Name, absent.Name)
	}

	// Log in as the clerk.
	do("the login page", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(css("#name")))
	shot("02-login")
	do("login", chromedp.SendKeys(css("#name"), "clerk1"), chromedp.SendKeys(css("#password"), "correct horse"),
		chromedp.Click(css("#login")), chromedp.WaitVisible(css("#whoami")))
	if who := text("#whoami"); !strings.Contains(who, "clerk1") {
		t.Errorf("logged in as %q", who)
	}

	// A refused form shows punchctl's words, then the leave goes in.
	do("a refused registration", chromedp.Navigate(base+"/registrations"), chromedp.WaitVisible(css("#reg-form")),
		chromedp.SetValue(css("#user"), absent.UserID), chromedp.SetValue(css("#kind"), "leave"),
		chromedp.SendKeys(css("#from"), today.String()), chromedp.SendKeys(css("#to"), today.AddDays(-1).String()),
		chromedp.SendKeys(css("#reason"), "病假"), chromedp.Click(css("#reg-submit")), chromedp.WaitVisible(css("#form-error")))
	shot("03-registration-refused")
	if msg := text("#form-error"); !strings.Contains(msg, "is before --from") {
		t.Errorf("refused form says %q", msg)
	}
	do("a registration", chromedp.SetValue(css("#to"), today.String()), chromedp.SetValue(css("#via"), "phone"),
		chromedp.SendKeys(css("#approved_by"), "李镇长"), chromedp.Click(css("#reg-submit")), chromedp.WaitVisible(css(".done")))
	shot("04-registrations")
	if done := text(".done"); !strings.HasPrefix(done, "已登记 R") {
		t.Errorf("after the registration: %q", done)
	}

	// The board changed: the leave is listed and the person is no longer missed.
	do("the board after", chromedp.Navigate(base+"/"), chromedp.WaitVisible(css("#today-regs")))
	shot("05-today-after")
	if notIn, row, regs := text("#notin"), text("#p-"+absent.UserID), text("#today-regs"); strings.Contains(notIn, absent.Name) ||
		!strings.Contains(row, "请假") || !strings.Contains(regs, "病假") {
		t.Errorf("board after: not in %q, %s's row %q, registrations %q", notIn, absent.Name, row, regs)
	}
	do("the print view", chromedp.Navigate(base+"/?print=1"), chromedp.WaitVisible(css("#notin")))
	shot("06-today-print")

	// The month's XLSX, downloaded as a browser does, opens with excelize and names the people.
	dl := t.TempDir()
	got := make(chan string, 1)
	if err := chromedp.ListenBrowser(bctx, func(ev any) {
		if e, ok := ev.(*browser.EventDownloadProgress); ok && e.State == browser.DownloadProgressStateCompleted {
			select {
			case got <- e.GUID:
			default:
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	do("the month", chromedp.Navigate(base+"/month"), chromedp.WaitVisible(css("#month")))
	shot("07-month")
	events := true
	if _, err := chromedp.CallBrowser(bctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dl, EventsEnabled: &events}); err != nil {
		t.Fatal(err)
	}
	do("download the XLSX", chromedp.Click(css("#dl-xlsx")))
	var guid string
	select {
	case guid = <-got:
	case <-bctx.Done():
		t.Fatal("the XLSX download did not complete")
	}
	x, err := excelize.OpenFile(filepath.Join(dl, guid))
	if err != nil {
		t.Fatalf("the downloaded XLSX: %v", err)
	}
	defer x.Close()
	rows, err := x.GetRows(x.GetSheetList()[0])
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, r := range rows {
		for _, cell := range r {
			if cell == in.Name || cell == absent.Name {
				found = append(found, cell)
			}
		}
	}
	if len(found) != 2 {
		t.Errorf("the month's XLSX names %v, want %s and %s", found, in.Name, absent.Name)
	}

	// A village's mark for today, set in the grid.
	villager := people[6]
	cell := fmt.Sprintf(`select[name="m|%s|%d"]`, villager.UserID, today.Day)
	do("the marks grid", chromedp.Navigate(base+"/marks?unit="+url.QueryEscape("金碧村")), chromedp.WaitVisible(css(cell)),
		chromedp.SetValue(css(cell), "×"), chromedp.Click(css("#marks-save")), chromedp.WaitVisible(css(".done")))
	shot("08-marks")
	if done := text(".done"); done != "已保存 1 个标记" {
		t.Errorf("after setting a mark: %q", done)
	}
	ms, err := cl.Marks(ctx, "金碧村", today, today)
	if err != nil || len(ms) != 1 || ms[0].UserID != villager.UserID || ms[0].Mark != attendance.MarkAbsent || ms[0].RecordedBy != "clerk1" {
		t.Errorf("stored marks %+v %v", ms, err)
	}

	// Every other page renders; each is looked at in its screenshot.
	for i, p := range []struct{ path, ready string }{
		{"/clocks", "#clocks"}, {"/bulletin", "h1"}, {"/events", "#events"}, {"/audit", "#audit"},
	} {
		do(p.path, chromedp.Navigate(base+p.path), chromedp.WaitVisible(css(p.ready)))
		shot(fmt.Sprintf("%02d-%s", 9+i, strings.TrimPrefix(p.path, "/")))
	}
	if log := text("#audit"); !strings.Contains(log, "registration.add") || !strings.Contains(log, "clerk1") {
		t.Errorf("the audit page lacks the registration by clerk1:\n%s", log)
	}
	t.Logf("screenshots in %s", shots)
}

func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool, logs *testlog.Buffer) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s\ndaemon log:\n%s", d, what, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
