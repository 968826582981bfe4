// Command gendocs writes the backends' reference page (docs/backends.md) from
// the registered specs: run it with go generate ./docs. docs' tests fail when
// the page in the tree is not what it writes.
package main

import (
	"fmt"
	"os"

	_ "github.com/vpipe/vpipe/backends/all" // every backend, registered
	"github.com/vpipe/vpipe/registry"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gendocs PAGE.md")
		os.Exit(2)
	}
	if err := os.WriteFile(os.Args[1], []byte(registry.Markdown()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}
