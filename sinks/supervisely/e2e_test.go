package supervisely_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/vpipe/vpipe/backends/all" // the backends config.Load reads
	"github.com/vpipe/vpipe/config"
	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/testenv/svtest"
	localsink "github.com/vpipe/vpipe/sinks/local"
	svsink "github.com/vpipe/vpipe/sinks/supervisely"
	localsrc "github.com/vpipe/vpipe/sources/local"
	svsrc "github.com/vpipe/vpipe/sources/supervisely"
	"github.com/vpipe/vpipe/stages"
	sv "github.com/vpipe/vpipe/supervisely"
	"github.com/vpipe/vpipe/supervisely/api"
	"github.com/vpipe/vpipe/supervisely/platform"
)

const token = "sv-token-5e1f0c2a77b9"

const fixture = "../../testdata/svproject"

type quiet struct{}

func (quiet) VideoStart(string, int, int)       {}
func (quiet) FrameDone(string)                  {}
func (quiet) VideoDone(string, int, int, error) {}

// conf is the run's configuration, loaded the way vpipe loads it.
func conf(t *testing.T, sets ...string) *config.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(p, []byte("source: {path: "+fixture+"}\n"), 0o644)
	base := []string{"sampling.step=3", "sampling.resize.width=100", "sampling.copy_annotations=true",
		"stages.batch.batch_size=4", "stages.upload.workers=2", "stages.decode.workers=2",
		"supervisely.retries=10", "supervisely.retry_sleep_ms=1", "supervisely.read_timeout_s=1"}
	c, err := config.Load(p, append(base, sets...), nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func client(t *testing.T, s *svtest.Server, c *config.Config) *api.Client {
	sc := c.Section(platform.Name).(*platform.Config)
	cl, err := api.New(api.Options{Server: s.URL(), Token: token, Retries: sc.Retries,
		RetrySleep: time.Duration(sc.RetrySleepMs) * time.Millisecond, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// seeded is a server with the fixture project: nested datasets, every
// geometry, tags with frame ranges, tracked figures; ds0 holds 4 videos (2 pages).
func seeded(t *testing.T) (*svtest.Server, *svtest.Project) {
	s := svtest.New(token, 2)
	t.Cleanup(s.Close)
	p, err := s.SeedLocal(fixture, 7, map[string][]string{"ds0/clip.mp4": {"clip_b.mp4", "clip_c.mp4", "clip_d.mp4"}})
	if err != nil {
		t.Fatal(err)
	}
	return s, p
}

type run struct {
	sum stages.Summary
	err error
	log string
}

func sample(ctx context.Context, t *testing.T, c *config.Config, src core.Source, sink core.Sink) run {
	t.Helper()
	var b bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &b, mu: &mu}, nil))
	r := &stages.Runner{Config: c, Source: src, Sink: sink, Reporter: quiet{}, Log: log}
	sum, err := r.Run(ctx)
	mu.Lock()
	defer mu.Unlock()
	return run{sum: sum, err: err, log: b.String()}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func serverSource(s *svtest.Server, cl *api.Client, c *config.Config, project int64) *svsrc.Source {
	return &svsrc.Source{C: cl, ProjectID: project, Download: "stream", ReadTimeout: time.Duration(c.Section(platform.Name).(*platform.Config).ReadTimeoutS) * time.Second}
}

func serverSink(cl *api.Client, src core.Source, ws int64) *svsink.Sink {
	sk := &svsink.Sink{C: cl, WorkspaceID: ws, SourceProject: src.Project}
	if s, ok := src.(*svsrc.Source); ok {
		sk.SourceWorkspace = func(ctx context.Context) (int64, error) {
			p, err := s.Info(ctx)
			if err != nil {
				return 0, err
			}
			return p.WorkspaceID, nil
		}
	}
	return sk
}

// norm re-encodes JSON with sorted keys.
func norm(t *testing.T, b []byte) string {
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	out, _ := json.Marshal(x)
	return string(out)
}

// localState is a local image project: dataset path/title → image hash + annotation.
func localState(t *testing.T, root string) map[string]string {
	out := map[string]string{}
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || filepath.Base(filepath.Dir(p)) != "img" {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(filepath.Dir(p)))
		ds := strings.ReplaceAll(rel, "/datasets/", "/")
		img, _ := os.ReadFile(p)
		ann, _ := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(p)), "ann", fi.Name()+".json"))
		out[ds+"/"+fi.Name()] = api.Hash(img) + " " + norm(t, ann)
		return nil
	})
	return out
}

// serverState is the same for a project on the server: annotations converted
// back from subpixel; an image never annotated has the empty one of its size.
func serverState(t *testing.T, s *svtest.Server, project int64) (map[string]string, map[string]svtest.Image) {
	dss := s.Datasets(project)
	byID := map[int64]svtest.Dataset{}
	for _, d := range dss {
		byID[d.ID] = d
	}
	path := func(d svtest.Dataset) string {
		p := d.Name
		for d.ParentID != nil {
			d = byID[*d.ParentID]
			p = d.Name + "/" + p
		}
		return p
	}
	out, imgs := map[string]string{}, map[string]svtest.Image{}
	for _, d := range dss {
		for _, im := range s.Images(d.ID) {
			ann := []byte(fmt.Sprintf(`{"description":"","size":{"height":%d,"width":%d},"tags":[],"objects":[],"customBigData":{}}`, im.Height, im.Width))
			if im.Ann != nil {
				var err error
				if ann, err = sv.FromSubpixel(im.Ann); err != nil {
					t.Fatal(err)
				}
			}
			k := path(d) + "/" + im.Title
			if _, dup := out[k]; dup {
				t.Fatalf("duplicate title %s", k)
			}
			out[k] = im.Hash + " " + norm(t, ann)
			imgs[k] = im
		}
	}
	return out, imgs
}

func diff(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d images, want %d", what, len(got), len(want))
	}
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	n := 0
	for _, k := range keys {
		if got[k] != want[k] && n < 3 {
			n++
			t.Errorf("%s: %s\n got  %.300s\n want %.300s", what, k, got[k], want[k])
		}
	}
}

// reference samples the fixture from disk into a local folder.
func reference(t *testing.T, c *config.Config) map[string]string {
	dir := t.TempDir()
	src, _ := localsrc.New(fixture)
	if r := sample(context.Background(), t, c, src, localsink.New(dir)); r.err != nil || r.sum.VideosFailed > 0 {
		t.Fatalf("%v %+v", r.err, r.sum.Failures)
	}
	st := localState(t, dir)
	// the server project has three more copies of clip.mp4
	for k, v := range st {
		if strings.HasPrefix(k, "ds0/clip.mp4/") {
			for _, c := range []string{"clip_b.mp4", "clip_c.mp4", "clip_d.mp4"} {
				st["ds0/"+c+"/"+strings.Replace(strings.TrimPrefix(k, "ds0/clip.mp4/"), "clip.mp4", c, 1)] = v
			}
		}
	}
	return st
}

func destProject(t *testing.T, s *svtest.Server, name string) svtest.Project {
	t.Helper()
	var found []svtest.Project
	for _, p := range s.Projects() {
		if strings.HasPrefix(p.Name, name) {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d projects named %s*: %+v", len(found), name, found)
	}
	return found[0]
}

// TestServerToServer: the seeded project sampled with step, resize and
// copy_annotations into a new image project holds the mirrored datasets with
// their custom data, the titles, metas with the real frame_index, one
// annotation per annotated image with scaled geometries: the same images and
// annotations as sampling the project from disk. A re-run writes nothing and
// sends nothing; the token reaches no log or error; nothing goes to the
// storage host named in fullStorageUrl.
func TestServerToServer(t *testing.T) {
	c := conf(t)
	want := reference(t, c)
	s, src := seeded(t)
	cl := client(t, s, c)
	srcs := serverSource(s, cl, c, src.ID)
	r := sample(context.Background(), t, c, srcs, serverSink(cl, srcs, 0))
	if r.err != nil || r.sum.VideosFailed != 0 || r.sum.VideosOK != 5 {
		t.Fatalf("%v %+v\n%s", r.err, r.sum, r.log)
	}
	dst := destProject(t, s, "svproject(images)")
	if dst.Description != fmt.Sprintf("Sample project made from project #%d", src.ID) || dst.WorkspaceID != 7 ||
		dst.CustomData["is_sample"] != true || dst.CustomData["video_project_id"] != float64(src.ID) || dst.CustomData["video_project_name"] != "svproject" {
		t.Fatalf("project: %+v", dst)
	}
	got, imgs := serverState(t, s, dst.ID)
	diff(t, "server → server vs disk → disk", got, want)
	for k, im := range imgs {
		var ann struct{ Objects, Tags []any }
		json.Unmarshal(im.Ann, &ann)
		if im.AnnPosts > 1 || (im.AnnPosts == 0) != (im.Ann == nil) {
			t.Fatalf("%s: %d annotation uploads", k, im.AnnPosts)
		}
		idx := strings.TrimSuffix(k[strings.LastIndex(k, "_")+1:], ".png")
		n, _ := strconv.Atoi(idx)
		if fmt.Sprint(im.Meta["frame_index"]) != fmt.Sprint(n) || im.Meta["video_name"] == nil || im.Meta["video_id"] == nil ||
			im.Meta["video_dataset_id"] == nil || im.Meta["video_project_id"] != float64(src.ID) {
			t.Fatalf("%s: meta %v", k, im.Meta)
		}
	}
	// mirrored datasets, each with custom data; one child per video
	names := map[string]svtest.Dataset{}
	for _, d := range s.Datasets(dst.ID) {
		names[d.Name] = d
	}
	for _, n := range []string{"ds0", "night", "clip.mp4", "clip_d.mp4", "dark.mp4"} {
		d, ok := names[n]
		if !ok || d.CustomData["is_sample"] != true || d.CustomData["video_dataset_name"] == nil {
			t.Fatalf("dataset %s: %+v", n, d)
		}
	}
	if v := names["dark.mp4"]; v.CustomData["video_name"] != "dark.mp4" || v.CustomData["video_dataset_name"] != "night" ||
		*v.ParentID != names["night"].ID || *names["night"].ParentID != names["ds0"].ID || v.CustomData[core.OutputKey] == nil {
		t.Fatalf("video dataset: %+v", v)
	}
	if s.DecoyHits() != 0 || s.BadAuth() != 0 {
		t.Fatalf("%d requests to the storage host, %d without the token", s.DecoyHits(), s.BadAuth())
	}
	if strings.Contains(r.log, token) || !strings.Contains(r.log, "bytes_fetched") {
		t.Fatalf("log:\n%s", r.log)
	}
	t.Logf("calls: %v", s.Calls())

	// again: nothing written, nothing sent, same state
	before := s.Calls()
	r = sample(context.Background(), t, c, srcs, serverSink(cl, srcs, 0))
	if r.err != nil || r.sum.Written != 0 || r.sum.Skipped != len(want) {
		t.Fatalf("re-run: %v %+v", r.err, r.sum)
	}
	after := s.Calls()
	for _, m := range []string{"images.bulk.add", "images.bulk.upload", "annotations.bulk.add", "projects.add", "datasets.add",
		"projects.meta.update", "datasets.editInfo"} {
		if after[m] != before[m] {
			t.Errorf("re-run called %s %d times", m, after[m]-before[m])
		}
	}
	again, _ := serverState(t, s, dst.ID)
	diff(t, "re-run", again, got)

	// overwrite_annotations: every existing image gets its annotation again,
	// empty ones too; nothing is uploaded
	sk := serverSink(cl, srcs, 0)
	sk.Overwrite = true
	if r := sample(context.Background(), t, c, srcs, sk); r.err != nil || r.sum.Written != 0 {
		t.Fatalf("overwrite: %v %+v", r.err, r.sum)
	}
	over, imgs2 := serverState(t, s, dst.ID)
	diff(t, "overwrite", over, got)
	for k, im := range imgs2 {
		if im.AnnPosts != imgs[k].AnnPosts+1 {
			t.Fatalf("%s: %d uploads after overwrite, %d before", k, im.AnnPosts, imgs[k].AnnPosts)
		}
	}
}

// TestCombinations: server → local and local → server give what disk → disk gives.
func TestCombinations(t *testing.T) {
	c := conf(t)
	want := reference(t, c)
	s, src := seeded(t)
	cl := client(t, s, c)
	dir := t.TempDir()
	srcs := serverSource(s, cl, c, src.ID)
	if r := sample(context.Background(), t, c, srcs, localsink.New(dir)); r.err != nil || r.sum.VideosFailed != 0 {
		t.Fatalf("%v %+v", r.err, r.sum.Failures)
	}
	diff(t, "server → local", localState(t, dir), want)

	local, _ := localsrc.New(fixture)
	if r := sample(context.Background(), t, c, local, serverSink(cl, local, 9)); r.err != nil || r.sum.VideosFailed != 0 {
		t.Fatalf("%v %+v", r.err, r.sum.Failures)
	}
	dst := destProject(t, s, "svproject(images)")
	got, _ := serverState(t, s, dst.ID)
	for k, v := range want {
		if strings.Contains(k, "clip_") {
			delete(want, k)
		}
		_ = v
	}
	diff(t, "local → server", got, want)
	if dst.WorkspaceID != 9 {
		t.Fatal(dst.WorkspaceID)
	}
}

// TestDestinations: a name clash gets _001; project_id writes into that
// project; dataset_ids samples the listed dataset and descends into its
// ancestors, whose own videos are left out.
func TestDestinations(t *testing.T) {
	c := conf(t, "sampling.step=10")
	s, src := seeded(t)
	s.AddProject(7, "svproject(images)", "images", nil) // someone else's
	cl := client(t, s, c)
	night := int64(0)
	for _, d := range s.Datasets(src.ID) {
		if d.Name == "night" {
			night = d.ID
		}
	}
	srcs := serverSource(s, cl, c, src.ID)
	srcs.DatasetIDs = []int64{night}
	r := sample(context.Background(), t, c, srcs, serverSink(cl, srcs, 0))
	n := r.sum.Written
	if r.err != nil || r.sum.VideosOK != 1 || n == 0 {
		t.Fatalf("%v %+v", r.err, r.sum)
	}
	dst := destProject(t, s, "svproject(images)_001")
	var names []string
	for _, d := range s.Datasets(dst.ID) {
		names = append(names, d.Name)
	}
	if fmt.Sprint(names) != "[ds0 night dark.mp4]" {
		t.Fatalf("datasets %v", names)
	}
	// into an existing project
	into := s.AddProject(8, "mine", "images", nil)
	sk := serverSink(cl, srcs, 0)
	sk.ProjectID = into.ID
	if r := sample(context.Background(), t, c, srcs, sk); r.err != nil || r.sum.Written != n {
		t.Fatalf("%v %+v", r.err, r.sum)
	}
	if got, _ := serverState(t, s, into.ID); len(got) != n {
		t.Fatalf("%v", got)
	}
	for _, p := range s.Projects() {
		if p.ID == into.ID && len(p.CustomData) != 0 {
			t.Fatalf("the custom data of a given project was changed: %v", p.CustomData)
		}
	}
}
