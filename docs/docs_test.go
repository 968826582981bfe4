package docs

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	_ "github.com/vpipe/vpipe/backends/all" // the backends whose keys and page are checked
	"github.com/vpipe/vpipe/config"
	"github.com/vpipe/vpipe/registry"
)

// pages are the markdown files whose links are checked, relative to the repository root.
func pages(t *testing.T) []string {
	t.Helper()
	ps, err := filepath.Glob(filepath.Join("..", "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	return append(ps, filepath.Join("..", "README.md"), filepath.Join("..", "bench", "README.md"))
}

var (
	linkRe  = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	fenceRe = regexp.MustCompile("(?s)```.*?```")
	codeRe  = regexp.MustCompile("`[^`\n]*`")
)

// prose is a page without its code blocks and code spans, where links mean nothing.
func prose(text string) string {
	return codeRe.ReplaceAllString(fenceRe.ReplaceAllString(text, ""), "")
}

// TestRelativeLinks checks that every relative link of every page names a file
// that exists and, with a #fragment, a heading of that file.
func TestRelativeLinks(t *testing.T) {
	for _, page := range pages(t) {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range linkRe.FindAllStringSubmatch(prose(string(b)), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, frag, _ := strings.Cut(target, "#")
			path := page
			if file != "" {
				path = filepath.Join(filepath.Dir(page), file)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s: link %q: %v", page, target, err)
				continue
			}
			if frag != "" && !anchors(t, path)[frag] {
				t.Errorf("%s: link %q: %s has no heading with anchor #%s", page, target, path, frag)
			}
		}
	}
}

// anchors are the fragments GitHub gives the headings of a markdown file.
func anchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	seen := map[string]int{}
	for _, line := range strings.Split(fenceRe.ReplaceAllString(string(b), ""), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		s := slug(strings.TrimLeft(line, "#"))
		if n := seen[s]; n > 0 {
			out[s+"-"+strconv.Itoa(n)] = true
		} else {
			out[s] = true
		}
		seen[s]++
	}
	return out
}

// slug is GitHub's heading anchor: lower case, spaces to hyphens, and every
// character but letters, digits, hyphens and underscores dropped.
func slug(heading string) string {
	var sb strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			sb.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		" Where the time goes: metrics and tuning": "where-the-time-goes-metrics-and-tuning",
		" Several sinks from one decode":           "several-sinks-from-one-decode",
		" `sink.fsync` and power cuts":             "sinkfsync-and-power-cuts",
	} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestEveryKeyDocumented checks that every key the config accepts is
// documented: a common key by docs/configuration.md, spelled out in full; a
// backend's or shared section's by docs/backends.md (generated from the
// specs: TestBackendsPage), as the key of its type's table or in full.
func TestEveryKeyDocumented(t *testing.T) {
	conf, err := os.ReadFile("configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	backends, err := os.ReadFile("backends.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range config.Keys() {
		_, short, _ := strings.Cut(key, ".")
		switch {
		case strings.Contains(string(conf), "`"+key+"`"), strings.Contains(string(backends), "`"+key+"`"):
		case config.IsBackendKey(key) && strings.Contains(string(backends), "| `"+short+"` |"):
		default:
			t.Errorf("neither docs/configuration.md nor docs/backends.md names the key `%s`", key)
		}
	}
}

// TestBackendsPage checks that docs/backends.md is what the registered
// backends' specs generate.
func TestBackendsPage(t *testing.T) {
	b, err := os.ReadFile("backends.md")
	if err != nil {
		t.Fatalf("%v (make it: go generate ./docs)", err)
	}
	if want := registry.Markdown(); string(b) != want {
		t.Errorf("docs/backends.md is not what the registered backends generate: run go generate ./docs (from the repository root)\n%s", firstDiff(string(b), want))
	}
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n  page:      %q\n  generated: %q", i+1, gl, wl)
		}
	}
	return ""
}

// TestCIRunsReadmeCommand2 checks that .ci/run runs exactly the README's
// second command (the tests), so that what CI proves is what the README says.
func TestCIRunsReadmeCommand2(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	ci, err := os.ReadFile(filepath.Join("..", ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "# 2. ")
	if !ok {
		t.Fatal("README.md: no command marked '# 2. '")
	}
	lines := strings.SplitN(after, "\n", 3)
	if len(lines) < 2 || strings.TrimSpace(lines[1]) == "" {
		t.Fatal("README.md: no command line after '# 2. '")
	}
	cmd := strings.TrimSpace(lines[1])
	ciLines := strings.Split(strings.TrimSpace(string(ci)), "\n")
	if last := strings.TrimSpace(ciLines[len(ciLines)-1]); last != cmd {
		t.Errorf(".ci/run ends with %q, README.md's command 2 is %q", last, cmd)
	}
	if !strings.Contains(string(ci), "CI=true") {
		t.Error(".ci/run does not set CI=true")
	}
}
