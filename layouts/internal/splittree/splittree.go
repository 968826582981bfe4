// Package splittree is what the training-format layouts (layouts/coco,
// layouts/yolo) share, written once against store.Store:
//
//	images/<split>/<dataset path>/<video>/<image name>   the frames
//	<companion of each image>                            its label file, or its journal entry
//	.vpipe/meta.json                                     the merged project meta (class ids come from it)
//	.vpipe/custom_data.json                              the project's custom data (provenance)
//	.vpipe/datasets/<a>/datasets/<b>/custom_data.json    each dataset's custom data
//
// The destination dataset of a video is its source dataset path plus the
// video's name (core.Item.DestDataset), so the last name of a dataset path is
// the video: Options.Split gets the two apart. .vpipe/ holds vpipe's
// bookkeeping, out of the way of training tools (a dot folder).
//
// Every object is put atomically by the store, and an image goes after its
// companion, so an image that exists always has its label; Existing counts an
// image only with its companion, and Delete removes images first. The project
// meta is merged with the store's Update, keeping the classes already there
// in their places and adding new ones after them, so class ids never move.
package splittree

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/formats"
	"github.com/vpipe/vpipe/layouts/project"
	"github.com/vpipe/vpipe/store"
	sv "github.com/vpipe/vpipe/supervisely"
)

// Keys of vpipe's bookkeeping.
const (
	Hidden      = ".vpipe/"
	MetaKey     = Hidden + "meta.json"
	ProjectData = Hidden + project.CustomDataFile
)

// Written says a key is a video's output (an image under images/): a
// training-format layout's Spec.Written.
func Written(key string) bool { return strings.HasPrefix(key, "images/") }

// DefaultSplit is where every video goes without a split resolver.
const DefaultSplit = "train"

// Options are what every training-format layout is told.
type Options struct {
	// Split names the split of a video from its source dataset path and its
	// name (sink.split: a stable hash of both). nil: every video is in
	// DefaultSplit.
	Split func(dataset []string, video string) string
	// OnSkip is called once per class, geometry and why, the first time
	// this sink leaves out a label of them (why: formats.Skip.Why; the
	// caller logs it); Skipped has the counts. nil: not told.
	OnSkip func(class, geometry, why string)
}

// Format is what one layout adds to the tree.
type Format struct {
	// Name names the format in Describe ("COCO").
	Name string
	// Companion is the key of an image's companion object. Every image of one
	// dataset and split has its companion in one folder.
	Companion func(split string, dataset []string, name string) (string, error)
	// Render makes an image's companion from its annotation; skips are the
	// labels the format leaves out.
	Render func(img *core.Image, split string, ann *sv.ImageAnnotation) ([]byte, formats.Skips, error)
	// Check makes the format's own checks of the root before Begin, given
	// the meta the run would merge into it (nil: none).
	Check func(ctx context.Context, merged *sv.ProjectMeta) error
	// Begun is told the merged meta once Begin has written it (nil: nothing).
	Begun func(ctx context.Context, meta *sv.ProjectMeta) error
	// SplitUsed runs before this sink writes the first image of a split
	// (data.yaml's split keys, the journal's list of splits); nil: nothing.
	SplitUsed func(ctx context.Context, split string) error
	// Finish runs at Close after a Begin (nil: nothing).
	Finish func(ctx context.Context) error
	// Reserved are names no split, dataset or video may take.
	Reserved []string
}

// Layout is the tree of one format over a store; it is a core.Sink.
type Layout struct {
	st     store.Store
	opt    Options
	f      Format
	writer core.Writer
	begun  bool

	splitMu sync.Mutex // held while a split is announced (Format.SplitUsed)
	used    map[string]bool
	skipMu  sync.Mutex
	skips   formats.Skips
}

// New lays a format's tree out in st.
func New(st store.Store, o Options, f Format) *Layout {
	return &Layout{st: st, opt: o, f: f, used: map[string]bool{}, skips: formats.Skips{}}
}

// Store is the store the layout writes.
func (l *Layout) Store() store.Store { return l.st }

// Describe names the sink: its store and format.
func (l *Layout) Describe() string { return fmt.Sprintf("%s (%s)", l.st.Describe(), l.f.Name) }

// SetWriter says who this run is; call it before Begin.
func (l *Layout) SetWriter(w core.Writer) { l.writer = w }

// Features: one image at a time, writers are admitted (as the project
// layout's), and the labels left out are counted for the run's summary.
func (l *Layout) Features() core.SinkFeatures {
	return core.SinkFeatures{Admit: l.SetWriter, LeftOut: l.leftOut}
}

// leftOut is Skipped as the run's summary lists it.
func (l *Layout) leftOut() []core.LeftOut {
	s := l.Skipped()
	var out []core.LeftOut
	for _, k := range s.Sorted() {
		out = append(out, core.LeftOut{Sink: l.Describe(), Class: k.Class, Geometry: k.Geometry, Why: k.Why, Count: s[k]})
	}
	return out
}

// Skipped counts the labels this sink left out, per class and geometry.
func (l *Layout) Skipped() formats.Skips {
	l.skipMu.Lock()
	defer l.skipMu.Unlock()
	out := formats.Skips{}
	out.Merge(l.skips)
	return out
}

func (l *Layout) count(s formats.Skips) {
	if len(s) == 0 {
		return
	}
	l.skipMu.Lock()
	var first []formats.Skip
	for k, n := range s {
		if l.skips[k] == 0 {
			first = append(first, k)
		}
		l.skips[k] += n
	}
	l.skipMu.Unlock()
	if l.opt.OnSkip != nil {
		for _, k := range first {
			l.opt.OnSkip(k.Class, k.Geometry, k.Why)
		}
	}
}

// Split is the split of a destination dataset (source dataset + video).
func (l *Layout) Split(dataset []string) (string, error) {
	if len(dataset) == 0 {
		return "", fmt.Errorf("empty dataset path")
	}
	s := DefaultSplit
	if l.opt.Split != nil {
		s = l.opt.Split(dataset[:len(dataset)-1], dataset[len(dataset)-1])
	}
	if s == "" {
		return "", fmt.Errorf("video %s has no split: the run decides splits from the source's listing before writing", strings.Join(dataset, "/"))
	}
	if err := l.checkName("split", s); err != nil {
		return "", fmt.Errorf("video %q: %w", strings.Join(dataset, "/"), err)
	}
	return s, nil
}

// checkName refuses a name that is not a plain name, or that the format reserves.
func (l *Layout) checkName(what, name string) error {
	if err := project.CheckName(name); err != nil {
		return fmt.Errorf("%s %q: %w", what, name, err)
	}
	if slices.Contains(l.f.Reserved, name) {
		return fmt.Errorf("%s %q: the name is reserved in the %s layout (%s); rename it", what, name, l.f.Name, strings.Join(l.f.Reserved, ", "))
	}
	return nil
}

// DatasetPath checks a dataset path's names and joins them with /.
func (l *Layout) DatasetPath(dataset []string) (string, error) {
	if len(dataset) == 0 {
		return "", fmt.Errorf("empty dataset path")
	}
	for i, n := range dataset {
		if err := l.checkName("dataset", n); err != nil {
			return "", fmt.Errorf("dataset %q: %w", strings.Join(dataset[:i+1], "/"), err)
		}
	}
	return strings.Join(dataset, "/"), nil
}

// ImageDir is the folder of a dataset's images in its split, with a trailing /.
func (l *Layout) ImageDir(split string, dataset []string) (string, error) {
	p, err := l.DatasetPath(dataset)
	if err != nil {
		return "", err
	}
	return "images/" + split + "/" + p + "/", nil
}

// DatasetData is the key of a dataset's custom data: under .vpipe/datasets/,
// nested datasets under <parent>/datasets/ as in the project layout, so no
// name collides with a custom_data.json.
func (l *Layout) DatasetData(dataset []string) (string, error) {
	if _, err := l.DatasetPath(dataset); err != nil {
		return "", err
	}
	return Hidden + "datasets/" + strings.Join(dataset, "/datasets/") + "/" + project.CustomDataFile, nil
}

// keys are an image's key and its companion's.
func (l *Layout) keys(split string, dataset []string, name string) (img, comp string, err error) {
	if err := l.checkName("image", name); err != nil {
		return "", "", err
	}
	dir, err := l.ImageDir(split, dataset)
	if err != nil {
		return "", "", err
	}
	if comp, err = l.f.Companion(split, dataset, name); err != nil {
		return "", "", err
	}
	img = dir + name
	if limit := l.st.Features().MaxKeyLen; limit > 0 && max(len(img), len(comp)) > limit {
		return "", "", fmt.Errorf("image %q: its object keys would be longer than the %d bytes %s takes under its root", name, limit, l.st.Describe())
	}
	return img, comp, nil
}

// Begin merges the source meta into .vpipe/meta.json (classes already there
// keep their places), records the project's custom data, and tells the format.
// It admits the run as a writer first where the store has writer locks, as
// the project layout does.
func (l *Layout) Begin(ctx context.Context, meta *sv.ProjectMeta, custom map[string]any) (out *sv.ProjectMeta, err error) {
	if err := l.Check(ctx, meta); err != nil {
		return nil, err
	}
	if err := l.st.Open(ctx); err != nil {
		return nil, err
	}
	if f := l.st.Features(); f.Admit != nil {
		w := l.writer
		if w.Role == "" {
			w = core.Writer{Role: "run"}
		}
		if err := f.Admit(w); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				f.Release()
			}
		}()
	}
	err = l.st.Update(ctx, MetaKey, func(old []byte, exists bool) ([]byte, error) {
		m, b, err := l.merge(old, exists, meta)
		out = m
		return b, err
	})
	if err != nil {
		return nil, err
	}
	if custom != nil {
		if err := l.putJSON(ctx, ProjectData, custom); err != nil {
			return nil, err
		}
	}
	if l.f.Begun != nil {
		if err := l.f.Begun(ctx, out); err != nil {
			return nil, err
		}
	}
	l.begun = true
	return out, nil
}

// Check makes Begin's checks (the root usable, its meta mergeable with meta,
// the format's own) and writes nothing.
func (l *Layout) Check(ctx context.Context, meta *sv.ProjectMeta) error {
	if err := l.st.Check(ctx); err != nil {
		return err
	}
	b, found, err := l.st.Get(ctx, MetaKey)
	if err != nil {
		return err
	}
	merged, _, err := l.merge(b, found, meta)
	if err != nil {
		return err
	}
	if l.f.Check != nil {
		return l.f.Check(ctx, merged)
	}
	return nil
}

// merge merges meta into the stored one: the result, and what the file must
// become (nil: leave it).
func (l *Layout) merge(old []byte, exists bool, meta *sv.ProjectMeta) (*sv.ProjectMeta, []byte, error) {
	var have *sv.ProjectMeta
	if exists {
		have = &sv.ProjectMeta{}
		if err := json.Unmarshal(old, have); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", l.st.Name(MetaKey), err)
		}
	}
	switch {
	case meta != nil:
		m, err := StableMerge(have, meta)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: cannot merge the source project's meta: %w", l.st.Name(MetaKey), err)
		}
		b, err := json.Marshal(m)
		if err != nil {
			return nil, nil, err
		}
		return m, sv.Indent(b), nil
	case have == nil:
		return &sv.ProjectMeta{}, []byte(project.EmptyMeta), nil
	}
	return have, nil, nil
}

// StableMerge is the output meta of a source meta written into one that is
// already there: sv.OutputMeta's checks and additions (object_id,
// auto-tracked), but the classes and tag metas already there come first, in
// their order, and the new ones after them in the source's order (the SDK's
// merge puts new ones first, which would renumber every class id).
func StableMerge(have, src *sv.ProjectMeta) (*sv.ProjectMeta, error) {
	m, err := sv.OutputMeta(have, src)
	if err != nil || have == nil {
		return m, err
	}
	classes := append([]sv.ObjClass(nil), have.Classes...)
	for _, c := range m.Classes {
		if have.Class(c.Title) == nil {
			classes = append(classes, c)
		}
	}
	tags := append([]sv.TagMeta(nil), have.Tags...)
	for _, t := range m.Tags {
		if have.TagMeta(t.Name) == nil {
			tags = append(tags, t)
		}
	}
	m.Classes, m.Tags = classes, tags
	return m, nil
}

// putJSON writes v to key unless it already holds exactly its bytes.
func (l *Layout) putJSON(ctx context.Context, key string, v any) error {
	nb, err := project.MarshalJSON(v)
	if err != nil {
		return fmt.Errorf("%s: %w", l.st.Name(key), err)
	}
	return l.st.Update(ctx, key, func(old []byte, exists bool) ([]byte, error) {
		if exists && bytes.Equal(old, nb) {
			return nil, nil
		}
		return nb, nil
	})
}

// Dataset records a dataset's custom data, after CheckDataset's checks.
func (l *Layout) Dataset(ctx context.Context, info core.DatasetInfo) error {
	if err := l.CheckDataset(ctx, info); err != nil {
		return err
	}
	key, _ := l.DatasetData(info.Dataset)
	return l.putJSON(ctx, key, info.Custom)
}

// CheckDataset tells, writing nothing, whether a dataset can take this run's
// images: its names fit the layout, and if it holds images, the output
// settings it recorded are this run's.
func (l *Layout) CheckDataset(ctx context.Context, info core.DatasetInfo) error {
	key, err := l.DatasetData(info.Dataset)
	if err != nil {
		return err
	}
	b, found, err := l.st.Get(ctx, key)
	if err != nil || !found {
		return err
	}
	var have map[string]any
	if err := json.Unmarshal(b, &have); err != nil {
		return fmt.Errorf("%s: %w", l.st.Name(key), err)
	}
	if err := project.SameOutput(have[core.OutputKey], info.Custom[core.OutputKey]); err != nil {
		// Only a video's own dataset records output settings: its split
		// says where its images are.
		split, serr := l.Split(info.Dataset)
		if serr != nil {
			return serr
		}
		dir, _ := l.ImageDir(split, info.Dataset)
		if imgs, lerr := l.list(ctx, dir, ""); lerr == nil && len(imgs) == 0 {
			return nil
		}
		return fmt.Errorf("%s: %w; write to another %s, or remove that dataset", l.st.Name(key), err, l.st.Features().Key)
	}
	return nil
}

// list lists the names directly under prefix that end in suffix, without it.
func (l *Layout) list(ctx context.Context, prefix, suffix string) (map[string]bool, error) {
	out := map[string]bool{}
	err := l.st.List(ctx, prefix, func(key string, _ int64) error {
		rest := strings.TrimPrefix(key, prefix)
		if n, ok := strings.CutSuffix(rest, suffix); ok && !strings.Contains(rest, "/") {
			out[n] = true
		}
		return nil
	})
	return out, err
}

// Existing lists the images of a dataset that are complete: the image and its
// companion are both there (an image that lost its label is written again).
func (l *Layout) Existing(ctx context.Context, dataset []string) (map[string]bool, error) {
	split, err := l.Split(dataset)
	if err != nil {
		return nil, err
	}
	dir, err := l.ImageDir(split, dataset)
	if err != nil {
		return nil, err
	}
	imgs, err := l.list(ctx, dir, "")
	if err != nil || len(imgs) == 0 {
		return imgs, err
	}
	comps := map[string]string{} // image name → its companion's key
	for n := range imgs {
		if c, err := l.f.Companion(split, dataset, n); err == nil {
			comps[n] = c
		}
	}
	have := map[string]bool{}
	for _, c := range comps { // one folder holds them all: one listing
		err := l.st.List(ctx, c[:strings.LastIndex(c, "/")+1], func(key string, _ int64) error {
			have[key] = true
			return nil
		})
		if err != nil {
			return nil, err
		}
		break
	}
	for n := range imgs {
		if c, ok := comps[n]; !ok || !have[c] {
			delete(imgs, n) // not complete, or not an image this layout wrote
		}
	}
	return imgs, nil
}

// Put writes an image's companion, then the image. A write that fails takes
// back what this Put wrote before it, so a frame whose Put failed leaves
// nothing (the runner rolls back only the frames whose Put returned nil).
func (l *Layout) Put(ctx context.Context, img *core.Image) error {
	split, err := l.Split(img.Dataset)
	if err != nil {
		return err
	}
	ik, ck, err := l.keys(split, img.Dataset, img.Name)
	if err != nil {
		return err
	}
	ann, err := formats.ParseAnnotation(img.Ann)
	if err != nil {
		return fmt.Errorf("%s: %w", img.Name, err)
	}
	comp, skips, err := l.f.Render(img, split, ann)
	if err != nil {
		return fmt.Errorf("%s: %w", img.Name, err)
	}
	if err := l.announce(ctx, split); err != nil {
		return err
	}
	f := l.st.Features()
	if err := l.st.Put(ctx, ck, comp); err != nil {
		var back []string
		if f.MaybeApplied {
			back = []string{ck} // a write cut off may still have been applied
		}
		return l.undo(context.WithoutCancel(ctx), err, back)
	}
	// Once its companion is there the image is finished even if the run is
	// stopping: an image must never be left without its label.
	bg := context.WithoutCancel(ctx)
	if err := l.st.Put(bg, ik, img.Data); err != nil {
		if f.Holds != nil && f.Holds(bg, ik, img.Data) {
			l.count(skips)
			return nil // applied, its answer lost: the object is whole
		}
		return l.undo(bg, err, []string{ck})
	}
	l.count(skips)
	return nil
}

// announce runs the format's SplitUsed once per split and sink.
func (l *Layout) announce(ctx context.Context, split string) error {
	if l.f.SplitUsed == nil {
		return nil
	}
	l.splitMu.Lock()
	defer l.splitMu.Unlock()
	if l.used[split] {
		return nil
	}
	if err := l.f.SplitUsed(ctx, split); err != nil {
		return err
	}
	l.used[split] = true
	return nil
}

// undo removes the objects a failed Put stored before its error.
func (l *Layout) undo(ctx context.Context, err error, keys []string) error {
	if len(keys) == 0 {
		return err
	}
	if derr := l.st.Delete(ctx, keys...); derr != nil {
		return fmt.Errorf("%w (and removing the label written before failed: %v)", err, derr)
	}
	return err
}

// Delete removes images (all of them first, so none counts as existing with
// its label gone), then their companions, then the dataset's custom data if
// it has no image left and no dataset below it.
func (l *Layout) Delete(ctx context.Context, dataset []string, names []string) error {
	split, err := l.Split(dataset)
	if err != nil {
		return err
	}
	var imgs, comps []string
	for _, n := range names {
		ik, ck, err := l.keys(split, dataset, n)
		if err != nil {
			return err
		}
		imgs, comps = append(imgs, ik), append(comps, ck)
	}
	if err := l.st.Delete(ctx, imgs...); err != nil {
		return err
	}
	if err := l.st.Delete(ctx, comps...); err != nil {
		return err
	}
	return l.dropDatasetData(ctx, split, dataset)
}

// dropDatasetData removes a dataset's custom data once nothing else of the
// dataset is left: no image in its folder, no child dataset's data.
func (l *Layout) dropDatasetData(ctx context.Context, split string, dataset []string) error {
	dir, _ := l.ImageDir(split, dataset)
	if n, err := l.some(ctx, dir); err != nil || n > 0 {
		return err
	}
	key, _ := l.DatasetData(dataset)
	folder := strings.TrimSuffix(key, project.CustomDataFile)
	var left []string
	err := l.st.List(ctx, folder, func(k string, _ int64) error {
		if left = append(left, k); len(left) > 1 {
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return err
	}
	if len(left) == 1 && left[0] == key {
		return l.st.Delete(ctx, key)
	}
	return nil
}

// some tells whether anything is under prefix (0 or 1).
func (l *Layout) some(ctx context.Context, prefix string) (int, error) {
	n := 0
	err := l.st.List(ctx, prefix, func(string, int64) error { n++; return errEnough })
	if err != nil && !errors.Is(err, errEnough) {
		return 0, err
	}
	return n, nil
}

var errEnough = errors.New("enough")

// Close runs the format's Finish (after a Begin), then lets go of what the
// store holds (a writer's lock file).
func (l *Layout) Close() error {
	var err error
	if l.begun && l.f.Finish != nil {
		err = l.f.Finish(context.Background())
	}
	return errors.Join(err, l.st.Close())
}

// GetJSON reads a JSON object of the store into v; found is false when it is
// missing.
func (l *Layout) GetJSON(ctx context.Context, key string, v any) (found bool, err error) {
	b, found, err := l.st.Get(ctx, key)
	if err != nil || !found {
		return found, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return true, fmt.Errorf("%s: %w", l.st.Name(key), err)
	}
	return true, nil
}

// Meta reads the stored project meta (empty when there is none yet).
func (l *Layout) Meta(ctx context.Context) (*sv.ProjectMeta, error) {
	m := &sv.ProjectMeta{}
	if _, err := l.GetJSON(ctx, MetaKey, m); err != nil {
		return nil, err
	}
	return m, nil
}
