package importcheck

import (
	"go/parser"
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

// free are the folders whose files may name any backend: the registry, the
// package that links them all, test support and this check.
var free = []string{"registry", "backends", "internal/testenv", "internal/importcheck"}

// kinds are the folders that hold one backend (or layout) a folder: a file
// in kind/X may name X, its own.
var kinds = []string{"sources", "sinks", "stores", "layouts"}

// ownedBy are folders of one backend that are not named after it.
var ownedBy = map[string]string{"internal/s3conn": "s3", "layouts/project": "supervisely"}

// namedOnPurpose marks a line that names a backend for a reason it gives
// (vpipe frames reads a local video into a local folder, whatever a config says).
const namedOnPurpose = "names a backend:"

// registered are the names a config chooses backends by: source and sink
// types and shared sections.
func registered(t *testing.T) map[string]bool {
	t.Helper()
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
	return names
}

// own is the backend whose folder holds the file rel ("" for none): X of
// sources/X, sinks/X, stores/X, layouts/X, a top-level folder X (the
// platform's supervisely/), or an ownedBy folder.
func own(rel string, names map[string]bool) string {
	parts := strings.Split(rel, "/")
	for dir, name := range ownedBy {
		if strings.HasPrefix(rel, dir+"/") {
			return name
		}
	}
	if len(parts) > 2 && slices.Contains(kinds, parts[0]) && names[parts[1]] {
		return parts[1]
	}
	if len(parts) > 1 && names[parts[0]] {
		return parts[0]
	}
	return ""
}

// goFiles walks the repository's non-test Go files outside free folders,
// calling fn with each one's path relative to the root.
func goFiles(t *testing.T, fn func(path, rel string)) {
	t.Helper()
	root := filepath.Join("..", "..")
	checked := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator)))
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && p != root || d.Name() == "testdata" || slices.Contains(free, rel) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		checked++
		fn(p, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d files checked: is the walk at the repository's root?", checked)
	}
}

// TestNoBackendNamedOutsideItsFolder: issue 17 — config, cmd, queue,
// metrics, stages, core, the generic adapters (storesink, storesource,
// fanout), other backends and every other production package choose and
// build backends through the registry, so none of them spells a registered
// type or shared section ("s3", "supervisely", "local") as a string literal;
// only the backend's own folder does. A failure names the file and line.
func TestNoBackendNamedOutsideItsFolder(t *testing.T) {
	names := registered(t)
	goFiles(t, func(p, rel string) {
		mine := own(rel, names)
		for _, hit := range namedIn(t, p, names) {
			if hit.name != mine {
				t.Errorf("%s:%d: names the backend %s (choose it through the registry, or mark the line %q and say why)",
					rel, hit.line, hit.name, "// "+namedOnPurpose+" …")
			}
		}
	})
}

// chooser are the packages that choose backends by config and must import
// none (registry.Lookup builds them); cmd links them all through backends/all.
var chooser = []string{"config", "cmd", "queue", "metrics", "stages", "core", "pipeline", "preview", "verify"}

// generic are the packages under sources/ and sinks/ that are no one
// backend: the store adapters, the fan-out and the suites.
var generic = []string{"sinks/storesink", "sinks/fanout", "sinks/sinktest", "sources/storesource", "sources/sourcetest"}

// backendPackage tells whether an import path is one backend's package: a
// store, a source or sink other than the generic ones, the platform's client.
func backendPackage(path string) bool {
	rel, ok := strings.CutPrefix(path, module+"/")
	if !ok {
		return false
	}
	parts := strings.Split(rel, "/")
	switch {
	case len(parts) >= 2 && (parts[0] == "stores" || parts[0] == "sources" || parts[0] == "sinks"):
		return !slices.Contains(generic, parts[0]+"/"+parts[1])
	case len(parts) >= 2 && parts[0] == "supervisely":
		return parts[1] == "platform" || parts[1] == "api"
	}
	return false
}

// TestChoosersImportNoBackend: the packages that choose backends by config
// import no backend's package (stores/local, sources/local,
// sinks/supervisely, …): they reach them through the registry. An import
// marked namedOnPurpose is allowed (vpipe frames' folder sink).
func TestChoosersImportNoBackend(t *testing.T) {
	goFiles(t, func(p, rel string) {
		if !slices.ContainsFunc(chooser, func(c string) bool { return strings.HasPrefix(rel, c+"/") }) {
			return
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range f.Imports {
			path, _ := strconv.Unquote(s.Path.Value)
			if backendPackage(path) && (s.Comment == nil || !strings.Contains(s.Comment.Text(), namedOnPurpose)) {
				t.Errorf("%s imports the backend %s: reach it through the registry (registry.Lookup, registry.OpenStore), or mark the import %q and say why",
					rel, strings.TrimPrefix(path, module+"/"), "// "+namedOnPurpose+" …")
			}
		}
	})
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

// The rules see what they must: a file names its own backend only, and a
// backend's package is told from a generic one.
func TestOwnAndBackendPackage(t *testing.T) {
	names := map[string]bool{"s3": true, "local": true, "supervisely": true}
	for rel, want := range map[string]string{"stores/s3/spec.go": "s3", "sources/local/spec.go": "local", "supervisely/platform/platform.go": "supervisely",
		"internal/s3conn/client.go": "s3", "sinks/storesink/storesink.go": "", "config/load.go": "", "stores/gcs/spec.go": ""} {
		if got := own(rel, names); got != want {
			t.Errorf("own(%s) = %q, want %q", rel, got, want)
		}
	}
	for path, want := range map[string]bool{module + "/stores/local": true, module + "/sources/local": true, module + "/sinks/supervisely": true,
		module + "/supervisely/api": true, module + "/sinks/fanout": false, module + "/sources/storesource": false, module + "/supervisely": false,
		module + "/layouts/project": false, module + "/registry": false} {
		if got := backendPackage(path); got != want {
			t.Errorf("backendPackage(%s) = %v, want %v", path, got, want)
		}
	}
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
