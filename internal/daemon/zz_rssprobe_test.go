package daemon

// TEMPORARY memory probe (not to be committed).

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/jinbi/punchd/device/zk/zksim"
	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/config"
)

func TestRSSProbe(t *testing.T) {
	if os.Getenv("RSSPROBE") == "" {
		t.Skip()
	}
	runtime.MemProfileRate = 4096
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Site.Name, cfg.Site.Roster = "rss", ""
	cfg.Store.Path, cfg.API.Socket = filepath.Join(dir, "punchd.db"), filepath.Join(dir, "punchd.sock")
	cfg.HTTP.Listen, cfg.Reports.Dir = "127.0.0.1:0", filepath.Join(dir, "reports")
	cfg.MQTT.Broker = os.Getenv("RSSPROBE")
	poll, _ := time.ParseDuration(os.Getenv("POLL"))
	for i := 1; i <= 4; i++ {
		data, err := zksim.Generate(zksim.GenConfig{People: 60, Days: 30, End: time.Now(), Seed: uint64(i)})
		if err != nil {
			t.Fatal(err)
		}
		sim, err := zksim.New(zksim.Config{Data: data, Serial: "PROBE" + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := zksim.ListenTCP("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go sim.ServeTCP(ctx, ln)
		c := config.DefaultClock()
		c.Name, c.URL, c.PollInterval = "clock"+strconv.Itoa(i), "zk+tcp://"+ln.Addr().String(), config.Duration(poll)
		cfg.Clock = append(cfg.Clock, c)
	}
	ready := make(chan Addrs, 1)
	go Run(ctx, cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: func(a Addrs) { ready <- a }})
	a := <-ready
	waitFor(t, "4 pulls", 60*time.Second, func() bool {
		c, err := api.Dial(ctx, a.Socket)
		if err != nil {
			return false
		}
		st, err := c.Status(ctx)
		if err != nil {
			return false
		}
		for _, cs := range st.Clocks {
			if cs.LastPull.IsZero() {
				return false
			}
		}
		return true
	})
	write := func(name string) {
		runtime.GC()
		f, _ := os.Create(name)
		pprof.Lookup("heap").WriteTo(f, 0)
		f.Close()
	}
	write("/tmp/heap1.pb.gz")
	d, _ := time.ParseDuration(os.Getenv("STEADY"))
	time.Sleep(d)
	write("/tmp/heap2.pb.gz")
}
