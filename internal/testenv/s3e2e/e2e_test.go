package s3e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/s3test"
)

var (
	srv  *s3test.Server
	bin  string
	root string // the repository
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "vpipe-s3e2e-")
		if err != nil {
			panic(err)
		}
		defer os.RemoveAll(dir)
		root, _ = filepath.Abs("../../..")
		bin = filepath.Join(dir, "vpipe")
		build := exec.Command("go", "build", "-o", bin, "./cmd/vpipe")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
			return 1
		}
		return s3test.Main(m, &srv)
	}())
}

// env is the environment a vpipe run gets: the server's credentials by the
// standard variables, nothing from the user's AWS setup.
func env() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "VPIPE_") {
			out = append(out, kv)
		}
	}
	return append(out, "AWS_ACCESS_KEY_ID="+srv.Access, "AWS_SECRET_ACCESS_KEY="+srv.Secret, "AWS_REGION="+srv.Region,
		"AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull, "AWS_EC2_METADATA_DISABLED=true")
}

// config writes a pipeline file; source and sink are YAML sections.
func config(t *testing.T, source, sinks string, extra ...string) string {
	t.Helper()
	y := "source:\n" + indent(source) + sinks + "\nsampling: {step: 5}\n" +
		"stages: {decode: {workers: 1, queue: 2}, resize: {workers: 2, queue: 2}, encode: {workers: 2, queue: 2}, write: {workers: 4, queue: 2}}\n" +
		strings.Join(extra, "\n")
	p := filepath.Join(t.TempDir(), "pipeline.yaml")
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

func localSrc(path string) string { return "type: local\npath: " + path }
func s3Src(url, endpoint string) string {
	return "type: s3\nurl: " + url + "\nendpoint: " + endpoint
}
func localSink(path string) string { return "sink:\n" + indent("type: local\npath: "+path) }
func s3Sink(url, endpoint string) string {
	return "sink:\n" + indent("type: s3\nurl: "+url+"\nendpoint: "+endpoint)
}

// vpipe runs the binary and returns its output and exit code.
func vpipe(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = root
	cmd.Env = env()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), srv.Secret) {
		t.Fatalf("the output shows the secret:\n%s", out.String())
	}
	return out.String(), code
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, code := vpipe(t, args...)
	if code != 0 {
		t.Fatalf("vpipe %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// localTree reads a folder: relative path → bytes.
func localTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameTree compares two trees: the same paths, images byte for byte, JSON
// value for value.
func sameTree(t *testing.T, what string, got, want map[string][]byte) {
	t.Helper()
	var missing, extra, differ []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			missing = append(missing, k)
		case strings.HasSuffix(k, ".json"):
			var a, b any
			if json.Unmarshal(g, &a) != nil || json.Unmarshal(w, &b) != nil || !jsonEqual(a, b) {
				differ = append(differ, k)
			}
		case !bytes.Equal(g, w):
			differ = append(differ, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	sort.Strings(differ)
	if len(missing)+len(extra)+len(differ) > 0 {
		t.Fatalf("%s: %d missing %q, %d extra %q, %d differ %q", what, len(missing), head(missing), len(extra), head(extra), len(differ), head(differ))
	}
	if len(want) == 0 {
		t.Fatalf("%s: empty", what)
	}
}

func head(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func images(tree map[string][]byte) int {
	n := 0
	for k := range tree {
		if strings.Contains(k, "/img/") {
			n++
		}
	}
	return n
}
