package zksimtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jinbi/punchd/device"
	_ "github.com/jinbi/punchd/device/zk" // the zk+tcp driver
	"github.com/jinbi/punchd/device/zk/zksim"
	"github.com/jinbi/punchd/device/zk/zksim/zksimtest"
)

// TestServeTCP: a clock served this way answers the real driver at the address returned.
func TestServeTCP(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	s, err := zksim.New(zksim.Config{Location: loc, Serial: "ZKT00001"})
	if err != nil {
		t.Fatal(err)
	}
	addr := zksimtest.ServeTCP(t, s)
	ctx := context.Background()
	c, err := device.Open(ctx, "zk+tcp://"+addr, device.Options{Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Serial != "ZKT00001" {
		t.Errorf("serial %q, want ZKT00001", info.Serial)
	}
}
