package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	sv "github.com/vpipe/vpipe/supervisely"
)

// vfr3 is 1 s at 10 fps, 1 s at 30 fps and 1 s at 15 fps (55 frames),
// concatenated with their timestamps kept (-fps_mode passthrough into
// Matroska, 1/1000 time base): x264 puts keyframes at 0 and at cuts it finds.
var vfr3 = testcorpus.Video{Name: "vfr3", File: "vfr3.mkv", Frames: 55, Exact: true, Steps: [][]string{{
	"-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=1[a];testsrc2=s=160x120:r=30:d=1[b];testsrc2=s=160x120:r=15:d=1[c];[a][b][c]concat=n=3:v=1",
	"-fps_mode", "passthrough", "-c:v", "libx264", "-bf", "2", "-g", "12", "-pix_fmt", "yuv420p", "{out}"}}}

// stills is three still shots of 2 s each at 25 fps (150 frames: cuts at 50
// and 100): SMPTE bars, testsrc's first frame, a Mandelbrot set, under
// temporal noise, so no two frames of a shot decode alike.
var stills = testcorpus.Video{Name: "stills", File: "stills.mp4", Frames: 150, Exact: true, Steps: [][]string{{
	"-f", "lavfi", "-i", "smptebars=s=320x240:r=25:d=2[a];testsrc=s=320x240:r=25:d=2,trim=end_frame=1,loop=loop=49:size=1[b];" +
		"mandelbrot=s=320x240:r=25,trim=end_frame=1,loop=loop=49:size=1[c];[a][b][c]concat=n=3:v=1,noise=alls=12:allf=t+u",
	"-c:v", "libx264", "-bf", "2", "-pix_fmt", "yuv420p", "{out}"}}}

// ffmpegRGB runs the CLI and returns its rgb24 frames of w×h.
func ffmpegRGB(t *testing.T, w, h int, args ...string) [][]byte {
	t.Helper()
	a := append([]string{"-hide_banner", "-loglevel", "error"}, args...)
	a = append(a, "-pix_fmt", "rgb24", "-f", "rawvideo", "-")
	var out, errb bytes.Buffer
	cmd := exec.Command("ffmpeg", a...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(a, " "), err, errb.String())
	}
	fs := 3 * w * h
	if out.Len()%fs != 0 {
		t.Fatalf("ffmpeg gave %d bytes, not a whole number of %dx%d frames", out.Len(), w, h)
	}
	var frames [][]byte
	for i := 0; i < out.Len(); i += fs {
		frames = append(frames, out.Bytes()[i:i+fs])
	}
	return frames
}

// written lists the frame indices in a vpipe frames folder, and their RGB.
func written(t *testing.T, dir string) ([]int, [][]byte) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var idx []int
	for _, e := range entries {
		var i int
		if _, err := fmt.Sscanf(e.Name(), "frame_%06d.png", &i); err == nil {
			idx = append(idx, i)
		}
	}
	sort.Ints(idx)
	var rgb [][]byte
	for _, i := range idx {
		f, err := os.Open(filepath.Join(dir, fmt.Sprintf("frame_%06d.png", i)))
		if err != nil {
			t.Fatal(err)
		}
		im, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		b := im.Bounds()
		px := make([]byte, 0, 3*b.Dx()*b.Dy())
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < b.Dx(); x++ {
				r, g, bl, _ := im.At(x, y).RGBA()
				px = append(px, byte(r>>8), byte(g>>8), byte(bl>>8))
			}
		}
		rgb = append(rgb, px)
	}
	return idx, rgb
}

// frames runs vpipe frames into a new folder and returns what it wrote.
func framesOf(t *testing.T, video string, flags ...string) ([]int, [][]byte, string) {
	t.Helper()
	out := t.TempDir()
	log, code := vpipe(t, append([]string{"frames", video, "-o", out}, flags...)...)
	if code != 0 {
		t.Fatalf("vpipe frames %v: exit %d\n%s", flags, code, log)
	}
	idx, rgb := written(t, out)
	return idx, rgb, log
}

func sameFrames(t *testing.T, what string, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: vpipe wrote %d frames, the CLI %d", what, len(got), len(want))
	}
	for k := range got {
		if !bytes.Equal(got[k], want[k]) {
			t.Errorf("%s: frame %d of %d differs from the CLI's", what, k, len(got))
		}
	}
}

// TestFPSOnVFR: --fps F writes exactly the frames the CLI's fps filter gives
// with round=up (ffmpeg -i vfr3.mkv -vf fps=F:round=up -fps_mode passthrough),
// byte for byte, and they are the hand-derived frames displayed at k/F.
func TestFPSOnVFR(t *testing.T) {
	path := testcorpus.Path(t, vfr3)
	for _, c := range []struct {
		fps  string
		want []int
	}{
		{"1", []int{0, 10, 40}},
		// 10 fps: 0 .2 .5 .7; 30 fps (ms): 1000 1233 1500 1733; 15 fps: 2000 2200 2467 2733
		{"4", []int{0, 2, 5, 7, 10, 17, 25, 32, 40, 43, 47, 51}},
	} {
		idx, rgb, _ := framesOf(t, path, "--fps", c.fps)
		if fmt.Sprint(idx) != fmt.Sprint(c.want) {
			t.Errorf("--fps %s: frames %v, want %v", c.fps, idx, c.want)
		}
		sameFrames(t, "--fps "+c.fps, rgb, ffmpegRGB(t, 160, 120, "-i", path, "-vf", "fps="+c.fps+":round=up", "-fps_mode", "passthrough"))
	}
	// Where the rule and the CLI part: the CLI counts instants from the file's
	// start (here the audio's, 3 ms before the first video frame), vpipe from
	// frame 0. Plain fps=1 then gives frames 24 and 49 (shown at 1.0 and 2.0 s
	// of the file); vpipe gives 0 and 25 (0 and 1.0 s after frame 0, at 0.003
	// and 1.003 s) — the CLI's output once its timestamps start at frame 0:
	// -vf setpts=PTS-STARTPTS,fps=F:round=up.
	af := testcorpus.Path(t, testcorpus.Get("audio_first"))
	for _, c := range []struct {
		fps  string
		want []int
	}{{"1", []int{0, 25}}, {"4", []int{0, 6, 12, 18, 25, 31, 37, 43}}} { // 25 fps: frame i at i×40 ms after frame 0
		idx, rgb, _ := framesOf(t, af, "--fps", c.fps)
		if fmt.Sprint(idx) != fmt.Sprint(c.want) {
			t.Errorf("audio_first --fps %s: frames %v, want %v", c.fps, idx, c.want)
		}
		sameFrames(t, "audio_first --fps "+c.fps, rgb, ffmpegRGB(t, 160, 120, "-i", af, "-map", "0:v:0", "-vf", "setpts=PTS-STARTPTS,fps="+c.fps+":round=up", "-fps_mode", "passthrough"))
	}
	plain := ffmpegRGB(t, 160, 120, "-i", af, "-map", "0:v:0", "-vf", "fps=1:round=up", "-fps_mode", "passthrough")
	ref, _, _ := testcorpus.Reference(t, af, []int{24, 49}, "", "bicubic")
	sameFrames(t, "the CLI's plain fps=1 on audio_first (frames 24, 49)", plain, ref)

	// max_fps above the mean rate (55 frames in 2.966 s) keeps every frame; below it, as fps
	if idx, _, _ := framesOf(t, path, "--max-fps", "30"); len(idx) != 55 {
		t.Errorf("--max-fps 30: %d frames, want all 55", len(idx))
	}
	if idx, _, _ := framesOf(t, path, "--max-fps", "1"); fmt.Sprint(idx) != "[0 10 40]" {
		t.Errorf("--max-fps 1: %v", idx)
	}
}

// TestFramesTimesKeyframes: --frames and --times pick the CLI's select at
// those indices; --keyframes equals the CLI's -skip_frame nokey output, frame
// by frame and by time.
func TestFramesTimesKeyframes(t *testing.T) {
	path := testcorpus.Path(t, vfr3)
	idx, rgb, _ := framesOf(t, path, "--frames", "40,3,17,3")
	if fmt.Sprint(idx) != "[3 17 40]" {
		t.Errorf("--frames: %v", idx)
	}
	ref, _, _ := testcorpus.Reference(t, path, []int{3, 17, 40}, "", "bicubic")
	sameFrames(t, "--frames", rgb, ref)

	// 0.15 s shows frame 1 (0.1 s); 1.234 s frame 17 (1.233); 2.5 s frame 47 (2.467)
	idx, rgb, _ = framesOf(t, path, "--times", "0.15,00:00:01.234,0:02.5")
	if fmt.Sprint(idx) != "[1 17 47]" {
		t.Errorf("--times: %v", idx)
	}
	ref, _, _ = testcorpus.Reference(t, path, []int{1, 17, 47}, "", "bicubic")
	sameFrames(t, "--times", rgb, ref)

	idx, rgb, _ = framesOf(t, path, "--keyframes")
	sameFrames(t, "--keyframes", rgb, ffmpegRGB(t, 160, 120, "-skip_frame", "nokey", "-i", path, "-fps_mode", "passthrough"))
	// the CLI's keyframes by time, against the times of the indices vpipe wrote
	out, err := exec.Command("ffmpeg", "-hide_banner", "-skip_frame", "nokey", "-i", path, "-vf", "showinfo", "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	var cli []string
	for _, m := range regexp.MustCompile(`pts_time:(\S+)`).FindAllStringSubmatch(string(out), -1) {
		cli = append(cli, m[1])
	}
	times := ptsTimes(t, path)
	var ours []string
	for _, i := range idx {
		ours = append(ours, times[i])
	}
	if len(idx) < 3 || strings.Join(ours, " ") != strings.Join(cli, " ") {
		t.Errorf("--keyframes wrote frames at %v (%v), the CLI's -skip_frame nokey at %v", ours, idx, cli)
	}

	// out of range: the video fails, naming the entry and the video's length
	for flag, want := range map[string]string{
		"--frames=3,55": "sampling.frames[1]: frame 55 is out of range: the video has 55 frames (0-54), 2.966 s",
		"--times=1,3":   `sampling.times[1]: time "3" (3.000 s) is past the end of the video: 2.966 s, 55 frames`,
	} {
		log, code := vpipe(t, "frames", path, "-o", t.TempDir(), flag)
		if code != 1 || !strings.Contains(log, want) {
			t.Errorf("%s: exit %d, want 1 and %q in\n%s", flag, code, want, log)
		}
	}
	if log, code := vpipe(t, "frames", path, "-o", t.TempDir(), "--fps", "2", "--frames", "1"); code != 2 ||
		!strings.Contains(log, "sampling.frames: [1] cannot be used with sampling.fps (2)") {
		t.Errorf("--fps with --frames: exit %d\n%s", code, log)
	}
}

// ptsTimes are the frames' presentation times as ffprobe prints them, in order.
func ptsTimes(t *testing.T, path string) []string {
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=pts_time", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	var ts []float64
	for _, l := range strings.Fields(string(out)) {
		f, _ := strconv.ParseFloat(l, 64)
		ts = append(ts, f)
	}
	sort.Float64s(ts)
	s := make([]string, len(ts))
	for i, f := range ts {
		s[i] = strconv.FormatFloat(f, 'f', -1, 64)
	}
	return s
}

// TestContentRules: on three still shots, dedup keeps one frame per shot and
// scene_threshold keeps the first frame and the two cuts; the same set on a
// second run, and when a run resumes a folder a cut-short run left (the last
// kept frame missing: frames already there are decoded again to rebuild the
// chain of last kept frames, not written).
func TestContentRules(t *testing.T) {
	path := testcorpus.Path(t, stills)
	// the noise tells frames of a shot apart: distance 0 keeps many of them
	if idx, _, _ := framesOf(t, path, "--dedup", "0"); len(idx) < 10 {
		t.Fatalf("--dedup 0 kept only %v: the shots are not noisy enough to test anything", idx)
	}
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--dedup", "10"}, "[0 50 100]"},
		{[]string{"--scene", "0.1"}, "[0 50 100]"},
		{[]string{"--scene", "0.05", "--dedup", "4", "--step", "2"}, "[0 50 100]"},
	} {
		out := t.TempDir()
		log, code := vpipe(t, append([]string{"frames", path, "-o", out}, c.flags...)...)
		if code != 0 || !strings.Contains(log, "3 written, 0 skipped (already there), ") || !strings.Contains(log, " dropped (scene_threshold/dedup)") {
			t.Fatalf("%v: exit %d\n%s", c.flags, code, log)
		}
		idx, _ := written(t, out)
		if fmt.Sprint(idx) != c.want {
			t.Fatalf("%v: kept %v, want %s", c.flags, idx, c.want)
		}
		first := tree(t, out)
		again, _, _ := framesOf(t, path, c.flags...)
		if fmt.Sprint(again) != c.want {
			t.Errorf("%v: a second run kept %v", c.flags, again)
		}
		// resume: a run cut short before its last kept frame
		os.Remove(filepath.Join(out, "frame_000100.png"))
		log, code = vpipe(t, append([]string{"frames", path, "-o", out}, c.flags...)...)
		if code != 0 || !strings.Contains(log, "1 written, 2 skipped") {
			t.Fatalf("%v: resume: exit %d\n%s", c.flags, code, log)
		}
		if fmt.Sprint(tree(t, out)) != fmt.Sprint(first) {
			t.Errorf("%v: the resumed folder differs from a whole run's", c.flags)
		}
		// and one missing in the middle: the frames after it are there, and skipped
		os.Remove(filepath.Join(out, "frame_000050.png"))
		log, code = vpipe(t, append([]string{"frames", path, "-o", out}, c.flags...)...)
		if code != 0 || !strings.Contains(log, "1 written, 2 skipped") || fmt.Sprint(tree(t, out)) != fmt.Sprint(first) {
			t.Fatalf("%v: resume with frame 50 missing: exit %d\n%s", c.flags, code, log)
		}
	}
}

// stillsLong is stills at 640x360 with shots of 6 s (450 frames: cuts at 150
// and 300), long enough to stop a run between its kept frames.
var stillsLong = testcorpus.Video{Name: "stills_long", File: "stills_long.mp4", Frames: 450, Exact: true, Steps: [][]string{{
	"-f", "lavfi", "-i", "smptebars=s=640x360:r=25:d=6[a];testsrc=s=640x360:r=25:d=6,trim=end_frame=1,loop=loop=149:size=1[b];" +
		"mandelbrot=s=640x360:r=25,trim=end_frame=1,loop=loop=149:size=1[c];[a][b][c]concat=n=3:v=1,noise=alls=12:allf=t+u",
	"-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-pix_fmt", "yuv420p", "{out}"}}}

// TestContentRulesInterrupted: a dedup run stopped by SIGINT after its first
// kept frame, then run again, ends with the frames of an uninterrupted run.
func TestContentRulesInterrupted(t *testing.T) {
	path := testcorpus.Path(t, stillsLong)
	flags := []string{"--dedup", "10"}
	clean, _, _ := framesOf(t, path, flags...)
	if fmt.Sprint(clean) != "[0 150 300]" {
		t.Fatalf("clean run kept %v", clean)
	}
	out := t.TempDir()
	cmd := exec.Command(bin, append([]string{"frames", path, "-o", out}, flags...)...)
	// Held after its first image until interrupted, so the SIGINT surely
	// comes in the middle however fast the machine.
	cmd.Env = append(os.Environ(), "VPIPE_TEST_HOLD_AFTER_FIRST_IMAGE="+filepath.Join(t.TempDir(), "never"))
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(out, "frame_000000.png")); err == nil {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("the run was not cut in the middle (the test needs it): %v\n%s", err, log.String())
	}
	part, _ := written(t, out)
	if len(part) == 0 || len(part) >= 3 {
		t.Fatalf("the interrupted run wrote %v; the test needs some but not all", part)
	}
	t.Logf("interrupted after %v", part)
	rlog, code := vpipe(t, append([]string{"frames", path, "-o", out}, flags...)...)
	if code != 0 || !strings.Contains(rlog, fmt.Sprintf("%d written, %d skipped", 3-len(part), len(part))) {
		t.Fatalf("resume: exit %d\n%s", code, rlog)
	}
	if got, _ := written(t, out); fmt.Sprint(got) != fmt.Sprint(clean) {
		t.Fatalf("resumed run kept %v, an uninterrupted one %v", got, clean)
	}
}

// TestSelectionWithAnnotations: a frames_file keyed by name and by dataset
// path, with only_annotated, on a Supervisely video project: the frames get
// their annotations as any frame does, and plan shows each rule.
func TestSelectionWithAnnotations(t *testing.T) {
	ff := filepath.Join(t.TempDir(), "frames.json")
	// clip: annotated 3 7 12 25; dark (ds0/night): 0 4 8 12 16, 10 fps
	os.WriteFile(ff, []byte(`{"clip.mp4": [3, 5, 12], "ds0/night/dark.mp4": {"times": [0.85, "00:00:01.6"]}, "dark.mp4": [1], "ds0/nope.mp4": [2]}`), 0o644)
	args := []string{"--set", "source.path=testdata/svproject", "--set", "sampling.step=1", "--set", "sampling.only_annotated=true",
		"--set", "sampling.resize.width=300", "--set", "sampling.frames_file=" + ff}
	plan, code := vpipe(t, append([]string{"plan", "pipeline.yaml", "--set", "sink.path=" + t.TempDir()}, args...)...)
	if code != 0 || !regexpLine(plan, `ds0/clip.mp4 .* window 0-29: 30; frames \(3 listed\): 3; only_annotated: 2`) ||
		!regexpLine(plan, `ds0/night/dark.mp4 .* times \(2 listed\): 2; only_annotated: 2`) {
		t.Fatalf("plan: exit %d\n%s", code, plan)
	}
	out := t.TempDir()
	log, code := vpipe(t, append([]string{"run", "pipeline.yaml", "--set", "sink.path=" + out}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	if !strings.Contains(log, `frames_file entry matches no video`) || !strings.Contains(log, `entry=ds0/nope.mp4`) {
		t.Errorf("the unmatched entry is not reported:\n%s", log)
	}
	images := checkImageProject(t, out)
	want := []string{
		"ds0/datasets/clip.mp4/img/clip.mp4_frame_03.png",
		"ds0/datasets/clip.mp4/img/clip.mp4_frame_12.png",
		"ds0/datasets/night/datasets/dark.mp4/img/dark.mp4_frame_08.png",
		"ds0/datasets/night/datasets/dark.mp4/img/dark.mp4_frame_16.png",
	}
	if strings.Join(images, "\n") != strings.Join(want, "\n") {
		t.Fatalf("images:\n%s", strings.Join(images, "\n"))
	}
	got, _ := os.ReadFile(filepath.Join(out, "ds0/datasets/clip.mp4/ann/clip.mp4_frame_03.png.json"))
	var a, b sv.ImageAnnotation
	json.Unmarshal(got, &a)
	wantB, _ := os.ReadFile("../../supervisely/testdata/golden/clip_frame03_300x150.json")
	if err := json.Unmarshal(fixMaskForParse(t, wantB), &b); err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Errorf("frame 3 annotation:\n%s\nwant\n%s", ja, jb)
	}

	// vpipe validate names each rule's problem by key path
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("source: {path: testdata/svproject}\nsampling:\n  fps: 2\n  times: [\"00:00:01.5\", \"1:99\"]\n  max_fps: 3\n  dedup: {distance: 70}\n"), 0o644)
	vlog, code := vpipe(t, "validate", bad)
	for _, w := range []string{"sampling.max_fps: 3 cannot be used with sampling.fps (2)", `sampling.times: item 1: time "1:99": seconds must be below 60`,
		"sampling.dedup.distance: must be 0–63, got 70"} {
		if code != 1 || !strings.Contains(vlog, w) {
			t.Errorf("validate: exit %d, missing %q in\n%s", code, w, vlog)
		}
	}

	// dedup in plan: decided while decoding
	plan, code = vpipe(t, "plan", "pipeline.yaml", "--set", "source.path=testdata/svproject", "--set", "sink.path="+t.TempDir(),
		"--set", "sampling.fps=2", "--set", "sampling.dedup.distance=3")
	if code != 0 || !regexpLine(plan, `ds0/clip.mp4 .* window 0-29: 30; fps 2: 6; step 5: 2; dedup distance 3: decided while decoding`) {
		t.Fatalf("plan with dedup: exit %d\n%s", code, plan)
	}
}

// TestContentRulesBatchSink: dropped frames through the Supervisely sink,
// which uploads a video's images in batches: each video's last batch is sent
// when its last kept frame arrives (the drops after it are counted by then),
// and a re-run writes nothing and reaches the same images.
func TestContentRulesBatchSink(t *testing.T) {
	s, p := svServer(t)
	args := svArgs("run", p.ID, "--set", "sampling.step=1", "--set", "sampling.dedup.distance=12")
	cmd, out := svCmd(s, args)
	if err := cmd.Run(); err != nil || !strings.Contains(out.String(), "videos: 4 ok, 0 failed") ||
		!strings.Contains(out.String(), "dropped (scene_threshold/dedup)") {
		t.Fatalf("run: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`frames: (\d+) written, 0 skipped \(already there\), (\d+) dropped`).FindStringSubmatch(out.String())
	if m == nil || m[1] == "0" || m[2] == "0" {
		t.Fatalf("want frames both written and dropped:\n%s", out)
	}
	first := svState(t, s)
	if n := strings.Count(first, "\n") + 1; strconv.Itoa(n) != m[1] {
		t.Fatalf("%d images on the server, %s written", n, m[1])
	}
	cmd, out = svCmd(s, args)
	if err := cmd.Run(); err != nil || !strings.Contains(out.String(), "frames: 0 written, "+m[1]+" skipped (already there), "+m[2]+" dropped") {
		t.Fatalf("re-run: %v\n%s", err, out)
	}
	if svState(t, s) != first {
		t.Fatal("the re-run changed the server's images")
	}
}

// TestKeyframesOpenGOP: on open-GOP H.264 with a keyframe a second, where the
// CLI's -skip_frame nokey scrambles and loses frames (it writes those at 2, 1
// and 0 s, then stops), --keyframes writes every frame whose packet has the
// key flag (ffprobe -show_entries packet=pts,flags), byte-identical to the
// CLI's select at those indices.
func TestKeyframesOpenGOP(t *testing.T) {
	path := testcorpus.Path(t, testcorpus.LongOpenGOP)
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=pts,flags", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	type pkt struct {
		pts int
		key bool
	}
	var pkts []pkt
	for _, l := range strings.Fields(string(out)) {
		pts, flags, _ := strings.Cut(l, ",")
		n, _ := strconv.Atoi(pts)
		pkts = append(pkts, pkt{n, strings.Contains(flags, "K")})
	}
	sort.Slice(pkts, func(i, j int) bool { return pkts[i].pts < pkts[j].pts })
	var keys []int
	for i, p := range pkts {
		if p.key {
			keys = append(keys, i)
		}
	}
	idx, rgb, _ := framesOf(t, path, "--keyframes")
	if len(keys) != 20 || fmt.Sprint(idx) != fmt.Sprint(keys) {
		t.Fatalf("--keyframes wrote %v, the keyframes are %v", idx, keys)
	}
	ref, _, _ := testcorpus.Reference(t, path, keys, "", "bicubic")
	sameFrames(t, "--keyframes on open GOPs", rgb, ref)
}

// TestFramesFileUnmatched: plan names the frames_file entries that match no
// video of the source (a misspelt name shows before anything runs), and a
// shard does not report the entries of videos another shard samples.
func TestFramesFileUnmatched(t *testing.T) {
	ff := filepath.Join(t.TempDir(), "frames.json")
	// shard 0/2 samples ds0/traffic.mp4, shard 1/2 the two street videos
	os.WriteFile(ff, []byte(`{"traffic.mp4": [1], "street/phone.mp4": [2], "crossing.webm": [3], "street/phnoe.mp4": [4]}`), 0o644)
	base := []string{"pipeline.yaml", "--set", "sampling.frames_file=" + ff}
	plan, code := vpipe(t, append([]string{"plan", "--set", "sink.path=" + t.TempDir()}, base...)...)
	if code != 0 || !strings.Contains(plan, "frames_file entry matches no video") || !strings.Contains(plan, `matches no video (keys are a video name or dataset/…/name): "street/phnoe.mp4"`) || strings.Count(plan, "matches no video") != 1 {
		t.Errorf("plan does not name the misspelt entry: exit %d\n%s", code, plan)
	}
	for _, shard := range []string{"0/2", "1/2"} {
		log, code := vpipe(t, append([]string{"run", "--shard", shard, "--set", "sink.path=" + t.TempDir()}, base...)...)
		if code != 0 || strings.Count(log, "frames_file entry matches no video") != 1 || !strings.Contains(log, "entry=street/phnoe.mp4") {
			t.Errorf("run --shard %s: exit %d, want the one misspelt entry reported\n%s", shard, code, log)
		}
	}
}
