package main_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
)

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vpipe-e2e-")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "vpipe")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		panic(fmt.Sprintf("go build: %v\n%s", err, out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// vpipe runs the binary from the repository root and returns its output and exit code.
func vpipe(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = "../.."
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), code
}

// tree lists every file under root with a hash of its content.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[rel] = fmt.Sprintf("%x", sha256.Sum256(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func keys(m map[string]string) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

func TestRunSampleProject(t *testing.T) {
	out := t.TempDir()
	log, code := vpipe(t, "run", "pipeline.yaml", "--set", "sink.path="+out)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	if !strings.Contains(log, "videos: 3 ok, 0 failed; frames: 38 written, 0 skipped") {
		t.Fatalf("summary:\n%s", log)
	}
	files := tree(t, out)
	var imgs int
	for _, f := range keys(files) {
		if strings.Contains(f, "/img/") {
			imgs++
		}
	}
	if imgs != 38 {
		t.Fatalf("%d images", imgs)
	}
	// traffic.mp4 has 100 frames: names are padded to 3 digits; step 5 takes 0, 5, ... 95
	img := filepath.Join(out, "ds0/datasets/traffic.mp4/img/traffic.mp4_frame_095.png")
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	im, err := png.Decode(f)
	f.Close()
	if err != nil || im.Bounds().Dx() != 320 || im.Bounds().Dy() != 180 {
		t.Fatalf("%v %v", err, im.Bounds())
	}
	var meta map[string]any
	b, _ := os.ReadFile(filepath.Join(out, "ds0/datasets/traffic.mp4/meta/traffic.mp4_frame_095.png.json"))
	if err := json.Unmarshal(b, &meta); err != nil || meta["frame_index"] != 95.0 || meta["video_name"] != "traffic.mp4" || meta["time_s"] != 3.8 {
		t.Fatalf("meta %s: %v", b, err)
	}
	var ann struct {
		Size    struct{ Height, Width int }
		Objects []any
	}
	b, _ = os.ReadFile(filepath.Join(out, "street/datasets/phone.mp4/ann/phone.mp4_frame_25.png.json"))
	if err := json.Unmarshal(b, &ann); err != nil || ann.Size.Width != 108 || ann.Size.Height != 192 {
		t.Fatalf("rotated clip's annotation size: %s %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(out, "meta.json")); err != nil {
		t.Fatal(err)
	}

	// a second run writes nothing and says so
	log, code = vpipe(t, "run", "pipeline.yaml", "--set", "sink.path="+out)
	if code != 0 || !strings.Contains(log, "frames: 0 written, 38 skipped") {
		t.Fatalf("re-run (exit %d):\n%s", code, log)
	}
	if again := tree(t, out); fmt.Sprint(again) != fmt.Sprint(files) {
		t.Fatal("re-run changed the output")
	}

	// a re-run with another size must not mix its images with these
	log, code = vpipe(t, "run", "pipeline.yaml", "--set", "sink.path="+out, "--set", "sampling.resize.width=100")
	if code != 1 || !strings.Contains(log, `its images were made with {"autorotate":true,"copy_annotations":true,"filter":"bicubic","format":"png","height":0,"width":0}, this run makes {"autorotate":true,"copy_annotations":true,"filter":"bicubic","format":"png","height":56,"width":100}`) {
		t.Fatalf("re-run with another size: exit %d\n%s", code, log)
	}
	if again := tree(t, out); fmt.Sprint(again) != fmt.Sprint(files) {
		t.Fatal("the refused re-run changed the output")
	}
}

func TestBadInputs(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	good, _ := os.ReadFile("../../testdata/videos/traffic.mp4")
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(src, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("good.mp4", good)
	write("truncated.mp4", good[:len(good)/2]) // faststart: the index survives, the data does not
	write("empty.mp4", nil)
	write("corrupt.mkv", bytes.Repeat([]byte("not a video at all "), 3000))
	nofs := testcorpus.Path(t, testcorpus.Get("h264_bframes")) // moov at the end
	b, _ := os.ReadFile(nofs)
	write("moov_lost.mp4", b[:len(b)/2])
	webm, _ := os.ReadFile(testcorpus.Path(t, testcorpus.Get("vp9")))
	write("truncated.webm", webm[:len(webm)*9/10]) // the segment's declared size says so
	ts, _ := os.ReadFile(testcorpus.Path(t, testcorpus.Get("mpegts")))
	write("truncated.ts", ts[:len(ts)/2]) // ends inside a 188-byte packet
	audio := filepath.Join(src, "audio.mkv")
	if o, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "sine=d=1", audio).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, o)
	}
	log, code := vpipe(t, "run", "pipeline.yaml", "--set", "source.path="+src, "--set", "sink.path="+out, "--set", "sampling.step=1")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, log)
	}
	for _, want := range []string{
		"videos: 1 ok, 7 failed; frames: 100 written",
		"FAILED ds0/truncated.mp4: " + filepath.Join(src, "truncated.mp4") + ": truncated: the MP4 box mdat ends at byte",
		"FAILED ds0/empty.mp4: " + filepath.Join(src, "empty.mp4") + ": empty file",
		"FAILED ds0/corrupt.mkv: " + filepath.Join(src, "corrupt.mkv") + ": not a readable media file",
		"FAILED ds0/moov_lost.mp4: " + filepath.Join(src, "moov_lost.mp4") + ": truncated: the MP4 box mdat ends at byte",
		"FAILED ds0/audio.mkv: " + audio + ": no video stream",
		"FAILED ds0/truncated.webm: " + filepath.Join(src, "truncated.webm") + ": truncated",
		"FAILED ds0/truncated.ts: " + filepath.Join(src, "truncated.ts") + ": truncated",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("missing %q in\n%s", want, log)
		}
	}
	// only the good video's dataset exists, complete; nothing temporary anywhere
	files := tree(t, out)
	for _, f := range keys(files) {
		if !strings.HasPrefix(f, "ds0/datasets/good.mp4/") && f != "meta.json" && !strings.HasSuffix(f, "custom_data.json") {
			t.Errorf("unexpected %s", f)
		}
		if strings.Contains(f, ".vpipe-tmp-") {
			t.Errorf("temporary file left: %s", f)
		}
	}
	if len(files) != 1+3*100+3 {
		t.Errorf("%d files, want meta.json, 300 image files and 3 custom_data.json", len(files))
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("source:\n  path: testdata/videos\nsampling:\n  stpe: 5\n  resize: {hieght: 10}\nsink: {path: out}\n"), 0o644)
	log, code := vpipe(t, "validate", bad)
	if code != 1 || !strings.Contains(log, "sampling.stpe: unknown key (did you mean sampling.step?)") ||
		!strings.Contains(log, "sampling.resize.hieght: unknown key (did you mean sampling.resize.height?)") {
		t.Fatalf("exit %d\n%s", code, log)
	}
	log, code = vpipe(t, "validate", "pipeline.yaml")
	if code != 0 || strings.TrimSpace(log) != "pipeline.yaml: OK" {
		t.Fatalf("exit %d\n%s", code, log)
	}
}

// only_annotated on a plain folder of videos (no annotations): run and plan
// refuse it before anything runs, and validate says the same; the refused
// run prints no summary (nothing ran).
func TestOnlyAnnotatedPlainFolder(t *testing.T) {
	src := testcorpus.Folder(t, t.TempDir(), testcorpus.Small, "a/v1.mp4")
	out := t.TempDir()
	args := []string{"pipeline.yaml", "--set", "source.path=" + src, "--set", "sink.path=" + out, "--set", "sampling.only_annotated=true"}
	const why = "sampling.only_annotated: local " // … has no annotations (it is not a Supervisely video project)
	for _, cmd := range []string{"validate", "plan", "run"} {
		log, code := vpipe(t, append([]string{cmd}, args...)...)
		if code != 1 || !strings.Contains(log, why) || !strings.Contains(log, "has no annotations") || strings.Contains(log, ": OK") {
			t.Errorf("%s: exit %d, want 1 and the refusal\n%s", cmd, code, log)
		}
		if strings.Contains(log, "videos: ") || strings.Contains(log, "frames/s") {
			t.Errorf("%s: a summary of a run that never started:\n%s", cmd, log)
		}
	}
}

// Every problem of a config in one list, the missing source folder among them,
// in the form `key: what (origin)`.
func TestValidateOneList(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("source:\n  path: testdata/no-such-folder\nsampling:\n  resize: 300\nsamplng: {step: 2}\n"), 0o644)
	log, code := vpipe(t, "validate", bad, "--set", "sampling=3")
	want := bad + `: 4 problem(s)
  - source.path: "testdata/no-such-folder" does not exist
  - sampling: --set names a section, not a key: write --set sampling.KEY=3, KEY one of start, end, step, only_annotated, resize.height, resize.width, resize.filter, copy_annotations, autorotate, fps, max_fps, frames, times, frames_file, keyframes_only, scene_threshold, dedup.distance, on_damage
  - sampling.resize: want a section (height: …, width: …, filter: …), got 300
  - samplng: unknown section (did you mean sampling?)`
	if code != 1 || strings.TrimSpace(log) != want {
		t.Fatalf("exit %d\n%s\nwant:\n%s", code, log, want)
	}
}

// A source reached through symlinks: the root, a sub-folder and a video are
// links; a loop is skipped with a warning naming it, and the run ends.
func TestSymlinkedSource(t *testing.T) {
	dir := t.TempDir()
	videos, _ := filepath.Abs("../../testdata/videos")
	src, out := filepath.Join(dir, "src"), filepath.Join(dir, "out")
	if err := os.MkdirAll(filepath.Join(dir, "real", "street2"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range [][2]string{{"src", "real"}, {"real/clip.mp4", filepath.Join(videos, "traffic.mp4")},
		{"real/street", filepath.Join(videos, "street")}, {"real/street2/back", ".."}} {
		if err := os.Symlink(l[1], filepath.Join(dir, l[0])); err != nil {
			t.Fatal(err)
		}
	}
	log, code := vpipe(t, "run", "pipeline.yaml", "--set", "source.path="+src, "--set", "sink.path="+out, "--set", "sampling.end=1")
	if code != 0 || !strings.Contains(log, "videos: 3 ok, 0 failed; frames: 3 written") ||
		!strings.Contains(log, `msg="skipped a symlink loop" path=`+filepath.Join(src, "street2", "back")) {
		t.Fatalf("exit %d\n%s", code, log)
	}
	for _, f := range []string{"ds0/datasets/clip.mp4/img/clip.mp4_frame_000.png", "street/datasets/phone.mp4/img/phone.mp4_frame_00.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%v\n%s", err, log)
		}
	}
}

func TestPlanWritesNothing(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	log, code := vpipe(t, "plan", "pipeline.yaml", "--set", "sink.path="+out, "--set", "sampling.end=50")
	if code != 0 || !regexpLine(log, `ds0/traffic.mp4\s+100\s+10\s+0\s+10\s+320x180`) || !regexpLine(log, `TOTAL \(3 videos\)`) {
		t.Fatalf("exit %d\n%s", code, log)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatal("plan created the sink folder")
	}
}

// TestInterruptAndResume: SIGINT mid-run stops cleanly (exit 130, only complete
// images on disk), and a second run completes to exactly what one clean run writes.
func TestInterruptAndResume(t *testing.T) {
	args := slowRun(t, 12)
	clean := t.TempDir()
	if log, code := vpipe(t, args(clean)...); code != 0 {
		t.Fatalf("clean run: %d\n%s", code, log)
	}
	out := t.TempDir()
	rep := filepath.Join(t.TempDir(), "report.json")
	cmd := exec.Command(bin, append(args(out), "--report", rep)...)
	cmd.Dir = "../.."
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	imgDir := filepath.Join(out, "ds0/datasets/long.mp4/img")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if e, _ := os.ReadDir(imgDir); len(e) >= 20 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 || !strings.Contains(log.String(), "interrupted") {
		t.Fatalf("interrupted run: %v\n%s", err, log.String())
	}
	partial := tree(t, out)
	n := 0
	for _, f := range keys(partial) {
		if strings.Contains(f, ".vpipe-tmp-") {
			t.Errorf("temporary file left: %s", f)
		}
		if strings.Contains(f, "/img/") {
			n++
			if partial[f] != tree(t, clean)[f] {
				t.Errorf("%s differs from the clean run's", f)
			}
			if _, ok := partial[strings.Replace(f, "/img/", "/ann/", 1)+".json"]; !ok {
				t.Errorf("%s has no annotation", f)
			}
		}
	}
	if n == 0 || n >= 300 {
		t.Fatalf("interrupted run wrote %d of 300 images; the test needs a run cut in the middle", n)
	}
	t.Logf("interrupted after %d images", n)
	if want := fmt.Sprintf("videos: 0 ok, 0 failed, 1 interrupted; frames: %d written, 0 skipped", n); !strings.Contains(log.String(), want) {
		t.Fatalf("summary: want %q in\n%s", want, log.String())
	}
	checkInterruptedReport(t, rep, n)
	rlog, code := vpipe(t, args(out)...)
	if code != 0 || !strings.Contains(rlog, fmt.Sprintf("%d written, %d skipped", 300-n, n)) {
		t.Fatalf("resume: exit %d\n%s", code, rlog)
	}
	if a, b := tree(t, out), tree(t, clean); fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatal("resumed output differs from a clean run's")
	}
}

func TestFramesCommand(t *testing.T) {
	v := testcorpus.Get("h264_bframes")
	path := testcorpus.Path(t, v)
	out := t.TempDir()
	log, code := vpipe(t, "frames", path, "-o", out, "--start", "3", "--end", "20", "--step", "4", "--resize", "80x0")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	want := []int{3, 7, 11, 15, 19}
	ref, w, h := testcorpus.Reference(t, path, want, "80:60", "bicubic")
	entries, _ := os.ReadDir(out)
	if len(entries) != len(want)+1 { // the frames and vpipe's record of what made them
		t.Fatalf("%d files", len(entries))
	}
	for k, i := range want {
		f, err := os.Open(filepath.Join(out, fmt.Sprintf("frame_%06d.png", i)))
		if err != nil {
			t.Fatal(err)
		}
		im, err := png.Decode(f)
		f.Close()
		if err != nil || im.Bounds().Dx() != w || im.Bounds().Dy() != h {
			t.Fatalf("frame %d: %v %v", i, err, im.Bounds())
		}
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				r, g, b, _ := im.At(x, y).RGBA()
				o := 3 * (y*w + x)
				if byte(r>>8) != ref[k][o] || byte(g>>8) != ref[k][o+1] || byte(b>>8) != ref[k][o+2] {
					t.Fatalf("frame %d differs from ffmpeg at %d,%d", i, x, y)
				}
			}
		}
	}
}

// TestDamagedAVI: an H.264 AVI with B-frames whose keyframe packet 24 is zeroed.
// Asking for every frame fails naming a frame of the damaged GOP and leaves no
// image behind; asking for the frames after it writes exactly what the intact
// file gives (the old numbering wrote the intact file's frame i+1 as frame i).
func TestDamagedAVI(t *testing.T) {
	intact := testcorpus.Path(t, testcorpus.Get("h264_avi"))
	damaged := testcorpus.ZeroPacket(t, intact, 24)
	all := t.TempDir()
	log, code := vpipe(t, "frames", damaged, "-o", all)
	if code != 1 || !strings.Contains(log, damaged+": frame 24: ") {
		t.Fatalf("every frame: exit %d, want 1 naming frame 24\n%s", code, log)
	}
	if files := tree(t, all); len(files) != 0 {
		t.Fatalf("a failed video left %d files", len(files))
	}
	got, want := t.TempDir(), t.TempDir()
	for _, r := range []struct{ src, dir string }{{damaged, got}, {intact, want}} {
		if log, code := vpipe(t, "frames", r.src, "-o", r.dir, "--start", "36"); code != 0 {
			t.Fatalf("frames 36-: exit %d\n%s", code, log)
		}
	}
	g, w := withoutRecord(t, got), withoutRecord(t, want) // the records name two different files
	if len(g) != 39 || fmt.Sprint(g) != fmt.Sprint(w) {
		t.Fatalf("frames 36-74 of the damaged file (%d files) differ from the intact file's (%d)", len(g), len(w))
	}
}

// TestSIGTERM: SIGTERM stops a run as SIGINT does: a clean stop, exit 143
// (128 + 15), a summary counting what is on disk and the video as interrupted.
func TestSIGTERM(t *testing.T) {
	long := filepath.Join(t.TempDir(), "long.mp4")
	if o, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=12",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", long).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, o)
	}
	out := t.TempDir()
	cmd := exec.Command(bin, "run", "pipeline.yaml", "--set", "source.path="+long, "--set", "sink.path="+out,
		"--set", "sampling.step=1", "--set", "stages.encode.compression=9", "--set", "stages.encode.workers=1")
	cmd.Dir = "../.."
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	imgDir := filepath.Join(out, "ds0/datasets/long.mp4/img")
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if e, _ := os.ReadDir(imgDir); len(e) >= 10 {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 143 || !strings.Contains(log.String(), "vpipe: interrupted (SIGTERM)") {
		t.Fatalf("exit %v, want 143\n%s", err, log.String())
	}
	e, _ := os.ReadDir(imgDir)
	if want := fmt.Sprintf("videos: 0 ok, 0 failed, 1 interrupted; frames: %d written", len(e)); len(e) == 0 || len(e) >= 300 || !strings.Contains(log.String(), want) {
		t.Fatalf("%d images on disk; want %q in\n%s", len(e), want, log.String())
	}
}

// TestSinkInsideSource: a sink.path that is, lies inside or holds source.path
// (through a symlink or ..) is refused before anything is written, naming both.
func TestSinkInsideSource(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	b, _ := os.ReadFile("../../testdata/videos/traffic.mp4")
	os.WriteFile(filepath.Join(src, "traffic.mp4"), b, 0o644)
	link := filepath.Join(t.TempDir(), "link")
	os.Symlink(src, link)
	before := tree(t, dir)
	for _, c := range [][2]string{
		{src, "is"},
		{filepath.Join(link, "out"), "is inside"},
		{filepath.Join(src, "ds0", "..", "out"), "is inside"},
		{dir, "holds"},
	} {
		for _, command := range []string{"run", "plan"} {
			log, code := vpipe(t, command, "pipeline.yaml", "--set", "source.path="+src, "--set", "sink.path="+c[0])
			if code != 1 || !strings.Contains(log, "sink.path "+c[0]) || !strings.Contains(log, " "+c[1]+" source.path "+src) {
				t.Errorf("%s, sink.path %s: exit %d\n%s", command, c[0], code, log)
			}
		}
	}
	if after := tree(t, dir); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("a refused run wrote: %v", keys(after))
	}
}

// TestPlanMakesRunsChecks: plan reports what run would refuse, per video (other
// output settings, two videos with one destination) or for the whole run (a
// broken sink meta.json, a meta conflict), exits 1, and writes nothing.
func TestPlanMakesRunsChecks(t *testing.T) {
	out := t.TempDir()
	if log, code := vpipe(t, "run", "pipeline.yaml", "--set", "sink.path="+out, "--set", "sampling.end=1"); code != 0 {
		t.Fatalf("run: exit %d\n%s", code, log)
	}
	before := tree(t, out)
	log, code := vpipe(t, "plan", "pipeline.yaml", "--set", "sink.path="+out, "--set", "sampling.resize.width=100")
	if code != 1 || strings.Count(log, "ERROR: "+out) != 3 || !strings.Contains(log, "its images were made with") ||
		!strings.Contains(log, "3 video(s) would fail") {
		t.Fatalf("other settings: exit %d\n%s", code, log)
	}

	src := t.TempDir()
	b, _ := os.ReadFile("../../testdata/videos/traffic.mp4")
	os.WriteFile(filepath.Join(src, "a.mp4"), b, 0o644)
	os.MkdirAll(filepath.Join(src, "ds0"), 0o755)
	os.WriteFile(filepath.Join(src, "ds0", "a.mp4"), b[:len(b)/2], 0o644)
	log, code = vpipe(t, "plan", "pipeline.yaml", "--set", "sink.path="+out, "--set", "source.path="+src)
	if code != 1 || !regexpLine(log, `ds0/a.mp4\s+ERROR: `+filepath.Join(src, "a.mp4")+`: its dataset ds0/a.mp4 is also where `+filepath.Join(src, "ds0", "a.mp4")+` goes`) {
		t.Fatalf("clash: exit %d\n%s", code, log)
	}

	os.WriteFile(filepath.Join(out, "meta.json"), []byte(`{"classes": [`), 0o644)
	before["meta.json"] = tree(t, out)["meta.json"]
	log, code = vpipe(t, "plan", "pipeline.yaml", "--set", "sink.path="+out)
	if code != 1 || !strings.Contains(log, "vpipe: run would stop before writing: "+filepath.Join(out, "meta.json")) {
		t.Fatalf("broken meta.json: exit %d\n%s", code, log)
	}

	os.WriteFile(filepath.Join(out, "meta.json"), []byte(`{"classes": [{"title": "car", "shape": "polygon", "color": "#FF0000"}], "tags": []}`), 0o644)
	before["meta.json"] = tree(t, out)["meta.json"]
	log, code = vpipe(t, "plan", "pipeline.yaml", "--set", "sink.path="+out, "--set", "source.path=testdata/svproject")
	if code != 1 || !strings.Contains(log, "cannot merge the source project's meta") {
		t.Fatalf("meta conflict: exit %d\n%s", code, log)
	}
	if after := tree(t, out); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatal("plan wrote")
	}
}

// TestSalvageUnknownCount: an AVI cut short keeps no frame count (its index
// was at the end), so the frames past what it holds are missing, unlisted.
// Salvaging it with a step that happens to miss the last, uncertain frame must
// still exit 3 (partial), not 0 as if the video were whole; a window that ends
// inside what the file holds is whole.
func TestSalvageUnknownCount(t *testing.T) {
	intact := testcorpus.Path(t, testcorpus.Get("h264_avi"))
	b, err := os.ReadFile(intact)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.avi")
	if err := os.WriteFile(cut, b[:len(b)*6/10], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"5", "7"} {
		log, code := vpipe(t, "frames", cut, "-o", t.TempDir(), "--on-damage", "salvage", "--step", step)
		if code != 3 || !strings.Contains(log, "PARTIAL frames/cut.avi: no listed frame missing, later ones may be (damaged: ") ||
			!strings.Contains(log, "does not say how many frames") {
			t.Fatalf("--step %s: exit %d, want 3 and a PARTIAL line saying the count is unknown\n%s", step, code, log)
		}
	}
	if log, code := vpipe(t, "frames", cut, "-o", t.TempDir(), "--on-damage", "salvage", "--end", "20"); code != 0 {
		t.Fatalf("--end 20: exit %d, want 0\n%s", code, log)
	}
}

// slowRun makes a 640x360 clip of secs seconds (25 fps) and returns the
// arguments of a run that writes every frame of it slowly (PNG level 9, one
// encoder) into the sink folder given: long enough to act on mid-run.
func slowRun(t *testing.T, secs int) func(out string) []string {
	t.Helper()
	long := filepath.Join(t.TempDir(), "long.mp4")
	if o, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=s=640x360:r=25:d=%d", secs),
		"-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-pix_fmt", "yuv420p", long).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, o)
	}
	return func(out string) []string {
		return []string{"run", "pipeline.yaml", "--set", "source.path=" + long, "--set", "sink.path=" + out,
			"--set", "sampling.step=1", "--set", "stages.encode.compression=9", "--set", "stages.encode.workers=1"}
	}
}
