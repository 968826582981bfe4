package supervisely_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/vpipe/vpipe/config"
	"github.com/vpipe/vpipe/internal/testenv/svtest"
	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	localsrc "github.com/vpipe/vpipe/sources/local"
)

// annPosts is how many annotations the server received, over all images.
func annPosts(s *svtest.Server) int {
	n := 0
	for _, p := range s.Projects() {
		for _, d := range s.Datasets(p.ID) {
			for _, im := range s.Images(d.ID) {
				n += im.AnnPosts
			}
		}
	}
	return n
}

var resentLine = regexp.MustCompile(`msg="annotations re-sent".* images=(\d+)`)

// resent is the number of images the run's "annotations re-sent" lines
// report, and how many such lines there were.
func resent(log string) (images, lines int) {
	for _, m := range resentLine.FindAllStringSubmatch(log, -1) {
		n, _ := strconv.Atoi(m[1])
		images += n
		lines++
	}
	return images, lines
}

// TestReannotateLogsWhatWasSent: a run registers 10 images whose annotations
// all fail to arrive; of their annotations one has a label, nine are empty.
// The re-run sends the one (empty ones are not sent) and its log says 1; a
// third run has only empty ones left, sends nothing and says nothing. The
// server's count of annotations received is the log's.
func TestReannotateLogsWhatWasSent(t *testing.T) {
	src := testcorpus.Folder(t, t.TempDir(), testcorpus.Small, "ds0/video/small.mp4")
	os.MkdirAll(filepath.Join(src, "ds0/ann"), 0o755)
	os.WriteFile(filepath.Join(src, "meta.json"), []byte(`{"classes":[{"title":"box","shape":"rectangle","color":"#FF0000","geometry_config":{},"hotkey":"","description":""}],"tags":[]}`), 0o644)
	os.WriteFile(filepath.Join(src, "ds0/ann/small.mp4.json"), []byte(fmt.Sprintf(
		`{"description":"","key":"%032d","size":{"height":72,"width":128},"framesCount":10,"tags":[],"objects":[{"key":"%032d","classTitle":"box","tags":[]}],`+
			`"frames":[{"index":3,"figures":[{"key":"%032d","objectKey":"%032d","geometryType":"rectangle","geometry":{"points":{"exterior":[[10,10],[60,40]],"interior":[]}}}]}]}`,
		7, 1, 2, 1)), 0o644)
	p := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(p, []byte("source: {path: "+src+"}\n"), 0o644)
	c, err := config.Load(p, []string{"sampling.step=1", "sampling.copy_annotations=true", "supervisely.retries=2", "supervisely.retry_sleep_ms=1"}, nil)
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
	if r := sample(context.Background(), t, c, local, serverSink(cl, local, 9)); r.sum.VideosFailed != 1 || r.sum.Written != 0 {
		t.Fatalf("first run: %v %+v", r.err, r.sum)
	}
	s.SetFaults(svtest.Faults{})
	for run, want := range []int{1, 0} {
		before := annPosts(s)
		r := sample(context.Background(), t, c, local, serverSink(cl, local, 9))
		if r.err != nil || r.sum.VideosFailed != 0 || r.sum.Skipped != 10 {
			t.Fatalf("re-run %d: %v %+v\n%s", run+1, r.err, r.sum, r.log)
		}
		sent := annPosts(s) - before
		n, lines := resent(r.log)
		t.Logf("re-run %d: the server received %d annotations; the log says %d in %d line(s)", run+1, sent, n, lines)
		if sent != want || n != sent || (sent == 0) != (lines == 0) {
			t.Fatalf("re-run %d: the server received %d annotations (want %d); the log says %d in %d line(s):\n%s", run+1, sent, want, n, lines, r.log)
		}
	}
}
