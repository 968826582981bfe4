package supervisely_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/testenv/svtest"
	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	svsrc "github.com/vpipe/vpipe/sources/supervisely"
	sv "github.com/vpipe/vpipe/supervisely"
)

func videoID(t *testing.T, s *svtest.Server, project int64, name string) int64 {
	t.Helper()
	cl := client(t, s, conf(t))
	for _, d := range s.Datasets(project) {
		vs, err := cl.Videos(context.Background(), d.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			if v.Name == name {
				return v.ID
			}
		}
	}
	t.Fatalf("no video %s", name)
	return 0
}

// checkOnce: every image has at most one annotation upload, and exactly one
// when its annotation has labels or tags.
func checkOnce(t *testing.T, s *svtest.Server, project int64) {
	t.Helper()
	_, imgs := serverState(t, s, project)
	for k, im := range imgs {
		if im.AnnPosts > 1 {
			t.Errorf("%s: %d annotation uploads", k, im.AnnPosts)
		}
	}
}

// TestFaults: with 20 % of calls failing (bursts of 500/502/503/429), one video
// stream stalling and one cut mid-way, and responses lost after the server
// applied the request, the run completes with the state of a clean run.
func TestFaults(t *testing.T) {
	c := conf(t)
	want := reference(t, c)
	s, src := seeded(t)
	s.SetFaults(svtest.Faults{FailRate: 0.2, MaxBurst: 3, Seed: 11,
		Stall: map[int64]int64{videoID(t, s, src.ID, "clip_b.mp4"): 9000},
		Reset: map[int64]int64{videoID(t, s, src.ID, "clip_c.mp4"): 17000},
		Lose:  map[string]int{"images.bulk.add": 2, "annotations.bulk.add": 2, "datasets.add": 1, "projects.add": 1}})
	cl := client(t, s, c)
	srcs := serverSource(s, cl, c, src.ID)
	r := sample(context.Background(), t, c, srcs, serverSink(cl, srcs, 0))
	if r.err != nil || r.sum.VideosFailed != 0 {
		t.Fatalf("%v %+v\n%s", r.err, r.sum.Failures, r.log)
	}
	dst := destProject(t, s, "svproject(images)")
	got, _ := serverState(t, s, dst.ID)
	diff(t, "with faults", got, want)
	checkOnce(t, s, dst.ID)
	n := 0
	for _, v := range s.Calls() {
		n += v
	}
	f := s.Fired()
	t.Logf("%d API calls with faults %v", n, f)
	if f["stall"] != 1 || f["reset"] != 1 || f["lose images.bulk.add"] != 2 || f["lose annotations.bulk.add"] != 2 ||
		f["lose projects.add"] != 1 || f["burst 503"]+f["burst 500"]+f["burst 502"]+f["burst 429"] < n/10 {
		t.Fatalf("faults did not all happen: %v", f)
	}
}

// TestBeyondBudget: faults past the retry budget fail the video, naming the
// call and the video; a re-run completes to the clean state.
func TestBeyondBudget(t *testing.T) {
	c := conf(t, "supervisely.retries=2", "stages.decode.workers=1")
	want := reference(t, c)
	s, src := seeded(t)
	s.SetFaults(svtest.Faults{Fail: map[string]int{"videos.annotations.bulk.info": 3}})
	cl := client(t, s, c)
	srcs := serverSource(s, cl, c, src.ID)
	r := sample(context.Background(), t, c, srcs, serverSink(cl, srcs, 0))
	if r.err != nil || r.sum.VideosFailed != 1 || r.sum.Failures[0].Video != "ds0/clip.mp4" {
		t.Fatalf("%v %+v", r.err, r.sum)
	}
	msg := r.sum.Failures[0].Err.Error()
	vid := videoID(t, s, src.ID, "clip.mp4")
	for _, w := range []string{"videos.annotations.bulk.info", "HTTP 503", "retry limit exceeded: 3 attempts", fmt.Sprintf("video %d (clip.mp4)", vid)} {
		if !strings.Contains(msg, w) {
			t.Errorf("%q lacks %q", msg, w)
		}
	}
	if strings.Contains(msg, token) || strings.Contains(r.log, token) {
		t.Fatal("the token leaked")
	}
	// a download beyond the budget fails the same way
	s.SetFaults(svtest.Faults{Fail: map[string]int{"images.bulk.add": 100}})
	r = sample(context.Background(), t, c, srcs, serverSink(cl, srcs, 0))
	if r.sum.VideosFailed != 1 || !strings.Contains(r.sum.Failures[0].Err.Error(), "images.bulk.add: HTTP 503") {
		t.Fatalf("%+v", r.sum)
	}
	s.SetFaults(svtest.Faults{})
	r = sample(context.Background(), t, c, srcs, serverSink(cl, srcs, 0))
	if r.err != nil || r.sum.VideosFailed != 0 {
		t.Fatalf("re-run: %v %+v", r.err, r.sum.Failures)
	}
	dst := destProject(t, s, "svproject(images)")
	got, _ := serverState(t, s, dst.ID)
	diff(t, "after a re-run", got, want)
	checkOnce(t, s, dst.ID)
}

// TestInterrupted: runs cancelled at several calls (the request reaches the
// server, the answer does not reach vpipe), each then run again, end with the
// clean state: no duplicate titles, no second annotation upload.
func TestInterrupted(t *testing.T) {
	c := conf(t)
	want := reference(t, c)
	for _, at := range []struct {
		method string
		n      int
	}{{"datasets.add", 3}, {"images.bulk.upload", 2}, {"images.bulk.add", 3}, {"annotations.bulk.add", 1}, {"annotations.bulk.add", 5}, {"projects.meta.update", 1}} {
		t.Run(fmt.Sprintf("%s#%d", at.method, at.n), func(t *testing.T) {
			s, src := seeded(t)
			cl := client(t, s, c)
			srcs := serverSource(s, cl, c, src.ID)
			ctx, cancel := context.WithCancel(context.Background())
			var mu sync.Mutex
			seen := 0
			s.OnCall(func(m string) {
				mu.Lock()
				defer mu.Unlock()
				if m == at.method {
					if seen++; seen == at.n {
						cancel()
					}
				}
			})
			r := sample(ctx, t, c, srcs, serverSink(cl, srcs, 0))
			if !errors.Is(r.err, context.Canceled) {
				t.Fatalf("not interrupted: %v %+v", r.err, r.sum)
			}
			s.OnCall(nil)
			r = sample(context.Background(), t, c, srcs, serverSink(cl, srcs, 0))
			if r.err != nil || r.sum.VideosFailed != 0 {
				t.Fatalf("re-run: %v %+v", r.err, r.sum.Failures)
			}
			dst := destProject(t, s, "svproject(images)")
			got, _ := serverState(t, s, dst.ID)
			diff(t, "resumed", got, want)
			checkOnce(t, s, dst.ID)
		})
	}
}

// discard is a sink that keeps nothing: for measuring the source alone.
type discard struct{}

func (discard) Begin(context.Context, *sv.ProjectMeta, map[string]any) (*sv.ProjectMeta, error) {
	return nil, nil
}
func (discard) Dataset(context.Context, core.DatasetInfo) error      { return nil }
func (discard) Check(context.Context, *sv.ProjectMeta) error         { return nil }
func (discard) CheckDataset(context.Context, core.DatasetInfo) error { return nil }
func (discard) Existing(context.Context, []string) (map[string]bool, error) {
	return map[string]bool{}, nil
}
func (discard) Put(context.Context, *core.Image) error           { return nil }
func (discard) Delete(context.Context, []string, []string) error { return nil }
func (discard) Close() error                                     { return nil }
func (discard) Describe() string                                 { return "discard" }
func (discard) Features() core.SinkFeatures                      { return core.SinkFeatures{} }

// TestBytesFetched: a full pass over a 60 s MP4 fetches at most 1.1 × the file,
// a sparse one (a frame every 5 s) well under it; the run log reports it.
// download: file leaves no temporary file, whether the run succeeds, fails or
// is cancelled.
func TestBytesFetched(t *testing.T) {
	long := testcorpus.Path(t, testcorpus.Long)
	st, _ := os.Stat(long)
	s := svtest.New(token, 2)
	defer s.Close()
	p := s.AddProject(7, "long", "videos", nil)
	d := s.AddDataset(p.ID, nil, "ds0")
	v, err := s.AddVideoFile(d.ID, long)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		sets []string
		max  float64
	}{
		{"full", []string{"sampling.step=1", "sampling.resize.width=0"}, 1.1},
		{"sparse", []string{"sampling.step=125", "sampling.resize.width=0"}, 0.5},
	} {
		c := conf(t, tc.sets...)
		before := s.Served(v.ID)
		r := sample(context.Background(), t, c, serverSource(s, client(t, s, c), c, p.ID), discard{})
		if r.err != nil || r.sum.VideosFailed != 0 {
			t.Fatalf("%v %+v", r.err, r.sum.Failures)
		}
		served := s.Served(v.ID) - before
		ratio := float64(served) / float64(st.Size())
		t.Logf("%s: %d frames, the server sent %d bytes of %d: %.3f × the file", tc.name, r.sum.Written, served, st.Size(), ratio)
		m := regexp.MustCompile(`bytes_fetched=(\d+) file_bytes=(\d+) map_from_index=true`).FindStringSubmatch(r.log)
		if m == nil {
			t.Fatalf("no bytes_fetched in the log:\n%s", r.log)
		}
		logged, _ := strconv.ParseInt(m[1], 10, 64)
		t.Logf("%s: the run log says %s bytes fetched of %s", tc.name, m[1], m[2])
		if ratio > tc.max || float64(logged)/float64(st.Size()) > tc.max || logged > served {
			t.Fatalf("%s: %.3f × the file (logged %d)\n%s", tc.name, ratio, logged, r.log)
		}
	}

	tmp := t.TempDir()
	c := conf(t, "sampling.step=300")
	src := serverSource(s, client(t, s, c), c, p.ID)
	src.TempDir, src.Download = tmp, "file" // the config's source is local: its keys are not a server source's

	if r := sample(context.Background(), t, c, src, discard{}); r.err != nil || r.sum.VideosFailed != 0 || r.sum.Written != 5 {
		t.Fatalf("%v %+v", r.err, r.sum)
	}
	s.SetFaults(svtest.Faults{Fail: map[string]int{"videos.annotations.bulk.info": 100}})
	if r := sample(context.Background(), t, c, src, discard{}); r.sum.VideosFailed != 1 {
		t.Fatalf("%+v", r.sum)
	}
	s.SetFaults(svtest.Faults{})
	ctx, cancel := context.WithCancel(context.Background())
	s.OnCall(func(m string) {
		if m == "videos.annotations.bulk.info" {
			cancel()
		}
	})
	if r := sample(ctx, t, c, src, discard{}); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("%v", r.err)
	}
	s.OnCall(nil)
	if left := svsrc.TempFiles(tmp); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}
