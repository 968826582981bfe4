package importcheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// askers are the packages that drive sinks: they learn what a sink can do
// from its Features (core.SinkFeatures), never by asserting its type.
var askers = []string{"stages", "cmd/vpipe"}

// TestNoSinkTypeAssertions fails, naming file:line, on a type assertion or a
// type switch case in the askers' production files whose type is one of
// core's, an interface literal, or a sink package's: an optional interface a
// wrapper (a fan-out, a test's hold) hides, or a concrete sink, is what
// issue 17 replaced with abilities as data.
func TestNoSinkTypeAssertions(t *testing.T) {
	var found []string
	for _, dir := range askers {
		files, err := filepath.Glob(filepath.Join("../..", dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			found = append(found, sinkAssertions(t, f)...)
		}
	}
	if len(found) > 0 {
		t.Fatalf("type assertions on sinks (use Sink.Features()):\n%s", strings.Join(found, "\n"))
	}
}

// sinkAssertions lists file:line of each forbidden assertion in one file.
func sinkAssertions(t *testing.T, file string) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	banned := map[string]bool{} // local names of core and the sink packages
	for _, im := range f.Imports {
		path, _ := strconv.Unquote(im.Path.Value)
		rel, ok := strings.CutPrefix(path, module+"/")
		if !ok || (rel != "core" && !strings.HasPrefix(rel, "sinks/") && !strings.HasPrefix(rel, "layouts/")) {
			continue
		}
		name := filepath.Base(path)
		if im.Name != nil {
			name = im.Name.Name
		}
		banned[name] = true
	}
	var out []string
	check := func(typ ast.Expr) {
		if typ != nil && forbidden(typ, banned) {
			p := fset.Position(typ.Pos())
			rel, _ := filepath.Rel("../..", p.Filename)
			out = append(out, fmt.Sprintf("%s:%d", filepath.ToSlash(rel), p.Line))
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.TypeAssertExpr:
			check(n.Type) // nil in a type switch: its cases are checked below
		case *ast.TypeSwitchStmt:
			for _, c := range n.Body.List {
				for _, typ := range c.(*ast.CaseClause).List {
					check(typ)
				}
			}
		}
		return true
	})
	return out
}

// forbidden tells whether an asserted type is an interface literal or a type
// of one of the banned packages (a pointer to one too).
func forbidden(typ ast.Expr, banned map[string]bool) bool {
	switch x := typ.(type) {
	case *ast.StarExpr:
		return forbidden(x.X, banned)
	case *ast.InterfaceType:
		return true
	case *ast.SelectorExpr:
		id, ok := x.X.(*ast.Ident)
		return ok && banned[id.Name]
	}
	return false
}

// The check itself finds what it is meant to find.
func TestSinkAssertionsFound(t *testing.T) {
	dir := t.TempDir()
	src := `package x

import (
	"github.com/vpipe/vpipe/core"
	fo "github.com/vpipe/vpipe/sinks/fanout"
)

func f(s core.Sink, e error) {
	_, _ = s.(core.Sink)
	_, _ = s.(interface{ Upload() })
	_ = s.(*fo.Sink).Sinks
	switch s.(type) {
	case *fo.Sink:
	}
	_, _ = e.(interface{ Timeout() bool })
}
`
	p := filepath.Join(dir, "x.go")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	got := sinkAssertions(t, p)
	var lines []string
	for _, g := range got {
		lines = append(lines, g[strings.LastIndex(g, ":")+1:])
	}
	if strings.Join(lines, ",") != "9,10,11,13,15" {
		t.Fatalf("found %v, want lines 9,10,11,13,15", got)
	}
}
