package main_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/svtest"
)

const svToken = "bin-token-0a9b8c7d6e5f"

func svServer(t *testing.T) (*svtest.Server, *svtest.Project) {
	s := svtest.New(svToken, 2)
	t.Cleanup(s.Close)
	p, err := s.SeedLocal("../../testdata/svproject", 7, map[string][]string{"ds0/clip.mp4": {"clip_b.mp4", "clip_c.mp4"}})
	if err != nil {
		t.Fatal(err)
	}
	return s, p
}

func svArgs(cmd string, project int64, extra ...string) []string {
	return append([]string{cmd, "pipeline.yaml", "--set", "source.type=supervisely", "--set", fmt.Sprintf("source.project_id=%d", project),
		"--set", "sink.type=supervisely", "--set", "sampling.step=2", "--set", "sampling.resize.width=120",
		"--set", "stages.batch.batch_size=3", "--set", "supervisely.retry_sleep_ms=1"}, extra...)
}

func svCmd(s *svtest.Server, args []string) (*exec.Cmd, *bytes.Buffer) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "SERVER_ADDRESS="+s.URL(), "API_TOKEN="+svToken)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	return cmd, &out
}

// state is the destination project on the server: title → hash, annotation, uploads.
func svState(t *testing.T, s *svtest.Server) string {
	t.Helper()
	var lines []string
	for _, p := range s.Projects() {
		if p.Type != "images" {
			continue
		}
		for _, d := range s.Datasets(p.ID) {
			for _, im := range s.Images(d.ID) {
				lines = append(lines, fmt.Sprintf("%s %s/%s %s %d %s", p.Name, d.Name, im.Title, im.Hash, im.AnnPosts, im.Ann))
			}
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestSuperviselyBinary: vpipe run and plan against a server; a run stopped by
// SIGINT (exit 130) or SIGKILL in the middle of its uploads, then run again,
// ends with what one clean run leaves: the same images and annotations, no
// duplicate titles, one annotation upload per image. The token appears in no
// output.
func TestSuperviselyBinary(t *testing.T) {
	clean, cp := svServer(t)
	cmd, out := svCmd(clean, svArgs("plan", cp.ID))
	if err := cmd.Run(); err != nil || !regexpLine(out.String(), `ds0/clip_b.mp4\s+30\s+15\s+0\s+15\s+120x60`) {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	cmd, out = svCmd(clean, svArgs("run", cp.ID))
	if err := cmd.Run(); err != nil || !strings.Contains(out.String(), "videos: 4 ok, 0 failed") {
		t.Fatalf("run: %v\n%s", err, out)
	}
	want := svState(t, clean)
	if strings.Count(want, "\n") < 40 || strings.Contains(out.String(), svToken) {
		t.Fatalf("clean run:\n%s\n%s", want, out)
	}
	cmd, out = svCmd(clean, svArgs("plan", cp.ID))
	if err := cmd.Run(); err != nil || !regexpLine(out.String(), `ds0/clip_b.mp4\s+30\s+15\s+15\s+0\s+120x60`) {
		t.Fatalf("plan after the run: %v\n%s", err, out)
	}

	for _, tc := range []struct {
		sig    syscall.Signal
		method string
		n      int
		code   int
	}{{syscall.SIGINT, "images.bulk.add", 4, 130}, {syscall.SIGKILL, "annotations.bulk.add", 3, -1}, {syscall.SIGKILL, "images.bulk.add", 2, -1}} {
		t.Run(fmt.Sprintf("%v at %s#%d", tc.sig, tc.method, tc.n), func(t *testing.T) {
			s, p := svServer(t)
			cmd, out := svCmd(s, svArgs("run", p.ID))
			var mu sync.Mutex
			seen := 0
			s.OnCall(func(m string) {
				mu.Lock()
				defer mu.Unlock()
				if m == tc.method {
					if seen++; seen == tc.n {
						cmd.Process.Signal(tc.sig)
					}
				}
			})
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != tc.code {
				t.Fatalf("interrupted run: %v\n%s", err, out)
			}
			s.OnCall(nil)
			cmd, out2 := svCmd(s, svArgs("run", p.ID))
			if err := cmd.Run(); err != nil {
				t.Fatalf("resume: %v\n%s", err, out2)
			}
			if got := svState(t, s); got != want {
				t.Fatalf("resumed state differs from a clean run's:\n%s\n---\n%s", got, want)
			}
			if strings.Contains(out.String()+out2.String(), svToken) {
				t.Fatal("the token was printed")
			}
		})
	}
}

// TestUnreachableServerLogged: vpipe run, validate and plan against a server where nothing
// listens says at once where it connects (INFO, the URL, never the token),
// logs each retry (WARN: call, error, attempt k of n, next wait), then fails
// with the transport's error.
func TestUnreachableServerLogged(t *testing.T) {
	for _, sub := range []string{"run", "validate", "plan"} {
		t.Run(sub, func(t *testing.T) { unreachableLogged(t, sub) })
	}
}

// unreachableLogged: vpipe sub (run, validate, plan) against a server that
// refuses connections logs the server and each retried call.
func unreachableLogged(t *testing.T, sub string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, svArgs(sub, 5, "--set", "supervisely.retries=3")...)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "SERVER_ADDRESS="+addr, "API_TOKEN="+svToken)
	out, err := cmd.CombinedOutput()
	log := string(out)
	t.Logf("%v\n%s", err, log)
	if err == nil || !strings.Contains(log, "connection refused") || strings.Contains(log, svToken) {
		t.Fatalf("%s: %v\n%s", sub, err, log)
	}
	if !regexpLine(log, `level=INFO msg="supervisely: connecting" server=`+regexp.QuoteMeta(addr)) {
		t.Fatalf("no INFO line naming %s", addr)
	}
	for k := 1; k <= 3; k++ {
		if !regexpLine(log, fmt.Sprintf(`level=WARN msg="supervisely: call failed; retrying" call=\S+ err=".*connection refused" attempt=%d/4 next_wait=\S+`, k)) {
			t.Errorf("no WARN line for attempt %d of 4", k)
		}
	}
}

// fanOutConfig is a run from the server's project into sinks: [local,
// supervisely], in batches of 3.
func fanOutConfig(t *testing.T, project int64, local string) string {
	p := filepath.Join(t.TempDir(), "fan.yaml")
	yaml := fmt.Sprintf(`source: {type: supervisely, project_id: %d}
sinks:
  - {type: local, path: %s}
  - {type: supervisely}
sampling: {step: 2, resize: {width: 120}, copy_annotations: true}
stages: {batch: {batch_size: 3}}
supervisely: {retry_sleep_ms: 1}
`, project, local)
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFanOutSuperviselyBinary: sinks [local, supervisely] from the config
// file: plan lists both members with their columns; the run registers the
// images in batches of stages.batch.batch_size (not one call per image) and
// leaves on the server what a supervisely-only run leaves, and in the local
// member what a local-only run writes; sinks[1].overwrite_annotations
// re-sends every annotation.
func TestFanOutSuperviselyBinary(t *testing.T) {
	clean, cp := svServer(t)
	if cmd, out := svCmd(clean, svArgs("run", cp.ID)); cmd.Run() != nil {
		t.Fatalf("supervisely-only run:\n%s", out)
	}
	wantServer := svState(t, clean)
	ref := t.TempDir()
	if cmd, out := svCmd(clean, svArgs("run", cp.ID, "--set", "sink.type=local", "--set", "sink.path="+ref)); cmd.Run() != nil {
		t.Fatalf("local-only run:\n%s", out)
	}
	wantLocal := tree(t, ref)

	s, p := svServer(t)
	dir := filepath.Join(t.TempDir(), "out")
	conf := fanOutConfig(t, p.ID, dir)
	cmd, out := svCmd(s, []string{"plan", conf})
	if err := cmd.Run(); err != nil || !strings.Contains(out.String(), "sink 2: supervisely") ||
		!regexpLine(out.String(), `ds0/clip_b.mp4\s+30\s+15\s+0\s+15\s+120x60\s+0\s+0`) {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	cmd, out = svCmd(s, []string{"run", conf})
	if err := cmd.Run(); err != nil || !strings.Contains(out.String(), "videos: 4 ok, 0 failed") {
		t.Fatalf("run: %v\n%s", err, out)
	}
	if n, bound := s.Calls()["images.bulk.add"], batches(wantLocal, 3); n == 0 || n > bound {
		t.Fatalf("images.bulk.add called %d times: more than %d batches of 3", n, bound)
	}
	if got := svState(t, s); got != wantServer {
		t.Fatalf("server after the fan-out:\n%s\n---\n%s", got, wantServer)
	}
	if got := tree(t, dir); fmt.Sprint(got) != fmt.Sprint(wantLocal) {
		t.Fatalf("local member:\n%v\n---\n%v", keys(got), keys(wantLocal))
	}

	before := annPostsOf(svState(t, s))
	cmd, out = svCmd(s, []string{"run", conf, "--set", "sinks[1].overwrite_annotations=true"})
	if err := cmd.Run(); err != nil || !strings.Contains(out.String(), " 0 written") {
		t.Fatalf("overwrite: %v\n%s", err, out)
	}
	after := annPostsOf(svState(t, s))
	for k, n := range before {
		if after[k] != n+1 {
			t.Fatalf("overwrite: %s has %d annotation uploads, %d before", k, after[k], n)
		}
	}
}

// batches is the most registration calls a run writing the local tree's
// images may make in batches of size: ceil(n/size) per dataset.
func batches(localTree map[string]string, size int) int {
	per := map[string]int{}
	for k := range localTree {
		if dir := filepath.Dir(k); filepath.Base(dir) == "img" {
			per[dir]++
		}
	}
	n := 0
	for _, c := range per {
		n += (c + size - 1) / size
	}
	return n
}

// annPostsOf reads svState's lines: dataset/title → annotation uploads.
func annPostsOf(state string) map[string]int {
	out := map[string]int{}
	for _, line := range strings.Split(state, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 {
			n, _ := strconv.Atoi(f[3])
			out[f[1]] = n
		}
	}
	return out
}
