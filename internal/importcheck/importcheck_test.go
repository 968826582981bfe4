package importcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/vpipe/vpipe"

// cgoFixed are packages that must build with CGO_ENABLED=0; so must every
// store (cgoFree adds each folder of stores/, so a new store needs no line here).
var cgoFixed = []string{"core", "config", "registry", "sampling", "shard", "split", "queue", "store", "store/rangeread", "layouts/project", "layouts/webdataset", "internal/stall"}

// cgoFree are the packages that must build with CGO_ENABLED=0: cgoFixed and
// every store.
func cgoFree(t *testing.T) []string {
	t.Helper()
	stores, err := subfolders("stores")
	if err != nil || len(stores) < 2 {
		t.Fatalf("the stores/ folders: %v %v", stores, err)
	}
	return append(slices.Clone(cgoFixed), stores...)
}

// subfolders are the folders right under dir (relative to the repository's
// root) that hold Go files, as dir/name.
func subfolders(dir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join("..", "..", dir))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if gos, _ := filepath.Glob(filepath.Join("..", "..", dir, e.Name(), "*.go")); len(gos) > 0 {
			out = append(out, dir+"/"+e.Name())
		}
	}
	return out, nil
}

// banned are the cgo libraries none of cgoFree may reach, by import path prefix.
var banned = []string{"github.com/asticode/go-astiav", module + "/internal/geos"}

// pkg is what go list says of one package.
type pkg struct {
	ImportPath string
	Imports    []string
	Standard   bool
	CgoFiles   []string
}

// goCmd is the go command, run from the module's root.
func goCmd(args ...string) *exec.Cmd {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goBin, args...)
	cmd.Dir = "../.."
	return cmd
}

// list runs go list -json with args and returns the packages by import path.
func list(t *testing.T, args ...string) map[string]*pkg {
	t.Helper()
	cmd := goCmd(append([]string{"list", "-json"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	pkgs := map[string]*pkg{}
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		p := &pkg{}
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			return pkgs
		} else if err != nil {
			t.Fatalf("go list %s: %v", strings.Join(args, " "), err)
		}
		pkgs[p.ImportPath] = p
	}
}

// cgoPaths walks the imports from root and returns, for every package it
// reaches that is banned or (outside the standard library) has cgo files, the
// import path that leads there: "queue → core → supervisely → internal/geos";
// a package with cgo files is marked "(cgo)".
func cgoPaths(pkgs map[string]*pkg, root string) []string {
	from := map[string]string{root: ""}
	queue := []string{root}
	var found []string
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		switch {
		case isBanned(p):
			found = append(found, chain(from, p))
		case pkgs[p] != nil && !pkgs[p].Standard && len(pkgs[p].CgoFiles) > 0:
			found = append(found, chain(from, p)+" (cgo)")
		}
		if pkgs[p] == nil {
			continue
		}
		for _, q := range pkgs[p].Imports {
			if _, seen := from[q]; !seen {
				from[q] = p
				queue = append(queue, q)
			}
		}
	}
	sort.Strings(found)
	return found
}

func isBanned(p string) bool {
	for _, b := range banned {
		if p == b || strings.HasPrefix(p, b+"/") {
			return true
		}
	}
	return false
}

// chain is the import path from the walk's root to p, module prefix trimmed.
func chain(from map[string]string, p string) string {
	var names []string
	for ; p != ""; p = from[p] {
		names = append([]string{strings.TrimPrefix(p, module+"/")}, names...)
	}
	return strings.Join(names, " → ")
}

// TestCgoFreePackages: core, config, sampling, shard and queue reach neither
// go-astiav nor GEOS, nor any other package with cgo outside the standard
// library (go list -deps, which leaves tests out); a failure names the package
// and the import path that brings the cgo in.
func TestCgoFreePackages(t *testing.T) {
	for _, name := range cgoFree(t) {
		root := module + "/" + name
		pkgs := list(t, "-deps", root)
		if pkgs[root] == nil {
			t.Fatalf("go list -deps %s does not list the package itself", root)
		}
		for _, path := range cgoPaths(pkgs, root) {
			t.Errorf("%s must build without cgo, but imports %s", name, path)
		}
	}
}

// TestCgoFreeBuild: the same packages do build with CGO_ENABLED=0.
func TestCgoFreeBuild(t *testing.T) {
	args := []string{"build"}
	for _, name := range cgoFree(t) {
		args = append(args, "./"+name)
	}
	cmd := goCmd(args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestCgoPathsSeesCgo: the walk above does find cgo where it is, naming the
// path: stages reaches go-astiav through media and GEOS through
// supervisely/crop (so a clean TestCgoFreePackages is no blind spot).
func TestCgoPathsSeesCgo(t *testing.T) {
	root := module + "/stages"
	got := strings.Join(cgoPaths(list(t, "-deps", root), root), "\n")
	for _, want := range []string{"stages → media (cgo)", "stages → media → github.com/asticode/go-astiav",
		"stages → supervisely/crop → internal/geos"} {
		if !strings.Contains(got, want) {
			t.Errorf("the walk from stages found:\n%s\nwant a line %q", got, want)
		}
	}
}

// testSupport are the packages that exist for tests: internal/testenv/...,
// and a layout suite's helpers that live beside the layouts they test.
var testSupport = []string{module + "/internal/testenv", module + "/layouts/internal/layouttest"}

func isTestSupport(p string) bool {
	for _, s := range testSupport {
		if p == s || strings.HasPrefix(p, s+"/") {
			return true
		}
	}
	return false
}

// TestProductionImportsNoTestSupport: no package but test support itself
// imports test support from its non-test files (test files may).
func TestProductionImportsNoTestSupport(t *testing.T) {
	var bad []string
	for _, p := range list(t, module+"/...") {
		if isTestSupport(p.ImportPath) {
			continue
		}
		for _, q := range p.Imports {
			if isTestSupport(q) {
				bad = append(bad, fmt.Sprintf("%s imports %s", strings.TrimPrefix(p.ImportPath, module+"/"), strings.TrimPrefix(q, module+"/")))
			}
		}
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Errorf("production code imports test support: %s", b)
	}
}
