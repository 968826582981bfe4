package main_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/creack/pty"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
)

// onTerminal runs the binary with stdout and stderr on a pseudo-terminal, as a
// user at a shell sees it, and returns everything written to the terminal.
func onTerminal(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = "../.."
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 160})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_, err = io.Copy(&out, tty) // until the child closes its side (EIO on Linux)
	if err != nil && !errors.Is(err, syscall.EIO) {
		t.Fatal(err)
	}
	tty.Close()
	code := 0
	if err := cmd.Wait(); err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	return out.String(), code
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// annotatedWithBroken is the Supervisely sample project plus a video that cannot
// be read, run so that a label is left out (an oriented_bbox cannot be resized).
func annotatedWithBroken(t *testing.T) []string {
	src := t.TempDir()
	copyTree(t, "../../testdata/svproject", src)
	os.WriteFile(filepath.Join(src, "ds0/video/broken.mp4"), []byte("not a video"), 0o644)
	os.WriteFile(filepath.Join(src, "ds0/ann/broken.mp4.json"), []byte(`{"size":{"height":1,"width":1},"tags":[],"objects":[],"frames":[],"framesCount":1}`), 0o644)
	return []string{"run", "pipeline.yaml", "--set", "source.path=" + src, "--set", "sink.path=" + t.TempDir(),
		"--set", "sampling.step=2", "--set", "sampling.only_annotated=true", "--set", "sampling.resize.width=300"}
}

// TestTerminalShowsLogLines: on a terminal, the run line, warnings and a failed
// video's error are printed (above the bars), not discarded.
func TestTerminalShowsLogLines(t *testing.T) {
	args := annotatedWithBroken(t)
	screen, code := onTerminal(t, args...)
	plain := ansi.ReplaceAllString(screen, "")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (one video cannot be read)\n%s", code, plain)
	}
	for _, w := range []string{
		`level=INFO msg=run source="local ` + strings.TrimPrefix(args[3], "source.path=") + `" sink="local `,
		`level=WARN msg="label left out" video=ds0/clip.mp4`,
		`cannot resize a \"oriented_bbox\" geometry`,
		"FAILED ds0/broken.mp4: ",
		"all videos 5 / 5", // the bars were drawn: this was a terminal
		"videos: 2 ok, 1 failed; frames: 5 written",
	} {
		if !strings.Contains(plain, w) {
			t.Errorf("the terminal does not show %q:\n%s", w, plain)
		}
	}
}

// TestLogFile: --log-file gets every line in full (the per-video lines the bars
// stand for on a terminal, warnings, failures, the run's outcome), as JSON with
// --log-format json, and the terminal shows its log lines as JSON too.
func TestLogFile(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "run.log")
	screen, code := onTerminal(t, append(annotatedWithBroken(t), "--log-file", logFile, "--log-format", "json")...)
	plain := ansi.ReplaceAllString(screen, "")
	if code != 1 || !strings.Contains(plain, `"level":"WARN","msg":"label left out","video":"ds0/clip.mp4"`) {
		t.Fatalf("exit %d\n%s", code, plain)
	}
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var rec struct{ Msg, Video string }
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log file line %q: %v", l, err)
		}
		msgs = append(msgs, strings.TrimSpace(rec.Msg+" "+rec.Video))
	}
	all := strings.Join(msgs, "\n")
	for _, w := range []string{"run", "video ds0/clip.mp4", "label left out ds0/clip.mp4", "video done ds0/clip.mp4",
		"video ds0/night/dark.mp4", "video done ds0/night/dark.mp4", "video failed ds0/broken.mp4", "run done"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(w) + `$`).MatchString(all) {
			t.Errorf("log file lacks %q; it has:\n%s", w, all)
		}
	}
	if !strings.Contains(string(b), `"videos_ok":2,"videos_failed":1,"written":5`) {
		t.Errorf("log file lacks the run's outcome:\n%s", b)
	}
	// without a terminal too, and a second run appends
	log, code := vpipe(t, append(annotatedWithBroken(t), "--log-file", logFile)...)
	after, _ := os.ReadFile(logFile)
	if code != 1 || !bytes.HasPrefix(after, b) || !strings.Contains(string(after[len(b):]), `level=WARN msg="label left out"`) ||
		!strings.Contains(log, `level=WARN msg="label left out"`) {
		t.Fatalf("second run (exit %d):\n%s\nlog file after it:\n%s", code, log, after[len(b):])
	}
	if _, code := vpipe(t, "run", "--log-format", "yaml"); code != 2 {
		t.Errorf("--log-format yaml: exit %d, want 2", code)
	}
}

// TestProgressLinesWithoutTerminal: without a terminal, a video's progress is
// logged every --progress-interval between "video" and "video done": frames
// done of those to write, frames/s, ETA.
func TestProgressLinesWithoutTerminal(t *testing.T) {
	long := filepath.Join(t.TempDir(), "long.mp4")
	if o, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=4",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", long).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, o)
	}
	log, code := vpipe(t, "run", "pipeline.yaml", "--set", "source.path="+long, "--set", "sink.path="+t.TempDir(),
		"--set", "sampling.step=1", "--set", "stages.encode.compression=9", "--set", "stages.encode.workers=1",
		"--progress-interval", "20ms")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	start, end := strings.Index(log, "msg=video video=ds0/long.mp4"), strings.Index(log, `msg="video done" video=ds0/long.mp4`)
	if start < 0 || end < start {
		t.Fatalf("no video / video done lines:\n%s", log)
	}
	re := regexp.MustCompile(`msg=progress video=ds0/long.mp4 done=(\d+) to_write=100 fps=[0-9.]+ eta=\S+`)
	m := re.FindAllStringSubmatch(log[start:end], -1)
	if len(m) == 0 {
		t.Fatalf("no progress line between video and video done:\n%s", log)
	}
	last := -1
	for _, x := range m {
		n, _ := strconv.Atoi(x[1])
		if n < last || n >= 100 {
			t.Fatalf("progress goes %d after %d (of 100):\n%s", n, last, log)
		}
		last = n
	}
	if vpipeHelp, _ := vpipe(t, "run", "--help"); !strings.Contains(vpipeHelp, "--progress-interval") {
		t.Errorf("--progress-interval is not in run's help:\n%s", vpipeHelp)
	}
}

// Without a terminal the periodic progress names the run's own totals, not
// only the videos in progress: videos done of the run's, frames written, rate
// and elapsed time.
func TestRunProgressLineE2E(t *testing.T) {
	src := testcorpus.Folder(t, t.TempDir(), testcorpus.Small, "a/v1.mp4", "a/v2.mp4", "b/v3.mp4")
	log, code := vpipe(t, "run", "pipeline.yaml", "--set", "source.path="+src, "--set", "sink.path="+t.TempDir(),
		"--set", "sampling.step=1", "--progress-interval", "1ms")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	re := regexp.MustCompile(`level=INFO msg="run progress" videos_done=[0-3] videos_total=3 videos_failed=0 written=\d+ fps=[\d.]+ elapsed=\S+`)
	if !re.MatchString(log) {
		t.Fatalf("no run progress line:\n%s", log)
	}
}
