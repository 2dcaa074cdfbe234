package testlog

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

// TestBufferConcurrent: writes from many goroutines all arrive, whole, while the test reads (run
// with -race).
func TestBufferConcurrent(t *testing.T) {
	var b Buffer
	if got := b.Lines(); got != nil {
		t.Fatalf("empty buffer: lines %q", got)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				fmt.Fprintf(&b, "writer %d line %d\n", i, j)
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	lines := b.Lines()
	if len(lines) != 400 {
		t.Fatalf("%d lines, want 400", len(lines))
	}
	if !slices.Contains(lines, "writer 7 line 49") {
		t.Errorf("a line is missing or torn: %q", lines[len(lines)-1])
	}
}
