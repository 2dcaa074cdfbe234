package zk_test

import (
	"context"
	"fmt"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/device/zk"
	"github.com/jinbi/punchd/device/zk/zksim"
)

// Reading a clock's attendance log through the device registry. The clock here is the simulator on
// a loopback port; a real one is "zk+tcp://10.0.0.5:4370?comm_key=12345".
func Example() {
	loc := time.FixedZone("CST", 8*3600)
	sim, _ := zksim.New(zksim.Config{Location: loc, Data: zksim.Data{
		Users: []zksim.User{{UID: 1, UserID: "A1023", Name: "张伟"}},
		Records: []zksim.Record{
			{UserID: "A1023", Time: time.Date(2026, 9, 1, 8, 27, 13, 0, loc), Verify: 1},
			{UserID: "A1023", Time: time.Date(2026, 9, 1, 12, 1, 40, 0, loc), State: 1, Verify: 1},
		},
	}})
	ln, _ := zksim.ListenTCP("127.0.0.1:0")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go sim.ServeTCP(ctx, ln)

	clock, err := device.Open(ctx, "zk+tcp://"+ln.Addr().String(), device.Options{Location: loc})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer clock.Close()
	punches, err := clock.Punches(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range punches {
		fmt.Println(p.UserID, p.Time.Format(time.RFC3339), p.State, p.Verify)
	}
	users, _ := clock.(device.UserReader).Users(ctx)
	fmt.Println(users[0].UserID, users[0].Name)
	fmt.Println(clock.(*zk.Client).Stats().ChunkRetries)
	// Output:
	// A1023 2026-09-01T08:27:13+08:00 0 1
	// A1023 2026-09-01T12:01:40+08:00 1 1
	// A1023 张伟
	// 0
}
