// Package sinktest is the sink conformance suite: every layout passes it on
// every store (layouts/project through sinks/local and sinks/storesink on the
// local, S3, GCS and Azure stores; COCO, YOLO and WebDataset through
// internal/testenv/layouttest), fan-out passes it, and the Supervisely
// platform sink passes the cases that apply to a service (Target.Cannot: it
// never replaces or deletes an image and its names are titles, not paths, so
// AtomicVisibility, DeleteMissing, Names, WriteFailure, ResumeRepair and the
// roll-back half of ResumeAfterFailure are skipped there, each with its
// reason), as rclone runs one suite against every backend.
// It covers concurrent Put, Existing after Put, atomic visibility, Delete of
// missing names, meta merge and conflict, custom data, names that try to
// escape the root, resume after a mid-video failure, a write that fails (a
// full disk) leaving nothing of its video, and resume repairing an image
// whose annotation or meta is gone.
//
// A sink's test calls Run with a function that makes a Target on a fresh, empty
// root; the suite only uses the core.Sink interface and what the Target reads
// back by another code path (the file system, or raw S3 calls). Where a layout
// keeps an image's objects is the Target's Layout (the project layout's when
// nil), so the training-format layouts (layouts/coco, layouts/yolo) pass the
// same suite.
package sinktest

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/store"
	sv "github.com/vpipe/vpipe/supervisely"
)

// Target is one sink on a fresh root, and ways to look at what it stored.
type Target struct {
	// Open makes a sink on the root; called again, it is a re-run (a new
	// process) on the same root.
	Open func(t *testing.T) core.Sink
	// Tree reads every object under the root as a reader would see it (for a
	// folder: not the hidden temporaries of writes in flight): path relative
	// to the root with / separators → bytes. A layout of another shape gives
	// the project layout's tree of the images it holds (a format suite reads
	// its files back so); one whose files appear at Close rather than at Put
	// (WebDataset shards) first has them published, as a finisher's Close on
	// the same root would, so the suite reads what a reader would see once the
	// writers in flight are done.
	Tree func(t *testing.T) map[string][]byte
	// Outside lists what was written next to the root, outside it (nil: not
	// checked).
	Outside func(t *testing.T) []string
	// Block makes every write of one object (path relative to the root, /
	// separators) fail from now on, as a full disk or a refused permission
	// would, until unblock is called. The sink is not told: the error comes
	// from below it (the file system, the server).
	Block func(t *testing.T, path string) (unblock func())
	// NoFaults, when Block is nil, says why the store's test server cannot
	// refuse one object's writes (the write-failure case is then skipped
	// with it); the store suite's fault cases prove the store's side.
	NoFaults string
	// Remove deletes one object by another code path than the sink's (a file
	// lost or deleted by hand); a layout of another shape removes the part of
	// its own files that holds it (a member of a shard).
	Remove func(t *testing.T, path string)
	// Layout says where the sink keeps what the suite looks at; nil: the
	// Supervisely project layout (ProjectLayout).
	Layout *Layout
	// Reserved, when not nil, replaces the layout's reserved top-level
	// dataset names (empty: none).
	Reserved []string
	// Cannot names what the sink cannot do, each with why (a service, not a
	// store: the Supervisely platform). The cases, or the parts of a case,
	// that need it are skipped with that reason; the rest runs. A layout on
	// a store can do all of them.
	Cannot map[Ability]string
}

// Ability is something a case needs beyond the core.Sink calls.
type Ability string

const (
	// Overwrite: a Put of a name already there replaces it (AtomicVisibility).
	Overwrite Ability = "overwrite"
	// Delete: Delete removes images (DeleteMissing, the roll-back of
	// ResumeAfterFailure, WriteFailure).
	Delete Ability = "delete"
	// PathNames: names are path segments under a root, so a name that tries
	// to leave the root must be refused (Names).
	PathNames Ability = "path names"
	// Repair: an image whose annotation or meta is lost by hand is written
	// again on resume (ResumeRepair).
	Repair Ability = "repair"
	// ConcurrentMerge: writers starting together, each with other classes,
	// lose none of them in the merged meta (ConcurrentBegin's meta half).
	ConcurrentMerge Ability = "merge metas concurrently"
)

// can tells whether the target can do a, logging why not: the caller leaves
// out the part of its case that needs it.
func (tg *Target) can(t *testing.T, a Ability) bool {
	t.Helper()
	if why, ok := tg.Cannot[a]; ok {
		t.Logf("skipped (the sink cannot %s): %s", a, why)
		return false
	}
	return true
}

// need skips the case when the target cannot do a.
func (tg *Target) need(t *testing.T, a Ability) {
	t.Helper()
	if why, ok := tg.Cannot[a]; ok {
		t.Skipf("the sink cannot %s: %s", a, why)
	}
}

// Layout says where a layout keeps what the suite looks at. Keys are paths
// relative to the root with / separators.
type Layout struct {
	// Objects are the keys of one image's objects: the image first, then
	// those that must be there whenever it is (its annotation, label, meta).
	Objects func(dataset []string, name string) []string
	// Dirs are the folders (ending in /) that hold a dataset's objects, its
	// custom data included.
	Dirs func(dataset []string) []string
	// Meta is the key of the merged project meta.
	Meta string
	// ProjectData is the key of the project's custom data ("": the sink
	// keeps its own provenance there, not what Begin is given, and
	// CustomData checks only the datasets').
	ProjectData string
	// DatasetData is the key of a dataset's custom data.
	DatasetData func(dataset []string) string
	// Reserved are top-level dataset names the layout refuses.
	Reserved []string
	// Check reports (t.Errorf) where the tree does not hold img exactly as
	// the layout writes it: every object of it, with its content.
	Check func(t *testing.T, tree map[string][]byte, img *core.Image)
}

// ProjectLayout is the Supervisely image project layout (layouts/project):
// <dataset>/img|ann|meta, nested datasets under <parent>/datasets/.
func ProjectLayout() *Layout {
	dir := func(dataset []string) string { return strings.Join(dataset, "/datasets/") }
	return &Layout{
		Objects: func(dataset []string, name string) []string {
			d := dir(dataset)
			return []string{d + "/img/" + name, d + "/ann/" + name + ".json", d + "/meta/" + name + ".json"}
		},
		Dirs:        func(dataset []string) []string { return []string{dir(dataset) + "/"} },
		Meta:        "meta.json",
		ProjectData: "custom_data.json",
		DatasetData: func(dataset []string) string { return dir(dataset) + "/custom_data.json" },
		Reserved:    []string{"img", "ann", "meta", "datasets", "meta.json"},
		Check:       checkProjectImage,
	}
}

func (tg *Target) layout() *Layout {
	if tg.Layout == nil {
		return ProjectLayout()
	}
	return tg.Layout
}

// checkImage says whether the tree holds img exactly, as the layout writes it.
func (tg *Target) checkImage(t *testing.T, tree map[string][]byte, img *core.Image) {
	t.Helper()
	tg.layout().Check(t, tree, img)
}

// under lists the objects of the tree in a dataset's folders.
func (tg *Target) under(tree map[string][]byte, dataset []string) []string {
	var out []string
	for _, d := range tg.layout().Dirs(dataset) {
		out = append(out, under(tree, strings.TrimSuffix(d, "/"))...)
	}
	sort.Strings(out)
	return out
}

// Run runs the suite; newTarget is called once per test.
func Run(t *testing.T, newTarget func(t *testing.T) *Target) {
	tests := []struct {
		name string
		fn   func(*testing.T, *Target)
	}{
		{"ConcurrentPut", concurrentPut},
		{"ExistingAfterPut", existingAfterPut},
		{"AtomicVisibility", atomicVisibility},
		{"DeleteMissing", deleteMissing},
		{"MetaMerge", metaMerge},
		{"ConcurrentBegin", concurrentBegin},
		{"CustomData", customData},
		{"Names", names},
		{"ResumeAfterFailure", resumeAfterFailure},
		{"WriteFailure", writeFailure},
		{"ResumeRepair", resumeRepair},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newTarget(t)) })
	}
}

var ds = []string{"ds0", "clip.mp4"}

// Image makes a test image whose bytes tell its name and version. From 64
// bytes on they start as a PNG of the annotation's size (3×2) does, so a
// service that reads an image's header (the platform) takes them; the rest
// is no pixel data.
func Image(dataset []string, name string, size, version int) *core.Image {
	unit := []byte(fmt.Sprintf("%s#%d|", name, version))
	data := bytes.Repeat(unit, size/len(unit)+1)[:size]
	if size >= 64 {
		copy(data, pngHeader(3, 2))
	}
	return &core.Image{
		Dataset: dataset,
		Name:    name,
		Data:    data,
		Ann:     json.RawMessage(fmt.Sprintf(`{"description":"","size":{"height":2,"width":3},"tags":[],"objects":[],"customBigData":{},"v":%d}`, version)),
		Meta:    map[string]any{"frame_index": version, "video_name": "clip.mp4"},
	}
}

// pngHeader is a PNG's signature and IHDR chunk (8-bit RGB) of a w×h image.
func pngHeader(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32([]byte("IHDR"), w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	out := append([]byte("\x89PNG\r\n\x1a\n"), 0, 0, 0, 13)
	out = append(out, ihdr...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(ihdr))
}

func name(i int) string { return fmt.Sprintf("clip.mp4_frame_%03d.png", i) }

func begin(t *testing.T, s core.Sink) {
	t.Helper()
	if _, err := s.Begin(context.Background(), nil, nil); err != nil {
		t.Fatalf("Begin: %v", err)
	}
}

func put(t *testing.T, s core.Sink, img *core.Image) {
	t.Helper()
	if err := s.Put(context.Background(), img); err != nil {
		t.Fatalf("Put %s: %v", img.Name, err)
	}
}

func existing(t *testing.T, s core.Sink, dataset []string) []string {
	t.Helper()
	m, err := s.Existing(context.Background(), dataset)
	if err != nil {
		t.Fatalf("Existing %v: %v", dataset, err)
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkProjectImage says whether the tree holds img exactly (image,
// annotation, meta) in the project layout.
func checkProjectImage(t *testing.T, tree map[string][]byte, img *core.Image) {
	t.Helper()
	dir := strings.Join(img.Dataset, "/datasets/")
	got, ok := tree[dir+"/img/"+img.Name]
	if !ok || !bytes.Equal(got, img.Data) {
		t.Errorf("%s/img/%s: %d bytes (present %v), want %d", dir, img.Name, len(got), ok, len(img.Data))
	}
	var a, b any
	if err := json.Unmarshal(tree[dir+"/ann/"+img.Name+".json"], &a); err != nil {
		t.Errorf("ann of %s: %v", img.Name, err)
	}
	json.Unmarshal(img.Ann, &b)
	if !JSONEqual(a, b) {
		t.Errorf("ann of %s: %v, want %v", img.Name, a, b)
	}
	var m any
	if err := json.Unmarshal(tree[dir+"/meta/"+img.Name+".json"], &m); err != nil {
		t.Errorf("meta of %s: %v", img.Name, err)
	}
	if !JSONEqual(m, img.Meta) {
		t.Errorf("meta of %s: %v, want %v", img.Name, m, img.Meta)
	}
}

// JSONEqual tells whether two values make the same JSON.
func JSONEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	var u, v any
	json.Unmarshal(x, &u)
	json.Unmarshal(y, &v)
	x, _ = json.Marshal(u)
	y, _ = json.Marshal(v)
	return bytes.Equal(x, y)
}

// concurrentPut: 48 images from 8 goroutines all land whole.
func concurrentPut(t *testing.T, tg *Target) {
	s := tg.Open(t)
	begin(t, s)
	const n = 48
	imgs := make([]*core.Image, n)
	for i := range imgs {
		imgs[i] = Image(ds, name(i), 1000+i*37, i)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				if err := s.Put(context.Background(), imgs[i]); err != nil {
					errs <- err
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := existing(t, s, ds); len(got) != n {
		t.Fatalf("Existing: %d names, want %d", len(got), n)
	}
	tree := tg.Tree(t)
	for _, img := range imgs {
		tg.checkImage(t, tree, img)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// existingAfterPut: Existing lists exactly what was put, per dataset, and an
// unknown dataset is empty, not an error.
func existingAfterPut(t *testing.T, tg *Target) {
	s := tg.Open(t)
	begin(t, s)
	if got := existing(t, s, ds); len(got) != 0 {
		t.Fatalf("Existing on a new root: %v", got)
	}
	put(t, s, Image(ds, name(3), 100, 1))
	other := []string{"ds0", "other.mp4"}
	put(t, s, Image(other, name(5), 100, 1))
	if got := existing(t, s, ds); fmt.Sprint(got) != fmt.Sprint([]string{name(3)}) {
		t.Fatalf("Existing: %v", got)
	}
	if got := existing(t, tg.Open(t), other); fmt.Sprint(got) != fmt.Sprint([]string{name(5)}) {
		t.Fatalf("Existing from a new sink: %v", got)
	}
	if got := existing(t, s, []string{"ds0", "never.mp4"}); len(got) != 0 {
		t.Fatalf("Existing of an unknown dataset: %v", got)
	}
	if got := existing(t, s, []string{"ds0"}); len(got) != 0 {
		t.Fatalf("Existing of the parent dataset: %v (the child's images leaked up)", got)
	}
}

// atomicVisibility: while images are written and overwritten, a reader never
// sees an image that is not whole, nor one without its annotation and meta.
func atomicVisibility(t *testing.T, tg *Target) {
	tg.need(t, Overwrite)
	s := tg.Open(t)
	begin(t, s)
	const size = 1 << 20
	const frames, rounds = 4, 3
	whole := map[string]bool{} // "name#version" of every complete image
	for i := 0; i < frames; i++ {
		for v := 0; v < rounds; v++ {
			whole[string(Image(ds, name(i), size, v).Data)] = true
		}
	}
	done := make(chan struct{})
	var werr error
	go func() {
		defer close(done)
		for v := 0; v < rounds; v++ {
			for i := 0; i < frames; i++ {
				if err := s.Put(context.Background(), Image(ds, name(i), size, v)); err != nil {
					werr = err
					return
				}
			}
		}
	}()
	reads := 0
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true // one more look after the writer ended
		default:
		}
		tree := tg.Tree(t)
		// A reader's tree is no snapshot: ann/ may be listed before an image
		// lands in img/. What must hold is that an image once seen has its
		// annotation and meta (its label) in any look taken after it.
		after := tg.Tree(t)
		for i := 0; i < frames; i++ {
			objs := tg.layout().Objects(ds, name(i))
			b, ok := tree[objs[0]]
			if !ok {
				continue
			}
			reads++
			if !whole[string(b)] {
				t.Fatalf("%s read with %d bytes, not a whole image", objs[0], len(b))
			}
			for _, o := range objs[1:] {
				if _, ok := after[o]; !ok {
					t.Fatalf("%s listed before %s", objs[0], o)
				}
			}
		}
		for k, b := range tree {
			if strings.HasSuffix(k, ".json") && !json.Valid(b) {
				t.Fatalf("%s read as invalid JSON (%d bytes)", k, len(b))
			}
		}
	}
	if werr != nil {
		t.Fatal(werr)
	}
	if reads == 0 {
		t.Fatal("the reader saw no image")
	}
	tree := tg.Tree(t)
	for i := 0; i < frames; i++ {
		tg.checkImage(t, tree, Image(ds, name(i), size, rounds-1))
	}
}

// deleteMissing: Delete of names never written is fine; Delete removes image,
// annotation and meta, and a dataset left empty disappears.
func deleteMissing(t *testing.T, tg *Target) {
	tg.need(t, Delete)
	s := tg.Open(t)
	begin(t, s)
	ctx := context.Background()
	if err := s.Delete(ctx, ds, []string{name(1), name(2)}); err != nil {
		t.Fatalf("Delete of names never written: %v", err)
	}
	if err := s.Dataset(ctx, core.DatasetInfo{Dataset: ds, Custom: map[string]any{"video_name": "clip.mp4"}}); err != nil {
		t.Fatal(err)
	}
	put(t, s, Image(ds, name(1), 100, 1))
	put(t, s, Image(ds, name(2), 100, 1))
	if err := s.Delete(ctx, ds, []string{name(1), name(9)}); err != nil {
		t.Fatalf("Delete with one missing name: %v", err)
	}
	if got := existing(t, s, ds); fmt.Sprint(got) != fmt.Sprint([]string{name(2)}) {
		t.Fatalf("Existing after Delete: %v", got)
	}
	tree := tg.Tree(t)
	for _, k := range tg.layout().Objects(ds, name(1)) {
		if _, ok := tree[k]; ok {
			t.Errorf("%s left after Delete", k)
		}
	}
	if err := s.Delete(ctx, ds, []string{name(2)}); err != nil {
		t.Fatal(err)
	}
	for _, k := range tg.under(tg.Tree(t), ds) {
		t.Errorf("%s left in a dataset whose images were all deleted", k)
	}
}

func parseMeta(t *testing.T, s string) *sv.ProjectMeta {
	t.Helper()
	var m sv.ProjectMeta
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func classes(t *testing.T, b []byte) string {
	t.Helper()
	var m struct {
		Classes []struct {
			Title, Shape string
		} `json:"classes"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("meta.json: %v: %s", err, b)
	}
	var out []string
	for _, c := range m.Classes {
		out = append(out, c.Title+":"+c.Shape)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// metaMerge: Begin writes an empty meta on a new root, merges source metas
// into what is there, and a conflict fails before anything changes.
func metaMerge(t *testing.T, tg *Target) {
	ctx := context.Background()
	mk := tg.layout().Meta
	begin(t, tg.Open(t))
	b, ok := tg.Tree(t)[mk]
	if !ok || classes(t, b) != "" {
		t.Fatalf("%s of a new root: %q", mk, b)
	}
	car := parseMeta(t, `{"classes":[{"title":"car","shape":"rectangle","color":"#FF0000","geometry_config":{}}],"tags":[]}`)
	person := parseMeta(t, `{"classes":[{"title":"person","shape":"polygon","color":"#00FF00","geometry_config":{}}],"tags":[]}`)
	if _, err := tg.Open(t).Begin(ctx, car, nil); err != nil {
		t.Fatal(err)
	}
	m, err := tg.Open(t).Begin(ctx, person, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Classes) != 2 {
		t.Fatalf("merged meta has %d classes", len(m.Classes))
	}
	before := tg.Tree(t)[mk]
	if got := classes(t, before); got != "car:rectangle,person:polygon" {
		t.Fatalf("%s after two merges: %s", mk, got)
	}
	clash := parseMeta(t, `{"classes":[{"title":"car","shape":"bitmap","color":"#FF0000","geometry_config":{}}],"tags":[]}`)
	if _, err := tg.Open(t).Begin(ctx, clash, nil); err == nil || !strings.Contains(err.Error(), "car") {
		t.Fatalf("a class of another shape: %v, want an error naming it", err)
	}
	if after := tg.Tree(t)[mk]; !bytes.Equal(before, after) {
		t.Fatalf("a failed merge changed %s", mk)
	}
	// Unannotated input leaves the meta as it is.
	if _, err := tg.Open(t).Begin(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	if after := tg.Tree(t)[mk]; !bytes.Equal(before, after) {
		t.Fatalf("Begin(nil) changed %s", mk)
	}
}

// concurrentBegin: sinks opened at once on one new root (shards starting
// together) each merge their own class into meta.json; none is lost, and the
// shared dataset's custom data, written by all, is whole.
func concurrentBegin(t *testing.T, tg *Target) {
	ctx := context.Background()
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			m := parseMeta(t, fmt.Sprintf(`{"classes":[{"title":"c%d","shape":"rectangle","color":"#FF0000","geometry_config":{}}],"tags":[]}`, i))
			s := tg.Open(t)
			if _, errs[i] = s.Begin(ctx, m, map[string]any{"video_project_id": 7}); errs[i] == nil {
				errs[i] = s.Dataset(ctx, core.DatasetInfo{Dataset: []string{"ds0"}, Custom: map[string]any{"video_dataset_id": 3}})
			}
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	tree := tg.Tree(t)
	want := []string{}
	for i := 0; i < n; i++ {
		want = append(want, fmt.Sprintf("c%d:rectangle", i))
	}
	sort.Strings(want)
	mk, dk := tg.layout().Meta, tg.layout().DatasetData([]string{"ds0"})
	if got := classes(t, tree[mk]); got != strings.Join(want, ",") && tg.can(t, ConcurrentMerge) {
		t.Fatalf("%s after %d concurrent merges: %s", mk, n, got)
	}
	var cd map[string]any
	if err := json.Unmarshal(tree[dk], &cd); err != nil || cd["video_dataset_id"] != 3.0 {
		t.Fatalf("%s: %s %v", dk, tree[dk], err)
	}
}

// customData: the project's and datasets' custom data are stored as
// custom_data.json; a dataset made with other output settings is refused.
func customData(t *testing.T, tg *Target) {
	ctx := context.Background()
	s := tg.Open(t)
	if _, err := s.Begin(ctx, nil, map[string]any{"is_sample": true, "video_project_name": "p"}); err != nil {
		t.Fatal(err)
	}
	out := map[string]any{"width": 3, "height": 2, "filter": "bicubic"}
	info := core.DatasetInfo{Dataset: ds, Custom: map[string]any{"video_name": "clip.mp4", core.OutputKey: out}}
	if err := s.Dataset(ctx, info); err != nil {
		t.Fatal(err)
	}
	if err := s.Dataset(ctx, core.DatasetInfo{Dataset: ds[:1], Custom: map[string]any{"video_dataset_name": "ds0"}}); err != nil {
		t.Fatal(err)
	}
	tree := tg.Tree(t)
	lay := tg.layout()
	want := map[string]map[string]any{
		lay.DatasetData(ds):              info.Custom,
		lay.DatasetData([]string{"ds0"}): {"video_dataset_name": "ds0"},
	}
	if lay.ProjectData != "" {
		want[lay.ProjectData] = map[string]any{"is_sample": true, "video_project_name": "p"}
	}
	for k, w := range want {
		var got any
		if err := json.Unmarshal(tree[k], &got); err != nil || !JSONEqual(got, w) {
			t.Errorf("%s: %s (%v), want %v", k, tree[k], err, w)
		}
	}
	// The same settings again (a re-run) are fine; other settings are not.
	if err := tg.Open(t).Dataset(ctx, info); err != nil {
		t.Fatalf("a re-run with the same settings: %v", err)
	}
	// Settings recorded for a dataset that holds no image bind nothing; once it
	// holds one, other settings are refused, by CheckDataset (which writes
	// nothing) as by Dataset.
	other := core.DatasetInfo{Dataset: ds, Custom: map[string]any{core.OutputKey: map[string]any{"width": 6, "height": 4, "filter": "bicubic"}}}
	if err := tg.Open(t).CheckDataset(ctx, other); err != nil {
		t.Fatalf("settings of a dataset without images: %v", err)
	}
	if err := s.Put(ctx, Image(ds, "clip.mp4_frame_0.png", 100, 2)); err != nil {
		t.Fatal(err)
	}
	before := tg.Tree(t)
	if err := tg.Open(t).CheckDataset(ctx, other); err == nil {
		t.Fatal("CheckDataset accepted other output settings")
	}
	if err := tg.Open(t).Dataset(ctx, other); err == nil {
		t.Fatal("a dataset made with other output settings was accepted")
	}
	if after := tg.Tree(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatal("a refused CheckDataset or Dataset wrote")
	}
}

// names: dataset and image names that try to leave the root are refused (or
// stored under the root), and nothing lands outside it.
func names(t *testing.T, tg *Target) {
	tg.need(t, PathNames)
	ctx := context.Background()
	s := tg.Open(t)
	begin(t, s)
	long := strings.Repeat("n", 2000)
	bad := []string{"..", ".", "", "a/b", "../up", `a\b`, "a\x00b", long, "/abs"}
	for _, b := range bad {
		for _, img := range []*core.Image{
			Image([]string{b}, "x.png", 10, 1),
			Image([]string{"ds0", b}, "x.png", 10, 1),
			Image(ds, b, 10, 1),
			Image(ds, b+".png", 10, 1),
		} {
			err := s.Put(ctx, img)
			if err == nil && strings.ContainsAny(b, "/\\\x00") {
				t.Errorf("Put(dataset %q, name %q) was accepted", img.Dataset, img.Name)
			}
		}
		if err := s.Dataset(ctx, core.DatasetInfo{Dataset: []string{b}, Custom: map[string]any{}}); err == nil && (b == ".." || b == "." || b == "") {
			t.Errorf("Dataset(%q) was accepted", b)
		}
		_, _ = s.Existing(ctx, []string{b})
		_ = s.Delete(ctx, []string{b}, []string{"x.png"})
	}
	reserved := tg.layout().Reserved
	if tg.Reserved != nil {
		reserved = tg.Reserved
	}
	for _, r := range reserved {
		if err := s.Put(ctx, Image([]string{r}, "x.png", 10, 1)); err == nil {
			t.Errorf("a top dataset named %q (reserved in the layout) was accepted", r)
		}
	}
	if tg.Outside != nil {
		if out := tg.Outside(t); len(out) > 0 {
			t.Fatalf("written outside the root: %q", out)
		}
	}
	for k := range tg.Tree(t) {
		for _, seg := range strings.Split(k, "/") {
			if seg == ".." || seg == "." || seg == "" {
				t.Errorf("stored %q, a path with a %q segment", k, seg)
			}
		}
	}
}

// resumeAfterFailure: a video written halfway (a run killed mid-video) is
// resumed by a new sink that sees what is there; a video that failed is rolled
// back by Delete; both end with what one clean run writes.
func resumeAfterFailure(t *testing.T, tg *Target) {
	ctx := context.Background()
	imgs := make([]*core.Image, 10)
	for i := range imgs {
		imgs[i] = Image(ds, name(i), 500+i, i)
	}
	s := tg.Open(t)
	begin(t, s)
	for _, img := range imgs[:4] {
		put(t, s, img)
	}
	// The run dies here; a re-run lists and writes only what is missing.
	s2 := tg.Open(t)
	begin(t, s2)
	have, err := s2.Existing(ctx, ds)
	if err != nil {
		t.Fatal(err)
	}
	if len(have) != 4 {
		t.Fatalf("re-run sees %d images, want 4", len(have))
	}
	for _, img := range imgs {
		if !have[img.Name] {
			put(t, s2, img)
		}
	}
	tree := tg.Tree(t)
	for _, img := range imgs {
		tg.checkImage(t, tree, img)
	}
	per := len(tg.layout().Objects(ds, name(0)))
	if n := len(tg.under(tree, ds)); n != 10*per {
		t.Errorf("%d objects in the dataset, want %d (%d for each of 10 frames)", n, 10*per, per)
	}
	// A second video fails after 3 frames: the runner deletes what it wrote.
	if !tg.can(t, Delete) {
		return
	}
	failed := []string{"ds0", "bad.mp4"}
	var written []string
	for i := 0; i < 3; i++ {
		put(t, s2, Image(failed, name(i), 100, i))
		written = append(written, name(i))
	}
	if err := s2.Delete(ctx, failed, written); err != nil {
		t.Fatal(err)
	}
	for _, k := range tg.under(tg.Tree(t), failed) {
		t.Errorf("%s left by a rolled-back video", k)
	}
	if got := existing(t, tg.Open(t), failed); len(got) != 0 {
		t.Fatalf("a rolled-back video still has %v", got)
	}
}

// under lists the objects of the tree under dir/.
func under(tree map[string][]byte, dir string) []string {
	var out []string
	for k := range tree {
		if strings.HasPrefix(k, dir+"/") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// writeFailure: a write that fails (the image's, its annotation's or its
// meta's) fails the Put and leaves none of that frame's objects; the runner's
// roll-back of the frames written before then leaves nothing of the video;
// a re-run once the fault is gone writes exactly what one clean run writes.
func writeFailure(t *testing.T, tg *Target) {
	tg.need(t, Delete) // the runner's roll-back is part of the case
	if tg.Block == nil && tg.NoFaults != "" {
		t.Skip(tg.NoFaults)
	}
	if tg.Block == nil {
		t.Fatal("Target.Block is not set: every sink must run this case (or say in NoFaults why its test server cannot)")
	}
	ctx := context.Background()
	per := len(tg.layout().Objects(ds, name(0)))
	for part := per - 1; part >= 0; part-- { // the project layout: meta, ann, then img
		video := fmt.Sprintf("full-%d.mp4", part)
		fds := []string{"ds0", video}
		imgs := []*core.Image{Image(fds, name(0), 300, 0), Image(fds, name(1), 300, 1), Image(fds, name(2), 300, 2)}
		s := tg.Open(t)
		begin(t, s)
		put(t, s, imgs[0])
		put(t, s, imgs[1])
		obj := tg.layout().Objects(fds, name(2))[part]
		unblock := tg.Block(t, obj)
		if err := s.Put(ctx, imgs[2]); err == nil {
			t.Fatalf("Put with %s unwritable succeeded", obj)
		}
		for _, k := range tg.under(tg.Tree(t), fds) {
			if strings.Contains(k, strings.TrimSuffix(name(2), ".png")) {
				t.Errorf("a failed Put (%s unwritable) left %s", obj, k)
			}
		}
		if got := existing(t, s, fds); fmt.Sprint(got) != fmt.Sprint([]string{name(0), name(1)}) {
			t.Errorf("Existing after a failed Put (%s unwritable): %v", obj, got)
		}
		if err := s.Delete(ctx, fds, []string{name(0), name(1)}); err != nil { // the runner's roll-back
			t.Fatal(err)
		}
		if left := tg.under(tg.Tree(t), fds); len(left) > 0 {
			t.Errorf("a rolled-back video whose write failed (%s) left %q", obj, left)
		}
		s.Close()
		unblock()
		s2 := tg.Open(t)
		begin(t, s2)
		if got := existing(t, s2, fds); len(got) != 0 {
			t.Errorf("a re-run sees %v of a rolled-back video", got)
		}
		for _, img := range imgs {
			put(t, s2, img)
		}
		tree := tg.Tree(t)
		for _, img := range imgs {
			tg.checkImage(t, tree, img)
		}
		if got := tg.under(tree, fds); len(got) != 3*per {
			t.Errorf("after the re-run: %d objects in %s, want %d: %q", len(got), video, 3*per, got)
		}
		s2.Close()
	}
}

// resumeRepair: an image whose annotation or meta is gone does not count as
// existing, so a re-run writes it again and the dataset is whole.
func resumeRepair(t *testing.T, tg *Target) {
	tg.need(t, Repair)
	if tg.Remove == nil {
		t.Fatal("Target.Remove is not set: every sink must run this case")
	}
	imgs := []*core.Image{Image(ds, name(0), 200, 0), Image(ds, name(1), 200, 1), Image(ds, name(2), 200, 2)}
	s := tg.Open(t)
	begin(t, s)
	for _, img := range imgs {
		put(t, s, img)
	}
	s.Close()
	o1, o2 := tg.layout().Objects(ds, name(1)), tg.layout().Objects(ds, name(2))
	tg.Remove(t, o1[1])         // the project layout: an annotation
	tg.Remove(t, o2[len(o2)-1]) // and a meta
	s2 := tg.Open(t)
	begin(t, s2)
	have := existing(t, s2, ds)
	if fmt.Sprint(have) != fmt.Sprint([]string{name(0)}) {
		t.Fatalf("Existing with %s and %s gone: %v, want only %s", o1[1], o2[len(o2)-1], have, name(0))
	}
	for _, img := range imgs[1:] {
		put(t, s2, img)
	}
	tree := tg.Tree(t)
	for _, img := range imgs {
		tg.checkImage(t, tree, img)
	}
	if got, per := tg.under(tree, ds), len(o1); len(got) != 3*per {
		t.Errorf("after the repair: %d objects, want %d: %q", len(got), 3*per, got)
	}
}

// OnStore is the target of a layout written on a store: open makes the
// store of the root (called again for each re-run and for the reader's
// view), layout the sink on it; block, if the store's test server can refuse
// the writes of one key, is Target.Block. Tree and Remove read and delete
// through a second handle of the store, not through the sink.
func OnStore(open func(t *testing.T) store.Store, layout func(store.Store) core.Sink, block func(t *testing.T, key string) func()) *Target {
	return &Target{
		Open: func(t *testing.T) core.Sink { return layout(open(t)) },
		Tree: func(t *testing.T) map[string][]byte {
			st := open(t)
			tree := map[string][]byte{}
			var keys []string
			if err := st.List(context.Background(), "", func(k string, _ int64) error { keys = append(keys, k); return nil }); err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				b, found, err := st.Get(context.Background(), k)
				if err != nil || !found {
					t.Fatalf("Get %s: found %v, %v", k, found, err)
				}
				tree[k] = b
			}
			return tree
		},
		Block: block,
		Remove: func(t *testing.T, path string) {
			if err := open(t).Delete(context.Background(), path); err != nil {
				t.Fatal(err)
			}
		},
	}
}

// OutsideOf lists the keys of the store parent (the bucket or container the
// root is a prefix of) that are not under prefix/: Target.Outside of a store.
func OutsideOf(parent func(t *testing.T) store.Store, prefix string) func(t *testing.T) []string {
	return func(t *testing.T) []string {
		var out []string
		err := parent(t).List(context.Background(), "", func(k string, _ int64) error {
			if !strings.HasPrefix(k, prefix+"/") {
				out = append(out, k)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
}
