package main_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
)

// mountTmpfs mounts a tmpfs of size at a new folder and unmounts it when the
// test ends; it skips the test, saying why, where mounting is not permitted.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "small-disk")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if o, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a %s tmpfs for a real 'no space left on device' (needs root or CAP_SYS_ADMIN): %v %s", size, err, o)
	}
	t.Cleanup(func() {
		if o, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, o)
		}
	})
	return dir
}

// A disk that fills up mid-video (a 200 KiB tmpfs, a real ENOSPC) fails the
// video and leaves nothing of it: no annotation or meta without its image.
// Once space is freed, a re-run ends with exactly the tree of one clean run.
func TestDiskFullLeavesNothing(t *testing.T) {
	video := filepath.Join(t.TempDir(), "clip.mp4")
	if o, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=10:d=3",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", video).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, o)
	}
	args := func(out string) []string {
		return []string{"run", "pipeline.yaml", "--set", "source.path=" + video, "--set", "sink.path=" + out, "--set", "sampling.step=1"}
	}
	clean := t.TempDir()
	if log, code := vpipe(t, args(clean)...); code != 0 {
		t.Fatalf("clean run: exit %d\n%s", code, log)
	}
	var size int64
	filepath.Walk(clean, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			size += fi.Size()
		}
		return nil
	})
	disk := mountTmpfs(t, "200k")
	out := filepath.Join(disk, "out")
	log, code := vpipe(t, args(out)...)
	t.Logf("clean run: %d bytes; run on a 200 KiB disk: exit %d", size, code)
	if code == 0 || !strings.Contains(log, "no space left on device") {
		t.Fatalf("a run on a disk too small for its %d bytes: exit %d, want a failure naming ENOSPC\n%s", size, code, log)
	}
	// The parent dataset's custom data (ds0/custom_data.json) may stay: it
	// is its siblings' too, and a clean run writes the same bytes.
	for _, f := range keys(tree(t, out)) {
		if strings.HasPrefix(f, "ds0/datasets/") || strings.Contains(f, ".vpipe-tmp-") {
			t.Errorf("the failed video left %s", f)
		}
	}
	if o, err := exec.Command("mount", "-o", "remount,size=64m", disk).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, o)
	}
	if log, code := vpipe(t, args(out)...); code != 0 {
		t.Fatalf("re-run with space freed: exit %d\n%s", code, log)
	}
	if a, b := tree(t, out), tree(t, clean); fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("re-run after a full disk differs from a clean run:\n%v\n%v", keys(a), keys(b))
	}
}

// Two unsharded runs of one config into one local sink, the second started
// while the first writes (held after its first image by VPIPE_TEST_HOLD_AFTER_FIRST_IMAGE until
// the second has ended): the second refuses up front, naming the first
// (pid, since when), and writes nothing; the first ends with exactly the
// tree of one clean run.
func TestSecondRunRefused(t *testing.T) {
	args := slowRun(t, 2)
	clean := t.TempDir()
	if log, code := vpipe(t, args(clean)...); code != 0 {
		t.Fatalf("clean run: %d\n%s", code, log)
	}
	out, hold := t.TempDir(), filepath.Join(t.TempDir(), "release")
	first := exec.Command(bin, args(out)...)
	first.Dir = "../.."
	first.Env = append(os.Environ(), "VPIPE_TEST_HOLD_AFTER_FIRST_IMAGE="+hold) // test-only: it holds after its first image until hold exists
	var log1 bytes.Buffer
	first.Stdout, first.Stderr = &log1, &log1
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- first.Wait() }()
	defer func() { // never leave the first run held, whatever failed
		os.WriteFile(hold, nil, 0o644)
	}()
	imgDir := filepath.Join(out, "ds0/datasets/long.mp4/img")
	guard := time.After(2 * time.Minute) // against a hang, not a timed assertion
	for e, _ := os.ReadDir(imgDir); len(e) == 0; e, _ = os.ReadDir(imgDir) {
		select {
		case err := <-done:
			t.Fatalf("the first run ended before writing an image: %v\n%s", err, log1.String())
		case <-guard:
			first.Process.Kill()
			t.Fatalf("the first run wrote no image:\n%s", log1.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	log2, code2 := vpipe(t, args(out)...)
	select {
	case err := <-done:
		t.Fatalf("the first run ended while held: %v\n%s", err, log1.String())
	default:
	}
	if err := os.WriteFile(hold, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var err1 error
	select {
	case err1 = <-done:
	case <-time.After(5 * time.Minute): // against a hang, not a timed assertion
		first.Process.Kill()
		t.Fatalf("the first run did not end once released:\n%s", log1.String())
	}
	if err1 != nil {
		t.Fatalf("first run: %v\n%s", err1, log1.String())
	}
	if !strings.Contains(log1.String(), "videos: 1 ok, 0 failed; frames: 50 written") {
		t.Fatalf("first run:\n%s", log1.String())
	}
	pid := strconv.Itoa(first.Process.Pid)
	if code2 == 0 || !strings.Contains(log2, "pid "+pid) || !strings.Contains(log2, "since ") {
		t.Fatalf("second run into a sink being written: exit %d, want a refusal naming pid %s and since when\n%s", code2, pid, log2)
	}
	t.Logf("second run: %s", strings.TrimSpace(lastLine(log2)))
	if a, b := tree(t, out), tree(t, clean); fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("the first run's tree differs from a clean run's:\n%v\n%v", keys(a), keys(b))
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// An image whose annotation or meta was deleted is written again by a
// re-run, which ends with exactly the tree of one clean run.
func TestResumeRepairsImage(t *testing.T) {
	src := testcorpus.Folder(t, t.TempDir(), testcorpus.Small, "a/v1.mp4", "a/v2.mp4")
	out := t.TempDir()
	args := []string{"run", "pipeline.yaml", "--set", "source.path=" + src, "--set", "sink.path=" + out, "--set", "sampling.step=1"}
	if log, code := vpipe(t, args...); code != 0 {
		t.Fatalf("run: exit %d\n%s", code, log)
	}
	clean := tree(t, out)
	for _, kind := range []string{"ann", "meta"} {
		p := filepath.Join(out, "a/datasets/v2.mp4", kind, "v2.mp4_frame_04.png.json")
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s: %v (tree: %v)", kind, err, keys(clean))
		}
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		log, code := vpipe(t, args...)
		if code != 0 || !strings.Contains(log, "frames: 1 written, 19 skipped") {
			t.Fatalf("re-run with one %s/*.json deleted: exit %d, want 1 written, 19 skipped\n%s", kind, code, log)
		}
		if got := tree(t, out); fmt.Sprint(got) != fmt.Sprint(clean) {
			t.Fatalf("repaired tree (%s deleted) differs from the clean run's:\n%v\n%v", kind, keys(got), keys(clean))
		}
	}
}
