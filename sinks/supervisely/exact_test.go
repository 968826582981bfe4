package supervisely_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/vpipe/vpipe/config"
	"github.com/vpipe/vpipe/internal/testenv/svtest"
	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	localsrc "github.com/vpipe/vpipe/sources/local"
)

// An image an earlier run registered without its annotation is annotated by
// the next run at the image's own size, which without a resize is its
// frame's: on a stream whose resolution changes mid-way, frame 60 is 256x192
// while the stream says 320x240. The server holds the size; the run asks it.
func TestReannotateAtImageSize(t *testing.T) {
	video := testcorpus.Path(t, testcorpus.ResolutionChange("rc.mp4"))
	src := t.TempDir()
	for _, d := range []string{"ds0/video", "ds0/ann"} {
		os.MkdirAll(filepath.Join(src, d), 0o755)
	}
	b, _ := os.ReadFile(video)
	os.WriteFile(filepath.Join(src, "ds0/video/rc.mp4"), b, 0o644)
	os.WriteFile(filepath.Join(src, "meta.json"), []byte(`{"classes":[{"title":"box","shape":"rectangle","color":"#FF0000","geometry_config":{},"hotkey":"","description":""}],"tags":[]}`), 0o644)
	fig := func(i int) string {
		return fmt.Sprintf(`{"index":%d,"figures":[{"key":"%032d","objectKey":"%032d","geometryType":"rectangle","geometry":{"points":{"exterior":[[40,40],[200,120]],"interior":[]}}}]}`, i, 100+i, 1)
	}
	os.WriteFile(filepath.Join(src, "ds0/ann/rc.mp4.json"), []byte(fmt.Sprintf(
		`{"description":"","key":"%032d","size":{"height":240,"width":320},"framesCount":90,"tags":[],"objects":[{"key":"%032d","classTitle":"box","tags":[]}],"frames":[%s,%s]}`,
		7, 1, fig(10), fig(60))), 0o644)
	p := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(p, []byte("source: {path: "+src+"}\n"), 0o644)
	c, err := config.Load(p, []string{"sampling.only_annotated=true", "sampling.step=1", "supervisely.retries=2", "supervisely.retry_sleep_ms=1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := svtest.New(token, 2)
	t.Cleanup(s.Close)
	cl := client(t, s, c)
	local, err := localsrc.New(src)
	if err != nil {
		t.Fatal(err)
	}
	s.SetFaults(svtest.Faults{Fail: map[string]int{"annotations.bulk.add": 1000}})
	if r := sample(context.Background(), t, c, local, serverSink(cl, local, 9)); r.sum.VideosFailed != 1 {
		t.Fatalf("first run: %v %+v", r.err, r.sum)
	}
	s.SetFaults(svtest.Faults{})
	if r := sample(context.Background(), t, c, local, serverSink(cl, local, 9)); r.err != nil || r.sum.VideosFailed != 0 || r.sum.Skipped != 2 {
		t.Fatalf("re-run: %v %+v\n%s", r.err, r.sum, r.log)
	}
	dst := destProject(t, s, filepath.Base(src)+"(images)")
	n := 0
	for _, d := range s.Datasets(dst.ID) {
		for _, im := range s.Images(d.ID) {
			var a struct {
				Size struct{ Width, Height int }
			}
			if err := json.Unmarshal(im.Ann, &a); err != nil {
				t.Fatalf("%s: %v (%s)", im.Title, err, im.Ann)
			}
			if a.Size.Width != im.Width || a.Size.Height != im.Height {
				t.Errorf("%s (%dx%d): annotation of size %dx%d", im.Title, im.Width, im.Height, a.Size.Width, a.Size.Height)
			}
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d images", n)
	}
}
