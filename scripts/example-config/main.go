// Command example-config prints punchd's commented example configuration for a platform, with
// that platform's default paths (internal/config.Example): scripts/dist.sh puts the Windows one in
// the Windows zip. `punchd service install` writes the same file when there is no config.
//
//	go run ./scripts/example-config windows > punchd.example.toml
package main

import (
	"fmt"
	"os"

	"github.com/jinbi/punchd/internal/config"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: example-config GOOS")
		os.Exit(2)
	}
	if _, err := os.Stdout.Write(config.Example(config.PathsFor(os.Args[1], ""))); err != nil {
		fmt.Fprintln(os.Stderr, "example-config:", err)
		os.Exit(1)
	}
}
