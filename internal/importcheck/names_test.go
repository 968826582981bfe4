package importcheck

import (
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	_ "github.com/vpipe/vpipe/backends/all" // the backends whose names are looked for
	"github.com/vpipe/vpipe/registry"
)

// backendFolders are where a backend's name may be written: the registry and
// the package that links them all, and each backend's own folders (a
// layout's, the format it writes, is one).
var backendFolders = []string{"registry", "backends", "sources", "sinks", "stores", "layouts", "supervisely", "internal/s3conn",
	"internal/testenv", "internal/importcheck"}

// namedOnPurpose marks a line that names a backend for a reason it gives
// (vpipe frames reads a local video into a local folder, whatever a config says).
const namedOnPurpose = "names a backend:"

// TestNoBackendNamedOutsideItsFolder: issue 17 — config, cmd, queue,
// metrics, stages, core and every other production package choose and build
// backends through the registry, so none of them spells a registered type or
// shared section ("s3", "supervisely", "local") as a string literal. A
// failure names the file and line.
func TestNoBackendNamedOutsideItsFolder(t *testing.T) {
	names := map[string]bool{}
	for _, role := range []registry.Kind{registry.Source, registry.Sink, registry.Layout} {
		for _, n := range registry.Names(role) {
			names[n] = true
		}
	}
	for _, s := range registry.Sections() {
		names[s.Name] = true
	}
	if len(names) < 3 {
		t.Fatalf("registered names %v: the backends did not register", names)
	}
	root := filepath.Join("..", "..")
	checked := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator)))
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && p != root || slices.Contains(backendFolders, rel) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		checked++
		for _, hit := range namedIn(t, p, names) {
			t.Errorf("%s:%d: names the backend %s (choose it through the registry, or mark the line %q and say why)",
				rel, hit.line, hit.name, "// "+namedOnPurpose+" …")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d files checked: is the walk at the repository's root?", checked)
	}
}

type hit struct {
	line int
	name string
}

// namedIn lists the string literals of a Go file that are exactly a backend
// name, except on lines marked namedOnPurpose.
func namedIn(t *testing.T, path string, names map[string]bool) []hit {
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	file := fset.AddFile(path, -1, len(src))
	var s scanner.Scanner
	s.Init(file, src, nil, scanner.ScanComments)
	var hits []hit
	marked := map[int]bool{}
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		line := fset.Position(pos).Line
		switch tok {
		case token.COMMENT:
			if strings.Contains(lit, namedOnPurpose) {
				marked[line] = true
			}
		case token.STRING:
			if v, err := strconv.Unquote(lit); err == nil && names[v] {
				hits = append(hits, hit{line, v})
			}
		}
	}
	return slices.DeleteFunc(hits, func(h hit) bool { return marked[h.line] })
}

// TestNamedInSeesNames: the scan finds a quoted name and spares a marked
// line, a comment and a longer string (so a clean run is no blind spot).
func TestNamedInSeesNames(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.go")
	os.WriteFile(p, []byte("package x\n\n// \"s3\" in a comment\nvar a = \"s3\"\nvar b = \"s3://b\"\nvar c = `supervisely` // "+
		namedOnPurpose+" a test\nvar d = \"local\"\n"), 0o644)
	got := namedIn(t, p, map[string]bool{"s3": true, "supervisely": true, "local": true})
	if want := []hit{{4, "s3"}, {7, "local"}}; !slices.Equal(got, want) {
		t.Fatalf("hits %v, want %v", got, want)
	}
}
