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

	"github.com/vpipe/vpipe/internal/testcorpus"
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
