package main_test

import (
	"bytes"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	sv "github.com/vpipe/vpipe/supervisely"
)

// Issue 9 item 5: a video of a local project whose annotation file is missing
// is taken as unlabelled, as the platform takes it: sampled with empty
// annotations of the output size, no tags, and a warning naming it.
func TestMissingAnnotationUnlabelled(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	copyTree(t, "../../testdata/svproject", src)
	gone := filepath.Join(src, "ds0", "ann", "clip.mp4.json")
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	log, code := vpipe(t, "run", "pipeline.yaml", "--set", "source.path="+src, "--set", "sink.path="+out,
		"--set", "sampling.step=10", "--set", "sampling.resize.width=300")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	warned := false
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "level=WARN") && strings.Contains(l, "annotation file missing") &&
			strings.Contains(l, "video=ds0/clip.mp4") && strings.Contains(l, gone) {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no warning naming the video and the file:\n%s", log)
	}
	images := checkImageProject(t, out) // every annotation's size is its image's
	clip, dark := 0, 0
	for _, im := range images {
		b, err := os.ReadFile(filepath.Join(out, strings.Replace(im, "/img/", "/ann/", 1)+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var a sv.ImageAnnotation
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.Contains(im, "clip.mp4"):
			clip++
			if len(a.Objects) != 0 || len(a.Tags) != 0 || a.Width != 300 || a.Height != 150 {
				t.Errorf("%s: want an empty 300x150 annotation, got %s", im, b)
			}
		case strings.Contains(im, "dark.mp4"):
			dark++
		}
	}
	if clip == 0 || dark == 0 {
		t.Fatalf("images: %v", images)
	}
	// the labelled video keeps its labels
	b, _ := os.ReadFile(filepath.Join(out, "ds0/datasets/night/datasets/dark.mp4/ann/dark.mp4_frame_00.png.json"))
	var a sv.ImageAnnotation
	if json.Unmarshal(b, &a); len(a.Objects) == 0 {
		t.Errorf("dark.mp4 frame 0 lost its labels: %s", b)
	}
	// only_annotated: the unlabelled video has no frame to take, and that is no failure
	out2 := t.TempDir()
	log, code = vpipe(t, "run", "pipeline.yaml", "--set", "source.path="+src, "--set", "sink.path="+out2,
		"--set", "sampling.only_annotated=true")
	if code != 0 || !strings.Contains(log, "annotation file missing") || !strings.Contains(log, "no frame selected") {
		t.Fatalf("only_annotated: exit %d\n%s", code, log)
	}
	if _, err := os.Stat(filepath.Join(out2, "ds0/datasets/clip.mp4")); !os.IsNotExist(err) {
		t.Errorf("only_annotated wrote a dataset for the unlabelled video: %v", err)
	}
}

// cliFrame is one frame as the ffmpeg CLI decodes it: its time from the first
// frame, its size and the MD5 of its RGB24 pixels.
type cliFrame struct {
	time    float64
	w, h    int
	md5     string
	matched bool
}

// cliFrames decodes every frame with the CLI (passthrough timing, no autoscale
// to the first frame's size, so each frame keeps its own) through vf (may be
// ""), as framemd5 lines.
func cliFrames(t *testing.T, path, vf string) []*cliFrame {
	t.Helper()
	a := []string{"-hide_banner", "-loglevel", "error", "-i", path, "-map", "0:v:0", "-fps_mode", "passthrough",
		"-autoscale", "0", "-sws_flags", "bicubic", "-pix_fmt", "rgb24"}
	if vf != "" {
		a = append(a, "-vf", vf)
	}
	a = append(a, "-f", "framemd5", "-")
	b, err := exec.Command("ffmpeg", a...).Output()
	if err != nil {
		t.Fatalf("ffmpeg %v: %v", a, err)
	}
	var num, den int64
	var out []*cliFrame
	var first int64
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "#tb 0:") {
			fmt.Sscanf(l, "#tb 0: %d/%d", &num, &den)
		}
		if l == "" || l[0] == '#' {
			continue
		}
		f := strings.Split(l, ",")
		var pts, size int64
		fmt.Sscan(strings.TrimSpace(f[2]), &pts)
		fmt.Sscan(strings.TrimSpace(f[4]), &size)
		if len(out) == 0 {
			first = pts
		}
		out = append(out, &cliFrame{time: float64((pts-first)*num) / float64(den), md5: strings.TrimSpace(f[5]), w: int(size)})
	}
	return out
}

// pngRGB reads a PNG's pixels as packed RGB24.
func pngRGB(t *testing.T, p string) (rgb []byte, w, h int) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	r := im.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := im.At(x, y).RGBA()
			rgb = append(rgb, byte(cr>>8), byte(cg>>8), byte(cb>>8))
		}
	}
	return rgb, r.Dx(), r.Dy()
}

// Issue 9 item 3: a stream whose resolution changes mid-way (in-band SPS)
// gives, without a resize, each frame at its own decoded size, byte-identical
// to the CLI's frame of the same timestamp; with a resize, every frame at the
// target size. Each annotation has its image's size.
func TestResolutionChange(t *testing.T) {
	for _, file := range []string{"rc.mp4", "rc.ts"} {
		t.Run(file, func(t *testing.T) {
			video := testcorpus.Path(t, testcorpus.ResolutionChange(file))
			for _, c := range []struct {
				resize string // WxH, "" for none
				vf     string
			}{{"", ""}, {"160x120", "scale=160:120:flags=bicubic"}} {
				out := t.TempDir()
				args := []string{"run", "pipeline.yaml", "--set", "source.path=" + video, "--set", "sink.path=" + out, "--set", "sampling.step=1"}
				if c.resize != "" {
					var w, h int
					fmt.Sscanf(c.resize, "%dx%d", &w, &h)
					args = append(args, "--set", fmt.Sprintf("sampling.resize.width=%d", w), "--set", fmt.Sprintf("sampling.resize.height=%d", h))
				}
				log, code := vpipe(t, args...)
				if code != 0 || !strings.Contains(log, "90 written") {
					t.Fatalf("exit %d\n%s", code, log)
				}
				images := checkImageProject(t, out) // annotation size = image size, each
				if len(images) != 90 {
					t.Fatalf("%d images", len(images))
				}
				ref := cliFrames(t, video, c.vf)
				if len(ref) != 90 {
					t.Fatalf("the CLI gave %d frames", len(ref))
				}
				ds := filepath.Join(out, "ds0", "datasets", file)
				for i := 0; i < 90; i++ {
					name := fmt.Sprintf("%s_frame_%02d.png", file, i)
					rgb, w, h := pngRGB(t, filepath.Join(ds, "img", name))
					ww, wh := 320, 240
					switch {
					case c.resize != "":
						ww, wh = 160, 120
					case i >= 45:
						ww, wh = 256, 192
					}
					if w != ww || h != wh {
						t.Errorf("resize %q frame %d: %dx%d, want %dx%d", c.resize, i, w, h, ww, wh)
						continue
					}
					var meta struct {
						Time float64 `json:"time_s"`
					}
					mb, _ := os.ReadFile(filepath.Join(ds, "meta", name+".json"))
					json.Unmarshal(mb, &meta)
					var r *cliFrame
					for _, f := range ref {
						if d := f.time - meta.Time; d > -1e-6 && d < 1e-6 {
							r = f
						}
					}
					if r == nil {
						t.Errorf("frame %d (%.3f s): the CLI has no frame at that time", i, meta.Time)
						continue
					}
					r.matched = true
					if got := fmt.Sprintf("%x", md5.Sum(rgb)); got != r.md5 || r.w != 3*w*h {
						t.Errorf("resize %q frame %d (%.3f s, %dx%d): pixels differ from the CLI's frame (%d bytes)", c.resize, i, meta.Time, w, h, r.w)
					}
				}
				for _, f := range ref {
					if !f.matched {
						t.Errorf("the CLI's frame at %.3f s has no image", f.time)
					}
				}
				if c.resize != "" {
					continue
				}
				// reached by a seek into the second part: the same frames
				dir := t.TempDir()
				if log, code := vpipe(t, "frames", video, "-o", dir, "--start", "61", "--end", "63"); code != 0 {
					t.Fatalf("frames: exit %d\n%s", code, log)
				}
				for _, i := range []int{61, 62} {
					a, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("frame_%06d.png", i)))
					b, _ := os.ReadFile(filepath.Join(ds, "img", fmt.Sprintf("%s_frame_%02d.png", file, i)))
					if len(a) == 0 || !bytes.Equal(a, b) {
						t.Errorf("frame %d reached by a seek differs from the full run's", i)
					}
				}
			}
		})
	}
}

// packetSpan is a video packet of a file: its PTS and where its bytes lie.
type packetSpan struct {
	pts       int64
	pos, size int64
}

func packetSpans(t *testing.T, path string) (spans []packetSpan, num, den int64) {
	t.Helper()
	b, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=time_base:packet=pts,pos,size",
		"-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	for _, l := range strings.Fields(string(b)) {
		if strings.Contains(l, "/") {
			fmt.Sscanf(l, "%d/%d", &num, &den)
			continue
		}
		var p packetSpan
		if _, err := fmt.Sscanf(strings.TrimRight(l, ","), "%d,%d,%d", &p.pts, &p.size, &p.pos); err == nil {
			spans = append(spans, p)
		}
	}
	return spans, num, den
}

// Issue 9 item 4: a damaged video with sampling.on_damage: salvage writes at
// least every frame the CLI decodes before the damage, byte-identical to the
// CLI's and under its true index (that of the intact file's frame at its
// time), never one the damage makes uncertain, and lists every other index:
// in the summary, the log and the dataset's custom data, with exit code 3. A
// re-run writes nothing and lists the same. With fail (the default) the
// video fails, named, and nothing is written.
func TestSalvageDamaged(t *testing.T) {
	for _, c := range []struct {
		name   string
		video  testcorpus.Video
		damage func(b []byte) (bad []byte, from, to int64) // the bytes, and the byte range damaged
	}{
		{"truncated_mp4", testcorpus.FastStart, cut(6, 10)},
		{"truncated_mkv", testcorpus.MKV, cut(6, 10)},
		{"ts_corrupt_middle", testcorpus.Get("mpegts"), overwrite(1, 2, 3000)},
		// the demuxer resyncs past it silently: the frames after must keep their indices
		{"mkv_cluster_overwritten", testcorpus.MKV, overwrite(1, 2, 3000)},
		// the map is whole, only the decoder finds the damage: the damage is still said
		{"mp4_mdat_overwritten", testcorpus.FastStart, overwrite(1, 2, 3000)},
	} {
		t.Run(c.name, func(t *testing.T) {
			intact := testcorpus.Path(t, c.video)
			data, err := os.ReadFile(intact)
			if err != nil {
				t.Fatal(err)
			}
			bad, from, to := c.damage(data)
			dir := t.TempDir()
			video := filepath.Join(dir, filepath.Base(intact))
			if err := os.WriteFile(video, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			// the intact file's frames: index → time; the damage starts at the
			// earliest time of a packet whose bytes it touched
			spans, num, den := packetSpans(t, intact)
			var first int64 = 1 << 62
			for _, p := range spans {
				first = min(first, p.pts)
			}
			// A packet's bytes run to where the next one starts (an MPEG-TS packet's
			// PES is spread over transport packets past pos+size).
			damageAt := 1e9
			for _, p := range spans {
				end := p.pos + 2*p.size
				for _, q := range spans {
					if q.pos > p.pos && q.pos < end {
						end = max(q.pos, p.pos+p.size)
					}
				}
				if end > from && p.pos < to {
					damageAt = min(damageAt, float64((p.pts-first)*num)/float64(den))
				}
			}
			ref := cliFrames(t, intact, "")
			if len(ref) != c.video.Frames || damageAt > 1e8 {
				t.Fatalf("intact: %d frames, damage at %v s", len(ref), damageAt)
			}
			timeOf := func(i int) float64 { return ref[i].time }

			// fail: the video fails, named, nothing written
			out := filepath.Join(dir, "out-fail")
			log, code := vpipe(t, "run", "pipeline.yaml", "--set", "source.path="+video, "--set", "sink.path="+out, "--set", "sampling.step=1")
			if code != 1 || !strings.Contains(log, "FAILED") || !strings.Contains(log, video) {
				t.Fatalf("fail: exit %d\n%s", code, log)
			}
			if imgs, _ := filepath.Glob(filepath.Join(out, "*", "datasets", "*", "img", "*")); len(imgs) != 0 {
				t.Fatalf("fail wrote %d images", len(imgs))
			}

			// salvage
			out = filepath.Join(dir, "out")
			args := []string{"run", "pipeline.yaml", "--set", "source.path=" + video, "--set", "sink.path=" + out,
				"--set", "sampling.step=1", "--set", "sampling.on_damage=salvage"}
			log, code = vpipe(t, args...)
			if code != 3 || !strings.Contains(log, "1 partial") {
				t.Fatalf("salvage: exit %d\n%s", code, log)
			}
			got := cliFrames(t, video, "") // what the CLI makes of the damaged file
			ds := filepath.Join(out, "ds0", "datasets", filepath.Base(video))
			names, _ := filepath.Glob(filepath.Join(ds, "img", "*.png"))
			written := map[int]bool{}
			for _, p := range names {
				var i int
				fmt.Sscanf(strings.TrimSuffix(filepath.Base(p)[len(filepath.Base(video))+len("_frame_"):], ".png"), "%d", &i)
				written[i] = true
				rgb, w, h := pngRGB(t, p)
				var m struct {
					Index int     `json:"frame_index"`
					Time  float64 `json:"time_s"`
				}
				mb, _ := os.ReadFile(filepath.Join(ds, "meta", filepath.Base(p)+".json"))
				json.Unmarshal(mb, &m)
				if m.Index != i || abs(m.Time-timeOf(i)) > 1e-6 {
					t.Errorf("%s: frame_index %d, time %v; the intact file's frame %d is at %v", filepath.Base(p), m.Index, m.Time, i, timeOf(i))
				}
				var cli *cliFrame
				for _, f := range got {
					if abs(f.time-timeOf(i)) < 1e-6 {
						cli = f
					}
				}
				if cli == nil || cli.md5 != fmt.Sprintf("%x", md5.Sum(rgb)) || cli.w != 3*w*h {
					t.Errorf("frame %d (%.2f s): not the CLI's frame of that time in the damaged file", i, timeOf(i))
				}
			}
			before := 0
			for _, f := range got {
				if f.time < damageAt-1e-6 {
					before++
					i := -1
					for k := range ref {
						if abs(ref[k].time-f.time) < 1e-6 {
							i = k
						}
					}
					if !written[i] {
						t.Errorf("the CLI decodes frame %d (%.2f s, before the damage at %.2f s); vpipe did not write it", i, f.time, damageAt)
					}
				}
			}
			if before == 0 || len(written) == len(ref) {
				t.Fatalf("%d frames before the damage, %d written of %d: the damage does not test anything", before, len(written), len(ref))
			}
			// the rest is listed: in the summary, the log and the dataset's custom data
			var missing []int
			for i := range ref {
				if !written[i] {
					missing = append(missing, i)
				}
			}
			list := rangesOf(missing)
			if !strings.Contains(log, fmt.Sprintf("PARTIAL ds0/%s: %d frame(s) not written: %s (damaged: ", filepath.Base(video), len(missing), list)) ||
				!strings.Contains(log, "msg=\"video partial\"") || !strings.Contains(log, "frames="+list) {
				t.Errorf("the summary or log does not list %s:\n%s", list, log)
			}
			var custom map[string]any
			cb, _ := os.ReadFile(filepath.Join(ds, "custom_data.json"))
			json.Unmarshal(cb, &custom)
			if mk, _ := custom["vpipe_missing"].(map[string]any); mk == nil || mk["frames"] != list || mk["count"] != float64(len(missing)) || mk["damage"] == "" {
				t.Errorf("custom_data.json: %s", cb)
			}
			t.Logf("written %d, missing %s (the CLI decodes %d frames before the damage at %.2f s)", len(written), list, before, damageAt)

			// a re-run writes nothing and lists the same
			before2 := tree(t, out)
			log, code = vpipe(t, args...)
			if code != 3 || !strings.Contains(log, fmt.Sprintf("0 written, %d skipped", len(written))) || !strings.Contains(log, "not written: "+list+" (") {
				t.Fatalf("re-run: exit %d\n%s", code, log)
			}
			if after := tree(t, out); fmt.Sprint(after) != fmt.Sprint(before2) {
				t.Error("the re-run changed the output")
			}
		})
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func rangesOf(ix []int) string {
	var parts []string
	for k := 0; k < len(ix); {
		e := k
		for e+1 < len(ix) && ix[e+1] == ix[e]+1 {
			e++
		}
		if e > k {
			parts = append(parts, fmt.Sprintf("%d-%d", ix[k], ix[e]))
		} else {
			parts = append(parts, fmt.Sprint(ix[k]))
		}
		k = e + 1
	}
	return strings.Join(parts, ",")
}

// cut keeps num/den of the file: what an upload cut off leaves.
func cut(num, den int) func([]byte) ([]byte, int64, int64) {
	return func(b []byte) ([]byte, int64, int64) {
		n := len(b) * num / den
		return b[:n], int64(n), 1 << 62
	}
}

// overwrite replaces n bytes from num/den of the file with noise (fixed seed).
func overwrite(num, den, n int) func([]byte) ([]byte, int64, int64) {
	return func(b []byte) ([]byte, int64, int64) {
		out := append([]byte(nil), b...)
		at := len(b) * num / den
		x := uint32(1)
		for i := at; i < at+n; i++ {
			x = x*1664525 + 1013904223
			out[i] = byte(x >> 24)
		}
		return out, int64(at), int64(at + n)
	}
}

// Each frame's annotation is the video annotation scaled to that frame's own
// size: on the resolution-change clip, a rectangle drawn on the 320x240 video
// stays where it is on frame 10 and is scaled by 0.8 on frame 60 (256x192).
func TestResolutionChangeAnnotations(t *testing.T) {
	video := testcorpus.Path(t, testcorpus.ResolutionChange("rc.mp4"))
	src, out := t.TempDir(), t.TempDir()
	for _, d := range []string{"ds0/video", "ds0/ann"} {
		os.MkdirAll(filepath.Join(src, d), 0o755)
	}
	b, _ := os.ReadFile(video)
	os.WriteFile(filepath.Join(src, "ds0/video/rc.mp4"), b, 0o644)
	os.WriteFile(filepath.Join(src, "meta.json"), []byte(`{"classes":[{"title":"box","shape":"rectangle","color":"#FF0000","geometry_config":{},"hotkey":"","description":""}],"tags":[]}`), 0o644)
	fig := func(i int) string {
		return fmt.Sprintf(`{"index":%d,"figures":[{"key":"%032d","objectKey":"%032d","geometryType":"rectangle","geometry":{"points":{"exterior":[[40,40],[200,120]],"interior":[]}}}]}`, i, 100+i, 1)
	}
	ann := fmt.Sprintf(`{"description":"","key":"%032d","size":{"height":240,"width":320},"framesCount":90,"tags":[],"objects":[{"key":"%032d","classTitle":"box","tags":[]}],"frames":[%s,%s]}`,
		7, 1, fig(10), fig(60))
	os.WriteFile(filepath.Join(src, "ds0/ann/rc.mp4.json"), []byte(ann), 0o644)
	log, code := vpipe(t, "run", "pipeline.yaml", "--set", "source.path="+src, "--set", "sink.path="+out,
		"--set", "sampling.only_annotated=true", "--set", "sampling.step=1")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	checkImageProject(t, out)
	for _, c := range []struct {
		frame, w, h int
		rect        string
	}{{10, 320, 240, "[[40,40],[200,120]]"}, {60, 256, 192, "[[32,32],[160,96]]"}} {
		b, err := os.ReadFile(filepath.Join(out, fmt.Sprintf("ds0/datasets/rc.mp4/ann/rc.mp4_frame_%02d.png.json", c.frame)))
		if err != nil {
			t.Fatal(err)
		}
		var a struct {
			Size    struct{ Width, Height int }
			Objects []struct {
				Points struct{ Exterior [][]float64 }
			}
		}
		json.Unmarshal(b, &a)
		if a.Size.Width != c.w || a.Size.Height != c.h || len(a.Objects) != 1 {
			t.Fatalf("frame %d: %s", c.frame, b)
		}
		if got, _ := json.Marshal(a.Objects[0].Points.Exterior); string(got) != c.rect {
			t.Errorf("frame %d: rectangle %s, want %s", c.frame, got, c.rect)
		}
	}
}
