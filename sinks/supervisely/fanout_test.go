package supervisely_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vpipe/vpipe/config"
	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/testenv/svtest"
	"github.com/vpipe/vpipe/sinks/fanout"
	localsink "github.com/vpipe/vpipe/sinks/local"
)

// fileTree is every file under root (lock and temporary files left out):
// relative path → content.
func fileTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || strings.HasPrefix(fi.Name(), ".") {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameFiles(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d files, want %d", what, len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s: %s differs (or is missing)", what, k)
		}
	}
}

// batchBound is the most images.bulk.add calls a run of want may make in
// batches of size: ceil(n/size) per dataset.
func batchBound(want map[string]string, size int) int {
	per := map[string]int{}
	for k := range want {
		per[k[:strings.LastIndex(k, "/")]]++
	}
	n := 0
	for _, c := range per {
		n += (c + size - 1) / size
	}
	return n
}

// localOnly is the tree a server → local run (no fan-out) writes.
func localOnly(t *testing.T, c *config.Config, s *svtest.Server, project int64) map[string]string {
	dir := t.TempDir()
	cl := client(t, s, c)
	if r := sample(context.Background(), t, c, serverSource(s, cl, c, project), localsink.New(dir)); r.err != nil || r.sum.VideosFailed != 0 {
		t.Fatalf("local-only run: %v %+v", r.err, r.sum.Failures)
	}
	return fileTree(t, dir)
}

// TestFanOutWithPlatform: sinks [local, supervisely] run the platform member
// through the batch stages: images.bulk.add and annotations.bulk.add are
// called per batch of stages.batch.batch_size, not per image; the server
// holds what a platform-only run makes and the local member what a
// local-only run makes. A re-run sends nothing; overwrite_annotations on the
// platform member re-sends every annotation and uploads nothing.
func TestFanOutWithPlatform(t *testing.T) {
	c := conf(t) // batch_size 4
	want := reference(t, c)
	s, src := seeded(t)
	wantLocal := localOnly(t, c, s, src.ID)
	cl := client(t, s, c)
	srcs := serverSource(s, cl, c, src.ID)
	dir := t.TempDir()
	before := s.Calls()
	r := sample(context.Background(), t, c, srcs, fanout.New(localsink.New(dir), serverSink(cl, srcs, 0)))
	if r.err != nil || r.sum.VideosFailed != 0 || r.sum.VideosOK != 5 {
		t.Fatalf("%v %+v\n%s", r.err, r.sum, r.log)
	}
	after := s.Calls()
	bound := batchBound(want, c.Stages.Batch.BatchSize)
	for _, m := range []string{"images.bulk.add", "annotations.bulk.add"} {
		if n := after[m] - before[m]; n > bound {
			t.Errorf("%s called %d times for %d images: more than %d batches of %d", m, n, len(want), bound, c.Stages.Batch.BatchSize)
		}
	}
	dst := destProject(t, s, "svproject(images)")
	got, imgs := serverState(t, s, dst.ID)
	diff(t, "platform member", got, want)
	checkOnce(t, s, dst.ID)
	sameFiles(t, "local member", fileTree(t, dir), wantLocal)

	before = s.Calls()
	r = sample(context.Background(), t, c, srcs, fanout.New(localsink.New(dir), serverSink(cl, srcs, 0)))
	if r.err != nil || r.sum.Written != 0 || r.sum.Skipped != len(want) {
		t.Fatalf("re-run: %v %+v", r.err, r.sum)
	}
	after = s.Calls()
	for _, m := range []string{"images.bulk.add", "images.bulk.upload", "annotations.bulk.add"} {
		if after[m] != before[m] {
			t.Errorf("re-run called %s %d times", m, after[m]-before[m])
		}
	}

	sk := serverSink(cl, srcs, 0)
	sk.Overwrite = true
	if r := sample(context.Background(), t, c, srcs, fanout.New(localsink.New(dir), sk)); r.err != nil || r.sum.Written != 0 {
		t.Fatalf("overwrite: %v %+v", r.err, r.sum)
	}
	over, imgs2 := serverState(t, s, dst.ID)
	diff(t, "overwrite", over, got)
	for k, im := range imgs2 {
		if im.AnnPosts != imgs[k].AnnPosts+1 {
			t.Fatalf("%s: %d annotation uploads after overwrite, %d before", k, im.AnnPosts, imgs[k].AnnPosts)
		}
	}
	sameFiles(t, "local member after overwrite", fileTree(t, dir), wantLocal)
}

// TestFanOutInterrupted: runs into [local, supervisely] cancelled at an
// annotation or registration call, then run again, end with the clean state
// in both: annotations the interrupted run left out are sent by the re-run,
// both for images both members hold and for those only the platform got.
func TestFanOutInterrupted(t *testing.T) {
	c := conf(t)
	want := reference(t, c)
	for _, at := range []struct {
		method string
		n      int
	}{{"annotations.bulk.add", 1}, {"annotations.bulk.add", 4}, {"images.bulk.add", 3}} {
		t.Run(fmt.Sprintf("%s#%d", at.method, at.n), func(t *testing.T) {
			s, src := seeded(t)
			wantLocal := localOnly(t, c, s, src.ID)
			cl := client(t, s, c)
			srcs := serverSource(s, cl, c, src.ID)
			dir := t.TempDir()
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
			r := sample(ctx, t, c, srcs, fanout.New(localsink.New(dir), serverSink(cl, srcs, 0)))
			if !errors.Is(r.err, context.Canceled) {
				t.Fatalf("not interrupted: %v %+v", r.err, r.sum)
			}
			s.OnCall(nil)
			r = sample(context.Background(), t, c, srcs, fanout.New(localsink.New(dir), serverSink(cl, srcs, 0)))
			if r.err != nil || r.sum.VideosFailed != 0 {
				t.Fatalf("re-run: %v %+v", r.err, r.sum.Failures)
			}
			dst := destProject(t, s, "svproject(images)")
			got, _ := serverState(t, s, dst.ID)
			diff(t, "platform member resumed", got, want)
			checkOnce(t, s, dst.ID)
			sameFiles(t, "local member resumed", fileTree(t, dir), wantLocal)
		})
	}
}

// TestFanOutTwoPlatforms: two platform members (two projects) in one
// fan-out each get their own ids and annotations, in batches.
func TestFanOutTwoPlatforms(t *testing.T) {
	c := conf(t)
	want := reference(t, c)
	s, src := seeded(t)
	a, b := s.AddProject(7, "a", "images", nil), s.AddProject(7, "b", "images", nil)
	cl := client(t, s, c)
	srcs := serverSource(s, cl, c, src.ID)
	into := func(p int64) core.Sink {
		sk := serverSink(cl, srcs, 0)
		sk.ProjectID = p
		return sk
	}
	before := s.Calls()
	r := sample(context.Background(), t, c, srcs, fanout.New(into(a.ID), into(b.ID)))
	if r.err != nil || r.sum.VideosFailed != 0 || r.sum.VideosOK != 5 {
		t.Fatalf("%v %+v\n%s", r.err, r.sum, r.log)
	}
	if n, bound := s.Calls()["images.bulk.add"]-before["images.bulk.add"], 2*batchBound(want, c.Stages.Batch.BatchSize); n > bound {
		t.Errorf("images.bulk.add called %d times: more than %d", n, bound)
	}
	for _, p := range []int64{a.ID, b.ID} {
		got, _ := serverState(t, s, p)
		diff(t, fmt.Sprintf("project %d", p), got, want)
		checkOnce(t, s, p)
	}
}

// TestFanOutPlatformFails: the platform member failing a video's annotations
// (beyond the retry budget) fails the video, naming the member, and rolls it
// back in the local member, which took its images during upload; the other
// videos complete. A re-run completes both members to the clean state.
func TestFanOutPlatformFails(t *testing.T) {
	c := conf(t, "supervisely.retries=1", "stages.decode.workers=1")
	want := reference(t, c)
	s, src := seeded(t)
	wantLocal := localOnly(t, c, s, src.ID)
	cl := client(t, s, c)
	srcs := serverSource(s, cl, c, src.ID)
	dir := t.TempDir()
	s.SetFaults(svtest.Faults{Fail: map[string]int{"annotations.bulk.add": 2}})
	r := sample(context.Background(), t, c, srcs, fanout.New(localsink.New(dir), serverSink(cl, srcs, 0)))
	if r.err != nil || r.sum.VideosFailed != 1 || r.sum.VideosOK != 4 {
		t.Fatalf("%v %+v", r.err, r.sum)
	}
	failed := r.sum.Failures[0]
	if msg := failed.Err.Error(); !strings.Contains(msg, "sink 2 (supervisely") || !strings.Contains(msg, "annotations.bulk.add") {
		t.Fatalf("the failure does not name the member and the call: %s", msg)
	}
	for k := range localState(t, dir) {
		if strings.HasPrefix(k, failed.Video+"/") {
			t.Fatalf("%s stayed in the local member after its video failed", k)
		}
	}
	s.SetFaults(svtest.Faults{})
	r = sample(context.Background(), t, c, srcs, fanout.New(localsink.New(dir), serverSink(cl, srcs, 0)))
	if r.err != nil || r.sum.VideosFailed != 0 {
		t.Fatalf("re-run: %v %+v", r.err, r.sum.Failures)
	}
	dst := destProject(t, s, "svproject(images)")
	got, _ := serverState(t, s, dst.ID)
	diff(t, "platform member after the re-run", got, want)
	checkOnce(t, s, dst.ID)
	sameFiles(t, "local member after the re-run", fileTree(t, dir), wantLocal)
}
