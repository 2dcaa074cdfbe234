package zksim_test

import (
	"context"
	"fmt"
	"net"

	"github.com/jinbi/punchd/device/zk"
	"github.com/jinbi/punchd/device/zk/zksim"
)

// A simulated clock with a generated office log, served on a free loopback port; a client
// connects and the ground truth says what it must read.
func Example() {
	data, err := zksim.Generate(zksim.GenConfig{People: 10, Records: 100, Seed: 1})
	if err != nil {
		panic(err)
	}
	sim, err := zksim.New(zksim.Config{Data: data})
	if err != nil {
		panic(err)
	}
	ln, err := zksim.ListenTCP("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go sim.ServeTCP(ctx, ln)

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	c.Write(zk.AppendTCP(nil, zk.Packet{Cmd: zk.CmdConnect}))
	reply, err := zk.NewTCPFrameReader(c).Next()
	fmt.Println(reply.Cmd == zk.AckOK, reply.Session != 0, err)
	fmt.Println(len(sim.Truth().Records), "records,", len(sim.Truth().Users), "users")
	// Output:
	// true true <nil>
	// 100 records, 10 users
}
