package all_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/vpipe/vpipe"

// registers are the registry calls by which a package makes a backend known.
var registers = []string{"Register", "RegisterSection", "SetStoreSink", "SetStoreSource", "SetDefault"}

// Adding a store is its folder, one line in its test file and one import
// here: this test demands the import. Every package that registers a
// backend (a registry.Register… call in its non-test files), and every
// folder of stores/, must be imported by all.go, or no binary has it; the
// failure names the line to add and the docs page to regenerate.
func TestEveryBackendLinked(t *testing.T) {
	root := filepath.Join("..", "..")
	linked := imports(t, "all.go")
	var need []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		rel := filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator)))
		switch {
		case p == root:
			return nil
		case strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || rel == "registry":
			return filepath.SkipDir
		}
		if registersBackend(t, p) || (filepath.Dir(rel) == "stores" && hasGo(p)) {
			need = append(need, module+"/"+rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(need) < 4 {
		t.Fatalf("found only %v registering backends: is the walk at the repository's root?", need)
	}
	for _, pkg := range need {
		if !slices.Contains(linked, pkg) {
			t.Errorf("backends/all does not import %s, which registers a backend: add\n\t_ %q\nto backends/all/all.go, then run `go generate ./docs` (docs/backends.md lists every registered backend's keys)",
				strings.TrimPrefix(pkg, module+"/"), pkg)
		}
	}
}

// imports are the import paths of a Go file.
func imports(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range f.Imports {
		p, _ := strconv.Unquote(s.Path.Value)
		out = append(out, p)
	}
	return out
}

// registersBackend tells whether a folder's non-test Go files call one of
// the registry's registering functions.
func registersBackend(t *testing.T, dir string) bool {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, p := range files {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		name := ""
		for _, s := range f.Imports {
			if s.Path.Value == strconv.Quote(module+"/registry") {
				name = "registry"
				if s.Name != nil {
					name = s.Name.Name
				}
			}
		}
		if name == "" {
			continue
		}
		found := false
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == name && slices.Contains(registers, sel.Sel.Name) {
					found = true
				}
			}
			return !found
		})
		if found {
			return true
		}
	}
	return false
}

func hasGo(dir string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	return len(files) > 0
}

// The scan finds registering calls, and spares a file that only looks a
// spec up (so a clean run is no blind spot).
func TestRegistersBackendSees(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.go"), []byte("package a\n\nimport r \""+module+"/registry\"\n\nfunc init() { r.Register(r.Spec{}) }\n"), 0o644)
	if !registersBackend(t, dir) {
		t.Error("a registry.Register call (the import renamed) not seen")
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "b.go"), []byte("package b\n\nimport \""+module+"/registry\"\n\nvar _, _ = registry.Lookup(registry.Sink, \"x\")\n"), 0o644)
	os.WriteFile(filepath.Join(other, "b_test.go"), []byte("package b\n\nimport \""+module+"/registry\"\n\nfunc init() { registry.Register(registry.Spec{}) }\n"), 0o644)
	if registersBackend(t, other) {
		t.Error("a lookup, or a registration in a test file, taken for a backend")
	}
}
