// Package zksimtest serves a simulated clock for tests, as net/http/httptest serves a handler: on a
// free loopback port, stopped when the test ends. It is for tests only (it imports testing).
package zksimtest

import (
	"context"
	"testing"

	"github.com/jinbi/punchd/device/zk/zksim"
)

// ServeTCP serves s over TCP on a free loopback port until the test ends, when it stops serving
// and waits for the server to return. It returns the address, 127.0.0.1:PORT.
func ServeTCP(tb testing.TB, s *zksim.Sim) string {
	tb.Helper()
	ln, err := zksim.ListenTCP("127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.ServeTCP(ctx, ln); close(done) }()
	tb.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}
