package main_test

import (
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	sv "github.com/vpipe/vpipe/supervisely"
)

// videoProject lays out a Supervisely video project in dir: the fixture's
// meta.json and, in ds0, each video with its annotation.
func videoProject(t *testing.T, dir string, videos map[string]string) {
	t.Helper()
	meta, err := os.ReadFile("../../testdata/svproject/meta.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"ds0/video", "ds0/ann"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "meta.json"), meta, 0o644)
	for src, ann := range videos {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(src)
		os.WriteFile(filepath.Join(dir, "ds0/video", name), b, 0o644)
		os.WriteFile(filepath.Join(dir, "ds0/ann", name+".json"), []byte(ann), 0o644)
	}
}

// oneFigure is a video annotation of size w×h with one figure on frame 0.
func oneFigure(w, h, frames int, class, typ, points string) string {
	return fmt.Sprintf(`{"size":{"height":%d,"width":%d},"description":"","tags":[],"framesCount":%d,
		"objects":[{"key":"o1","classTitle":%q,"tags":[]}],
		"frames":[{"index":0,"figures":[{"key":"f1","objectKey":"o1","geometryType":%q,"geometry":{"points":%s}}]}]}`,
		h, w, frames, class, typ, points)
}

func readAnn(t *testing.T, path string) (ann sv.ImageAnnotation, raw map[string]any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ann); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &raw)
	return ann, raw
}

// TestKeepAspectAndSplitPolygonEndToEnd: a 256x144 video resized to width 200
// is written 200x112 (round half to even of 112.5, the SDK's
// restore_proportional_size) and its annotation says 200x112 too; a U-shaped
// polygon whose bar lies above the frame is written as two polygon labels
// (shapely's split), each with the class and the object_id tag.
func TestKeepAspectAndSplitPolygonEndToEnd(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	// scaled by 200/256 and 112/144 (half to even): x 20,60,150,200 → 16,47,117,156;
	// y -30,-10,100 → -23,-8,78; then cropped to 200x112: the two legs.
	videoProject(t, src, map[string]string{"../../testdata/videos/street/crossing.webm": oneFigure(256, 144, 60, "road", "polygon",
		`{"exterior":[[20,-30],[200,-30],[200,100],[150,100],[150,-10],[60,-10],[60,100],[20,100]],"interior":[]}`)})
	log, code := vpipe(t, "run", "pipeline.yaml", "--set", "source.path="+src, "--set", "sink.path="+out,
		"--set", "sampling.end=1", "--set", "sampling.resize.width=200")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	images := checkImageProject(t, out) // every annotation's size is its PNG's
	if len(images) != 1 {
		t.Fatalf("images %v", images)
	}
	f, _ := os.Open(filepath.Join(out, images[0]))
	cfg, err := png.DecodeConfig(f)
	f.Close()
	if err != nil || cfg.Width != 200 || cfg.Height != 112 {
		t.Fatalf("%s: %dx%d %v, want 200x112", images[0], cfg.Width, cfg.Height, err)
	}
	ann, raw := readAnn(t, filepath.Join(out, strings.Replace(images[0], "/img/", "/ann/", 1)+".json"))
	if ann.Width != 200 || ann.Height != 112 {
		t.Errorf("annotation size %dx%d", ann.Width, ann.Height)
	}
	objs := raw["objects"].([]any)
	var got []string
	for _, o := range objs {
		m := o.(map[string]any)
		p, _ := json.Marshal(m["points"])
		tags, _ := json.Marshal(m["tags"])
		got = append(got, fmt.Sprintf("%s %s %s %s", m["classTitle"], m["geometryType"], p, tags))
	}
	want := []string{
		`road polygon {"exterior":[[156,78],[117,78],[117,0],[156,0]],"interior":[]} [{"name":"object_id","value":1}]`,
		`road polygon {"exterior":[[47,78],[16,78],[16,0],[47,0]],"interior":[]} [{"name":"object_id","value":1}]`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("labels:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// boxVideo makes, with the ffmpeg CLI, a lossless 160x96 clip (5 frames),
// black with a white 6x6 box at stored x 30-35, y 10-15, with a display matrix
// turning it by rot degrees.
func boxVideo(t *testing.T, dir string, rot int) string {
	t.Helper()
	tmp := filepath.Join(dir, "plain.mp4")
	path := filepath.Join(dir, fmt.Sprintf("box%d.mp4", rot))
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", "color=black:s=160x96:r=10:d=0.5", "-vf", "drawbox=x=30:y=10:w=6:h=6:color=white:t=fill",
			"-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv420p", tmp},
		{"-i", tmp, "-c", "copy", "-metadata:s:v:0", fmt.Sprintf("rotate=%d", rot), path},
	} {
		if out, err := exec.Command("ffmpeg", append([]string{"-v", "error", "-y"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
		}
	}
	os.Remove(tmp)
	return path
}

// onBox checks that rectangle r ([[l,t],[r,b]]) covers exactly the white box
// of img: white inside, black on the one-pixel ring around it.
func onBox(t *testing.T, name string, img image.Image, rect [4]int) {
	t.Helper()
	lum := func(x, y int) uint32 { r, g, b, _ := img.At(x, y).RGBA(); return (r + g + b) / 3 >> 8 }
	b := img.Bounds()
	for y := rect[1] - 1; y <= rect[3]+1; y++ {
		for x := rect[0] - 1; x <= rect[2]+1; x++ {
			if !(image.Point{x, y}.In(b)) {
				continue
			}
			in := x >= rect[0] && x <= rect[2] && y >= rect[1] && y <= rect[3]
			if l := lum(x, y); in && l < 200 || !in && l > 50 {
				t.Fatalf("%s: the label %v is not on the white box: pixel (%d,%d) is %d", name, rect, x, y, l)
			}
		}
	}
}

// TestRotatedAnnotationLandsOnItsPixels: a label drawn on the stored frame of
// a clip with a 90° display matrix (rotate=90: ffprobe's rotation 90, shown
// turned counter-clockwise, as the ffmpeg CLI shows it) is turned with the
// frame: the rectangle around the white box at stored x 30-35, y 10-15 is
// written, on the upright 96x160 image, at x 10-15, y 124-129 ((x, y) →
// (y, 159-x)), exactly on the box's pixels; one drawn upright lands on the box
// when the stored orientation is kept (autorotate false). A 180° turn keeps the size, so the annotation is
// taken to be drawn as the output is oriented (README): upright with
// autorotate, as stored without.
func TestRotatedAnnotationLandsOnItsPixels(t *testing.T) {
	vids := t.TempDir()
	v90, v180 := boxVideo(t, vids, 90), boxVideo(t, vids, 180)
	rect := func(w, h, l, tp, r, b int) string {
		return oneFigure(w, h, 5, "car", "rectangle", fmt.Sprintf(`{"exterior":[[%d,%d],[%d,%d]],"interior":[]}`, l, tp, r, b))
	}
	for _, c := range []struct {
		name       string
		video, ann string
		autorotate bool
		w, h       int
		want       [4]int
	}{
		{"90°, drawn on the stored frame, written upright", v90, rect(160, 96, 30, 10, 35, 15), true, 96, 160, [4]int{10, 124, 15, 129}},
		{"90°, drawn upright, written as stored", v90, rect(96, 160, 10, 124, 15, 129), false, 160, 96, [4]int{30, 10, 35, 15}},
		// upright, the box is at x 159-35..159-30, y 95-15..95-10
		{"180°, drawn upright, written upright", v180, rect(160, 96, 124, 80, 129, 85), true, 160, 96, [4]int{124, 80, 129, 85}},
		{"180°, drawn on the stored frame, written as stored", v180, rect(160, 96, 30, 10, 35, 15), false, 160, 96, [4]int{30, 10, 35, 15}},
	} {
		src, out := t.TempDir(), t.TempDir()
		videoProject(t, src, map[string]string{c.video: c.ann})
		log, code := vpipe(t, "run", "pipeline.yaml", "--set", "source.path="+src, "--set", "sink.path="+out,
			"--set", "sampling.end=1", "--set", fmt.Sprintf("sampling.autorotate=%v", c.autorotate))
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", c.name, code, log)
		}
		images := checkImageProject(t, out)
		if len(images) != 1 {
			t.Fatalf("%s: images %v", c.name, images)
		}
		f, _ := os.Open(filepath.Join(out, images[0]))
		img, err := png.Decode(f)
		f.Close()
		if err != nil || img.Bounds().Dx() != c.w || img.Bounds().Dy() != c.h {
			t.Fatalf("%s: %v %v, want %dx%d", c.name, img.Bounds(), err, c.w, c.h)
		}
		ann, _ := readAnn(t, filepath.Join(out, strings.Replace(images[0], "/img/", "/ann/", 1)+".json"))
		if len(ann.Objects) != 1 {
			t.Fatalf("%s: %d labels", c.name, len(ann.Objects))
		}
		r := ann.Objects[0].Geometry.(*sv.Rectangle)
		got := [4]int{int(r.Left), int(r.Top), int(r.Right), int(r.Bottom)}
		if got != c.want {
			t.Errorf("%s: label at %v, want %v", c.name, got, c.want)
		}
		onBox(t, c.name, img, got)
	}
}

// TestFractionalCoordinatesEndToEnd: coordinates are floored as the SDK reads
// them, before the resize: on the 256x144 clip resized to 200x112, the polygon
// [[20.7,10.2],[100.9,10.5],[100.2,80.99],[20.1,80.4]] is [[20,10],[100,10],
// [100,80],[20,80]], scaled by 200/256 and 112/144 (half to even) to
// [[16,8],[78,8],[78,62],[16,62]] (unfloored it would reach x 79, y 63); the
// point at x -0.5 is -1, outside the frame, and dropped before the downscale
// could round it back to 0.
func TestFractionalCoordinatesEndToEnd(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	ann := `{"size":{"height":144,"width":256},"description":"","tags":[],"framesCount":60,
		"objects":[{"key":"o1","classTitle":"road","tags":[]},{"key":"o2","classTitle":"wheel","tags":[]}],
		"frames":[{"index":0,"figures":[
		{"key":"f1","objectKey":"o1","geometryType":"polygon","geometry":{"points":{"exterior":[[20.7,10.2],[100.9,10.5],[100.2,80.99],[20.1,80.4]],"interior":[]}}},
		{"key":"f2","objectKey":"o2","geometryType":"point","geometry":{"points":{"exterior":[[-0.5,50.5]],"interior":[]}}}]}]}`
	videoProject(t, src, map[string]string{"../../testdata/videos/street/crossing.webm": ann})
	log, code := vpipe(t, "run", "pipeline.yaml", "--set", "source.path="+src, "--set", "sink.path="+out,
		"--set", "sampling.end=1", "--set", "sampling.resize.width=200")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	images := checkImageProject(t, out)
	if len(images) != 1 {
		t.Fatalf("images %v", images)
	}
	_, raw := readAnn(t, filepath.Join(out, strings.Replace(images[0], "/img/", "/ann/", 1)+".json"))
	var got []string
	for _, o := range raw["objects"].([]any) {
		m := o.(map[string]any)
		p, _ := json.Marshal(m["points"])
		got = append(got, fmt.Sprintf("%s %s %s", m["classTitle"], m["geometryType"], p))
	}
	want := `road polygon {"exterior":[[16,8],[78,8],[78,62],[16,62]],"interior":[]}`
	if strings.Join(got, "\n") != want {
		t.Errorf("labels:\n%s\nwant\n%s", strings.Join(got, "\n"), want)
	}
}
