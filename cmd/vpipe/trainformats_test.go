package main_test

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpipe/vpipe/internal/testenv/natstest"
	"github.com/vpipe/vpipe/internal/testenv/pyenv"
)

// Issue 18 through the binary: sink.format and sink.split on the bundled
// annotated project (testdata/svproject: every geometry type).

// trainProject is the bundled annotated project with copies of its videos
// (same files and annotations under other names): 6 videos in 3 datasets.
func trainProject(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	copyTree(t, "../../testdata/svproject", src)
	for _, c := range []struct{ from, video, to, copy string }{
		{"ds0", "clip.mp4", "ds0", "clip_b.mp4"}, {"ds0", "clip.mp4", "ds0", "clip_c.mp4"},
		{"ds0/datasets/night", "dark.mp4", "ds0/datasets/night", "dark_b.mp4"}, {"ds0", "clip.mp4", "ds1", "clip_d.mp4"},
	} {
		for _, p := range [][2]string{{"video/" + c.video, "video/" + c.copy}, {"ann/" + c.video + ".json", "ann/" + c.copy + ".json"}} {
			b, err := os.ReadFile(filepath.Join(src, c.from, p[0]))
			if err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(src, c.to, p[1])
			os.MkdirAll(filepath.Dir(dst), 0o755)
			if err := os.WriteFile(dst, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return src
}

// formatRun are the arguments of cmd (run, plan, worker, enqueue) from src
// into out in format, every frame, split half and half.
func formatRun(cmd, src, out, format string, extra ...string) []string {
	return append([]string{cmd, "pipeline.yaml", "--set", "source.path=" + src, "--set", "sink.path=" + out,
		"--set", "sink.format=" + format, "--set", "sink.split={train: 0.5, val: 0.5}", "--set", "sampling.step=1",
		"--set", "stages.encode.workers=1"}, extra...)
}

// withoutLocks is a tree less the writers' lock files (a process killed
// leaves its own; the next writer of the folder clears it).
func withoutLocks(m map[string]string) map[string]string {
	for k := range m {
		if strings.Contains(k, ".vpipe-lock-") {
			delete(m, k)
		}
	}
	return m
}

// sameTree fails naming the first files that differ.
func sameTree(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	var diff []string
	for _, k := range keys(want) {
		if got[k] != want[k] {
			diff = append(diff, k)
		}
	}
	for _, k := range keys(got) {
		if _, ok := want[k]; !ok {
			diff = append(diff, k+" (extra)")
		}
	}
	if len(diff) > 0 {
		t.Fatalf("%s differs from one plain run (%d files, want %d) at %d files: %v", what, len(got), len(want), len(diff), diff[:min(8, len(diff))])
	}
}

var leftOutRe = regexp.MustCompile(`LEFT OUT (\d+) label\(s\) of class (\S+) \((\S+)\) in local (\S+)`)

// leftOutOf reads the summary's LEFT OUT lines of the sink at root: "class/geometry" → count.
func leftOutOf(log, root string) map[string]int {
	out := map[string]int{}
	for _, m := range leftOutRe.FindAllStringSubmatch(log, -1) {
		if m[4] == root {
			n, _ := strconv.Atoi(m[1])
			out[m[2]+"/"+m[3]] = n
		}
	}
	return out
}

// From the bundled project, each format written beside the Supervisely
// project by one run (sinks: [...]) is the Supervisely labels converted by
// the format's rules, as Python reads them (the layouts' readers); what the
// format cannot carry is what the run's summary lists as left out; and the
// same format as the only sink (--set sink.format=…) writes the same bytes.
func TestTrainingFormatsMatchSupervisely(t *testing.T) {
	pyenv.Python(t)
	for _, c := range []struct{ format, task string }{{"coco", ""}, {"yolo", "detect"}, {"yolo", "segment"}, {"yolo", "pose"}, {"webdataset", ""}} {
		t.Run(c.format+c.task, func(t *testing.T) {
			dir := t.TempDir()
			sv, out, alone := filepath.Join(dir, "sv"), filepath.Join(dir, "out"), filepath.Join(dir, "alone")
			conf := filepath.Join(dir, "two.yaml")
			os.WriteFile(conf, []byte("source: {path: testdata/svproject}\nsampling: {step: 1}\nsinks:\n  - {path: "+sv+"}\n  - {path: "+out+"}\n"), 0o644)
			sets := []string{"--set", "sinks[1].format=" + c.format}
			if c.task != "" {
				sets = append(sets, "--set", "sinks[1].yolo.task="+c.task)
			}
			log, code := vpipe(t, append([]string{"run", conf}, sets...)...)
			if code != 0 || !strings.Contains(log, "50 written") {
				t.Fatalf("exit %d\n%s", code, log)
			}
			if c.format == "webdataset" {
				if n := checkShards(t, out, sv); n != 50 {
					t.Errorf("%d samples in the shards, want the 50 frames", n)
				}
				if got := leftOutOf(log, out); len(got) != 0 {
					t.Errorf("the summary lists %v left out: WebDataset carries every label", got)
				}
			}
			var read []byte
			switch c.format {
			case "webdataset":
			case "coco":
				read = pyenv.Run(t, "../../layouts/coco/testdata/check_coco.py", out, sv)
			default:
				read = pyenv.Run(t, "../../layouts/yolo/testdata/check_yolo.py", out, sv, c.task)
			}
			if read != nil { // COCO and YOLO, as Python reads them
				checkPythonRead(t, c.format, read, leftOutOf(log, out))
			}
			args := []string{"run", "pipeline.yaml", "--set", "source.path=testdata/svproject", "--set", "sampling.step=1",
				"--set", "sink.path=" + alone, "--set", "sink.format=" + c.format}
			if c.task != "" {
				args = append(args, "--set", "sink.yolo.task="+c.task)
			}
			if log, code := vpipe(t, args...); code != 0 {
				t.Fatalf("alone: exit %d\n%s", code, log)
			}
			sameTree(t, "the format as the only sink", withoutLocks(tree(t, alone)), withoutLocks(tree(t, out)))
		})
	}
}

// checkPythonRead checks what a layout's Python reader found: the 50
// frames in train, every shape COCO carries, and what it finds left out is
// what the run's summary lists (leftOut).
func checkPythonRead(t *testing.T, format string, read []byte, leftOut map[string]int) {
	t.Helper()
	t.Logf("python read: %s", read)
	var sum struct {
		Images  map[string]int
		Skipped map[string]int
		Shapes  map[string]int
	}
	if err := json.Unmarshal(read, &sum); err != nil {
		t.Fatalf("%v: %s", err, read)
	}
	if sum.Images["train"] != 50 || len(sum.Images) != 1 {
		t.Errorf("images %v, want the 50 frames in train", sum.Images)
	}
	if format == "coco" && len(sum.Shapes) != 4 {
		t.Errorf("shapes checked %v, want rectangle, polygon, bitmap and graph", sum.Shapes)
	}
	if fmt.Sprint(leftOut) != fmt.Sprint(sum.Skipped) || len(leftOut) == 0 {
		t.Errorf("the summary lists %v left out, Python finds %v", leftOut, sum.Skipped)
	}
}

// checkShards reads every shard of the WebDataset output at root with
// archive/tar and holds each sample against the Supervisely project at sv
// written by the same run: its annotation is the frame's ann/<name>.json
// (the same JSON value) and its image the frame's img/<name> (the same
// bytes). It returns the samples read.
func checkShards(t *testing.T, root, sv string) int {
	t.Helper()
	shards, _ := filepath.Glob(filepath.Join(root, "*", "shard-*.tar"))
	if len(shards) == 0 {
		t.Fatalf("no shards under %s", root)
	}
	n := 0
	for _, sh := range shards {
		f, err := os.Open(sh)
		if err != nil {
			t.Fatal(err)
		}
		images := map[string][]byte{} // sample key → image bytes
		tr := tar.NewReader(f)
		for h, err := tr.Next(); err != io.EOF; h, err = tr.Next() {
			if err != nil {
				t.Fatalf("%s: %v", sh, err)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatalf("%s: %s: %v", sh, h.Name, err)
			}
			key, ext, _ := strings.Cut(h.Name, ".")
			if ext != "json" {
				images[key] = b
				continue
			}
			checkSample(t, sv, sh+": "+h.Name, b, images[key])
			n++
		}
		f.Close()
	}
	return n
}

// checkSample holds one sample's .json member and image against the
// Supervisely project's files of the same frame.
func checkSample(t *testing.T, sv, what string, member, image []byte) {
	t.Helper()
	var s struct {
		Name, Dataset, Video string
		Annotation           json.RawMessage
	}
	if err := json.Unmarshal(member, &s); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	dir := filepath.Join(sv, strings.Join(append(strings.Split(s.Dataset, "/"), s.Video), "/datasets/"))
	ann, err := os.ReadFile(filepath.Join(dir, "ann", s.Name+".json"))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var got, want any
	if err := json.Unmarshal(s.Annotation, &got); err != nil {
		t.Fatalf("%s: annotation: %v", what, err)
	}
	json.Unmarshal(ann, &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: the annotation differs from the Supervisely layout's %s", what, filepath.Join(dir, "ann", s.Name+".json"))
	}
	img, err := os.ReadFile(filepath.Join(dir, "img", s.Name))
	if err != nil || image == nil || string(img) != string(image) {
		t.Errorf("%s: the image (%d bytes) is not the Supervisely layout's img/%s (%v)", what, len(image), s.Name, err)
	}
}

// splitsIn finds each video's split in a tree: Supervisely (<split>/datasets/…/datasets/<video>/img/…)
// or a training format (images/<split>/<dataset path>/<video>/…). A video
// found in two splits fails the test.
func splitsIn(t *testing.T, root string, supervisely bool) map[string]string {
	t.Helper()
	out := map[string]string{}
	for f := range tree(t, root) {
		parts := strings.Split(filepath.ToSlash(f), "/")
		var split, video string
		switch {
		case supervisely && len(parts) > 3 && parts[len(parts)-2] == "img":
			split, video = parts[0], strings.Join(slicesWithout(parts[2:len(parts)-2], "datasets"), "/")
		case !supervisely && len(parts) > 3 && parts[0] == "images":
			split, video = parts[1], strings.Join(parts[2:len(parts)-1], "/")
		default:
			continue
		}
		if s, ok := out[video]; ok && s != split {
			t.Errorf("%s: video %s is in splits %s and %s", root, video, s, split)
		}
		out[video] = split
	}
	return out
}

func slicesWithout(parts []string, drop string) []string {
	var out []string
	for _, p := range parts {
		if p != drop {
			out = append(out, p)
		}
	}
	return out
}

// Split by video: a fan-out of the Supervisely project, COCO and YOLO with
// one split puts each video whole in one split, the same in the three and
// in the kept file, and plan shows it; sampling the bundled videos and then
// the annotated project into the same sinks keeps the first videos where
// they were.
func TestSplitByVideo(t *testing.T) {
	dir := t.TempDir()
	sv, co, yo := filepath.Join(dir, "sv"), filepath.Join(dir, "coco"), filepath.Join(dir, "yolo")
	conf := filepath.Join(dir, "split.yaml")
	os.WriteFile(conf, []byte(`source: {path: testdata/videos}
sampling: {step: 10}
sinks:
  - {path: `+sv+`, split: {train: 0.5, val: 0.5}}
  - {path: `+co+`, format: coco, split: {train: 0.5, val: 0.5}}
  - {path: `+yo+`, format: yolo, split: {train: 0.5, val: 0.5}}
`), 0o644)
	plan, code := vpipe(t, "plan", conf)
	if code != 0 || !strings.Contains(plan, "SPLIT") || !regexpLine(plan, `(?m)^ds0/traffic.mp4 .*\s(train|val)$`) {
		t.Fatalf("plan: exit %d\n%s", code, plan)
	}
	if _, err := os.Stat(sv); !os.IsNotExist(err) {
		t.Fatal("plan wrote")
	}
	if log, code := vpipe(t, "run", conf); code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	first := splitsIn(t, co, false)
	if log, code := vpipe(t, "run", conf, "--set", "source.path=testdata/svproject"); code != 0 {
		t.Fatalf("second source: exit %d\n%s", code, log)
	}
	got := splitsIn(t, sv, true)
	count := map[string]int{}
	for v, s := range got {
		count[s]++
		if first[v] != "" && first[v] != s {
			t.Errorf("%s moved from %s to %s", v, first[v], s)
		}
	}
	t.Logf("splits: %v", got)
	if len(got) != 5 || count["train"] < 2 || count["val"] < 2 {
		t.Fatalf("videos per split %v: %v", count, got)
	}
	for _, root := range []string{co, yo} {
		if other := splitsIn(t, root, false); fmt.Sprint(other) != fmt.Sprint(got) {
			t.Errorf("%s splits %v, the Supervisely project %v", root, other, got)
		}
	}
	var kept []struct {
		Dataset []string
		Video   string
		Split   string
	}
	b, _ := os.ReadFile(filepath.Join(co, ".vpipe/splits.json"))
	if err := json.Unmarshal(b, &kept); err != nil || len(kept) != 5 {
		t.Fatalf("%v: %s", err, b)
	}
	for _, k := range kept {
		if v := strings.Join(append(k.Dataset, k.Video), "/"); got[v] != k.Split {
			t.Errorf("kept %s in %s, written in %q", v, k.Split, got[v])
		}
	}
	for split := range count { // COCO: each split's file has only its videos' images
		var inst struct {
			Images []struct {
				FileName string `json:"file_name"`
			}
		}
		b, _ := os.ReadFile(filepath.Join(co, "annotations", "instances_"+split+".json"))
		json.Unmarshal(b, &inst)
		for _, im := range inst.Images {
			if v := filepath.Dir(im.FileName); got[v] != split {
				t.Errorf("instances_%s.json has %s, of a video in %q", split, im.FileName, got[v])
			}
		}
		if len(inst.Images) == 0 {
			t.Errorf("instances_%s.json has no image", split)
		}
	}
}

// waitFor polls until cond holds (a hang, not a timing assertion, after 2 minutes).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// formatImages counts the images a training format's tree holds so far:
// files under images/ (COCO, YOLO); for WebDataset, the samples staged
// (<split>/.vpipe/staging/) and those in shards (image members of the tars).
func formatImages(t *testing.T, root, format string) int {
	n := 0
	if format != "webdataset" {
		filepath.Walk(filepath.Join(root, "images"), func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() && !strings.Contains(p, ".vpipe-tmp-") {
				n++
			}
			return nil
		})
		return n
	}
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		switch {
		case err != nil || fi.IsDir() || strings.Contains(p, ".vpipe-tmp-"):
		case strings.Contains(filepath.ToSlash(p), "/.vpipe/staging/"):
			n++
		case strings.HasSuffix(p, ".tar"):
			f, err := os.Open(p)
			if err != nil {
				return nil // replaced since the walk listed it
			}
			defer f.Close()
			tr := tar.NewReader(f)
			for h, err := tr.Next(); err == nil; h, err = tr.Next() {
				if ext := path.Ext(h.Name); ext == ".png" || ext == ".jpg" || ext == ".webp" {
					n++
				}
			}
		}
		return nil
	})
	return n
}

// A run interrupted (SIGINT: it stops and closes; SIGKILL: it dies before
// COCO's Close writes its instances files) after its first image, then run
// again, ends with the bytes of one plain run, for COCO and YOLO.
func TestTrainingFormatsInterrupted(t *testing.T) {
	src := trainProject(t)
	for _, format := range []string{"coco", "yolo", "webdataset"} {
		plain := filepath.Join(t.TempDir(), "plain")
		if log, code := vpipe(t, formatRun("run", src, plain, format)...); code != 0 {
			t.Fatalf("plain run: exit %d\n%s", code, log)
		}
		want := withoutLocks(tree(t, plain))
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
			t.Run(format+"/"+sig.String(), func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "out")
				p := startEnv(t, []string{holdEnv + "=" + filepath.Join(t.TempDir(), "never")}, formatRun("run", src, out, format)...)
				waitFor(t, "the first image", func() bool { return formatImages(t, out, format) > 0 })
				p.cmd.Process.Signal(sig)
				log := p.wait(t, "interrupted run")
				if sig == syscall.SIGINT && (p.code != 130 || !strings.Contains(log, "interrupted")) {
					t.Fatalf("SIGINT: exit %d\n%s", p.code, log)
				}
				if n := formatImages(t, out, format); n == 0 || n >= 160 {
					t.Fatalf("the interrupted run left %d of 160 images; the test needs it cut in the middle", n)
				}
				if log, code := vpipe(t, formatRun("run", src, out, format)...); code != 0 {
					t.Fatalf("re-run: exit %d\n%s", code, log)
				}
				sameTree(t, "the resumed output", withoutLocks(tree(t, out)), want)
			})
		}
	}
}

// holdEnv makes a run hold after its first image (cmd/vpipe/testhold.go).
const holdEnv = "VPIPE_TEST_HOLD_AFTER_FIRST_IMAGE"

// startEnv is start with more environment variables.
func startEnv(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), out: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd.Dir = "../.."
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
		}
		close(p.done)
	}()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	return p
}

// Three shards at once (--shard i/3) end with the bytes of one plain run,
// splits included: each shard decides them from the whole listing.
func TestTrainingFormatsSharded(t *testing.T) {
	src := trainProject(t)
	for _, format := range []string{"coco", "yolo", "webdataset"} {
		t.Run(format, func(t *testing.T) {
			plain, out := filepath.Join(t.TempDir(), "plain"), filepath.Join(t.TempDir(), "out")
			if log, code := vpipe(t, formatRun("run", src, plain, format)...); code != 0 {
				t.Fatalf("plain run: exit %d\n%s", code, log)
			}
			var argss [][]string
			for i := range 3 {
				argss = append(argss, formatRun("run", src, out, format, "--shard", fmt.Sprintf("%d/3", i)))
			}
			logs, codes := startAll(t, os.Environ(), argss...)
			written := 0
			for i, code := range codes {
				if code != 0 {
					t.Fatalf("shard %d: exit %d\n%s", i, code, logs[i])
				}
				written += summaryWritten(t, logs[i])
			}
			if written != 4*30+2*20 {
				t.Errorf("the shards wrote %d images, want 160 (each frame once)", written)
			}
			sameTree(t, "the shards' output", withoutLocks(tree(t, out)), withoutLocks(tree(t, plain)))
		})
	}
}

// A queue with two workers, one killed after its first image, and a third
// to finish what it held ends with the bytes of one plain run.
func TestTrainingFormatsQueued(t *testing.T) {
	ns, err := natstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Stop()
	src := trainProject(t)
	for _, format := range []string{"coco", "yolo", "webdataset"} {
		t.Run(format, func(t *testing.T) {
			plain, out := filepath.Join(t.TempDir(), "plain"), filepath.Join(t.TempDir(), "out")
			if log, code := vpipe(t, formatRun("run", src, plain, format)...); code != 0 {
				t.Fatalf("plain run: exit %d\n%s", code, log)
			}
			stream := "Q" + format
			if log, code := vpipe(t, formatRun("enqueue", src, out, format, "--nats", ns.URL, "--stream", stream, "--ack-wait", "2s")...); code != 0 {
				t.Fatalf("enqueue: exit %d\n%s", code, log)
			}
			worker := formatRun("worker", src, out, format, "--nats", ns.URL, "--stream", stream, "--until-empty", "--retry-delay", "100ms")
			victim := startEnv(t, []string{holdEnv + "=" + filepath.Join(t.TempDir(), "never")}, worker...)
			waitFor(t, "the first image", func() bool { return formatImages(t, out, format) > 0 })
			other := start(t, worker...)
			victim.cmd.Process.Signal(syscall.SIGKILL)
			<-victim.done
			logs := other.wait(t, "the other worker")
			third := start(t, worker...)
			logs += third.wait(t, "the third worker")
			if other.code != 0 || third.code != 0 {
				t.Fatalf("workers exited %d and %d:\n%s", other.code, third.code, logs)
			}
			sameTree(t, "the workers' output", withoutLocks(tree(t, out)), withoutLocks(tree(t, plain)))
		})
	}
	// A worker whose config writes another format where the videos were
	// queued for does not sample them.
	out := filepath.Join(t.TempDir(), "out")
	if log, code := vpipe(t, formatRun("enqueue", src, out, "coco", "--nats", ns.URL, "--stream", "MIX")...); code != 0 {
		t.Fatalf("enqueue: exit %d\n%s", code, log)
	}
	log, _ := vpipe(t, formatRun("worker", src, out, "yolo", "--nats", ns.URL, "--stream", "MIX", "--until-empty")...)
	if !strings.Contains(log, "queued for the sink local "+out+" (format coco, split train 0.5 val 0.5), but this worker's config writes to local "+out+" (format yolo,") {
		t.Fatalf("a worker of another format:\n%s", log)
	}
}
