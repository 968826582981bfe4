// Package project is the Supervisely image project layout (reference §8.3),
// written once against store.Store: meta.json, then per dataset img/, ann/
// and meta/ folders, nested datasets under <parent>/datasets/<child>. The
// layout has no place for project or dataset custom data, so vpipe writes
// what the server would hold as customData (the provenance keys of §9) to
// custom_data.json in the project folder and in each dataset folder;
// Supervisely's readers ignore files there. Every object is put atomically by
// the store, and a frame's image goes last, so an image that exists always has
// its annotation and meta. The sinks of `type: local` and `type: s3` are this
// layout on the local and S3 stores.
//
// With splits (Options.Split, sink.split) each video goes under a top-level
// dataset named after its split: <split>/datasets/<dataset>/.../datasets/<video>.
// Without, the tree is the one above, byte for byte.
package project

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/store"
	sv "github.com/vpipe/vpipe/supervisely"
)

// Sink writes the layout to a store.
type Sink struct {
	st     store.Store
	opt    Options
	writer core.Writer // who this run is (SetWriter, Features().Admit)
}

// Options are the layout's settings.
type Options struct {
	// Split names the split of a video from its source dataset path and its
	// name: the top-level dataset its dataset goes under. nil: no splits.
	Split func(dataset []string, video string) string
}

// New lays a project out in st.
func New(st store.Store) *Sink { return &Sink{st: st} }

// NewWith lays a project out in st with options.
func NewWith(st store.Store, o Options) *Sink { return &Sink{st: st, opt: o} }

// dir is the key of a destination dataset: under its video's split when the
// layout has splits. video is the video the dataset holds or is above; nil:
// the dataset is a video's own (source dataset path + video name).
func (s *Sink) dir(dataset []string, video *core.Item) (string, error) {
	if s.opt.Split == nil {
		return DatasetKey(dataset)
	}
	if video == nil {
		if len(dataset) == 0 {
			return "", fmt.Errorf("empty dataset path")
		}
		video = &core.Item{Dataset: dataset[:len(dataset)-1], Name: dataset[len(dataset)-1]}
	}
	split := s.opt.Split(video.Dataset, video.Name)
	if split == "" {
		return "", fmt.Errorf("video %s has no split: the run decides splits from the source's listing before writing", video.ID())
	}
	return DatasetKey(append([]string{split}, dataset...))
}

// Describe names the sink.
func (s *Sink) Describe() string { return s.st.Describe() }

// SetWriter says who this run is; call it before Begin.
func (s *Sink) SetWriter(w core.Writer) { s.writer = w }

// Features: the layout writes one image at a time, and admits writers (the
// store decides, in Begin, whether it has writer locks).
func (s *Sink) Features() core.SinkFeatures { return core.SinkFeatures{Admit: s.SetWriter} }

func (s *Sink) writerOrRun() core.Writer {
	if s.writer.Role == "" {
		return core.Writer{Role: "run"}
	}
	return s.writer
}

// Begin writes meta.json: the source meta merged into the one already there.
// A conflict is an error, found before anything is written (the root is not
// even created). Unannotated input (meta nil) leaves an existing meta.json as
// it is. Before anything is written, the run is admitted as a writer where the
// store has writer locks (a sink that another live run writes is refused
// unless both are shards or queue workers). The merge is the store's Update,
// so shards starting at once never lose each other's classes.
func (s *Sink) Begin(ctx context.Context, meta *sv.ProjectMeta, custom map[string]any) (out *sv.ProjectMeta, err error) {
	if err := s.Check(ctx, meta); err != nil {
		return nil, err
	}
	if err := s.st.Open(ctx); err != nil {
		return nil, err
	}
	if f := s.st.Features(); f.Admit != nil {
		if err := f.Admit(s.writerOrRun()); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				f.Release()
			}
		}()
	}
	err = s.st.Update(ctx, "meta.json", func(old []byte, exists bool) ([]byte, error) {
		m, b, err := s.merge(old, exists, meta)
		out = m
		return b, err
	})
	if err != nil {
		return nil, err
	}
	if custom != nil {
		if err := s.putJSON(ctx, CustomDataFile, custom); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Check makes Begin's checks (the root usable, its meta.json readable and
// mergeable with meta) and writes nothing.
func (s *Sink) Check(ctx context.Context, meta *sv.ProjectMeta) error {
	if err := s.st.Check(ctx); err != nil {
		return err
	}
	b, found, err := s.st.Get(ctx, "meta.json")
	if err != nil {
		return err
	}
	_, _, err = s.merge(b, found, meta)
	return err
}

// merge merges meta into the meta.json read: the result, and what meta.json
// must become (nil = leave it).
func (s *Sink) merge(old []byte, exists bool, meta *sv.ProjectMeta) (*sv.ProjectMeta, []byte, error) {
	var have *sv.ProjectMeta
	if exists {
		have = &sv.ProjectMeta{}
		if err := json.Unmarshal(old, have); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", s.st.Name("meta.json"), err)
		}
	}
	switch {
	case meta != nil:
		m, err := sv.OutputMeta(have, meta)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: cannot merge the source project's meta: %w", s.st.Name("meta.json"), err)
		}
		b, err := json.Marshal(m)
		if err != nil {
			return nil, nil, err
		}
		return m, sv.Indent(b), nil
	case have == nil:
		return &sv.ProjectMeta{}, []byte(EmptyMeta), nil
	}
	return have, nil, nil
}

// putJSON writes v to key unless it already holds exactly its bytes.
func (s *Sink) putJSON(ctx context.Context, key string, v any) error {
	nb, err := MarshalJSON(v)
	if err != nil {
		return fmt.Errorf("%s: %w", s.st.Name(key), err)
	}
	return s.st.Update(ctx, key, func(old []byte, exists bool) ([]byte, error) {
		if exists && bytes.Equal(old, nb) {
			return nil, nil
		}
		return nb, nil
	})
}

// Dataset writes a dataset's custom data to <dataset>/custom_data.json, after
// CheckDataset's checks.
func (s *Sink) Dataset(ctx context.Context, info core.DatasetInfo) error {
	if err := s.CheckDataset(ctx, info); err != nil {
		return err
	}
	dir, _ := s.dir(info.Dataset, info.Video)
	return s.putJSON(ctx, dir+"/"+CustomDataFile, info.Custom)
}

// CheckDataset tells, writing nothing, whether a dataset can take this run's
// images: its name fits the layout, and if it holds images, the output settings
// it recorded are this run's. Settings recorded for a dataset without images
// bind nothing: there is nothing to mix with.
func (s *Sink) CheckDataset(ctx context.Context, info core.DatasetInfo) error {
	dir, err := s.dir(info.Dataset, info.Video)
	if err != nil {
		return err
	}
	key := dir + "/" + CustomDataFile
	b, found, err := s.st.Get(ctx, key)
	if err != nil || !found {
		return err
	}
	var have map[string]any
	if err := json.Unmarshal(b, &have); err != nil {
		return fmt.Errorf("%s: %w", s.st.Name(key), err)
	}
	if err := sameOutput(have[core.OutputKey], info.Custom[core.OutputKey]); err != nil {
		if imgs, lerr := s.list(ctx, dir+"/img/", ""); lerr == nil && len(imgs) == 0 {
			return nil
		}
		return fmt.Errorf("%s: %w; write to another %s, or remove that dataset", s.st.Name(key), err, s.st.Features().Key)
	}
	return nil
}

// keys are the objects of one image: meta, annotation, image (written in that order).
func (s *Sink) keys(dataset []string, name string) (img, ann, meta string, err error) {
	if err := CheckName(name); err != nil {
		return "", "", "", fmt.Errorf("image %q: %w", name, err)
	}
	dir, err := s.dir(dataset, nil)
	if err != nil {
		return "", "", "", err
	}
	img, ann, meta = dir+"/img/"+name, dir+"/ann/"+name+".json", dir+"/meta/"+name+".json"
	if max := s.st.Features().MaxKeyLen; max > 0 && len(meta) > max {
		return "", "", "", fmt.Errorf("image %q: its object keys would be longer than the %d bytes %s takes under its root", name, max, s.st.Describe())
	}
	return img, ann, meta, nil
}

// Existing lists the images already complete in a dataset: those whose image,
// annotation and meta are all there (an image that lost its annotation or
// meta is missing, so a re-run writes it again). It changes nothing.
func (s *Sink) Existing(ctx context.Context, dataset []string) (map[string]bool, error) {
	dir, err := s.dir(dataset, nil)
	if err != nil {
		return nil, err
	}
	imgs, err := s.list(ctx, dir+"/img/", "")
	if err != nil || len(imgs) == 0 {
		return imgs, err
	}
	for _, sub := range []string{"ann", "meta"} {
		have, err := s.list(ctx, dir+"/"+sub+"/", ".json")
		if err != nil {
			return nil, err
		}
		for n := range imgs {
			if !have[n] {
				delete(imgs, n)
			}
		}
	}
	return imgs, nil
}

// list lists the names directly under prefix that end in suffix, without it.
func (s *Sink) list(ctx context.Context, prefix, suffix string) (map[string]bool, error) {
	out := map[string]bool{}
	err := s.st.List(ctx, prefix, func(key string, _ int64) error {
		rest := strings.TrimPrefix(key, prefix)
		if n, ok := strings.CutSuffix(rest, suffix); ok && !strings.Contains(rest, "/") {
			out[n] = true
		}
		return nil
	})
	return out, err
}

// Put writes meta, annotation, then the image. A write that fails (a full
// disk, a refused PUT) takes back the objects this Put wrote before it, so a
// frame whose Put failed leaves nothing: the runner rolls back only the
// frames whose Put returned nil.
func (s *Sink) Put(ctx context.Context, img *core.Image) error {
	ik, ak, mk, err := s.keys(img.Dataset, img.Name)
	if err != nil {
		return err
	}
	var keys []string
	var datas [][]byte
	if img.Meta != nil {
		b, err := MarshalJSON(img.Meta)
		if err != nil {
			return fmt.Errorf("%s: meta: %w", img.Name, err)
		}
		keys, datas = append(keys, mk), append(datas, b)
	}
	keys, datas = append(keys, ak), append(datas, sv.Indent(img.Ann))
	f := s.st.Features()
	for i, k := range keys {
		if err := s.st.Put(ctx, k, datas[i]); err != nil {
			if f.MaybeApplied {
				i++ // a write cut off may still have been applied: take it back too
			}
			return s.undo(context.WithoutCancel(ctx), err, keys[:i])
		}
	}
	// Once its annotation and meta are there, the image is finished even if the
	// run is stopping: a write cut off by cancellation may still have been
	// applied, and an image must never be left without them.
	bg := context.WithoutCancel(ctx)
	if err := s.st.Put(bg, ik, img.Data); err != nil {
		if f.Holds != nil && f.Holds(bg, ik, img.Data) {
			return nil // applied, its answer lost: the object is whole (a Put is atomic)
		}
		return s.undo(bg, err, keys)
	}
	return nil
}

// undo removes the objects a failed Put stored before its error.
func (s *Sink) undo(ctx context.Context, err error, keys []string) error {
	if derr := s.st.Delete(ctx, keys...); derr != nil {
		return fmt.Errorf("%w (and removing the annotation and meta written before failed: %v)", err, derr)
	}
	return err
}

// Delete removes images (all the images first, so none counts as existing
// with its annotation gone), then their annotations and metas, then the
// dataset's custom data if nothing else is left in it.
func (s *Sink) Delete(ctx context.Context, dataset []string, names []string) error {
	dir, err := s.dir(dataset, nil)
	if err != nil {
		return err
	}
	var imgs, rest []string
	for _, n := range names {
		ik, ak, mk, err := s.keys(dataset, n)
		if err != nil {
			return err
		}
		imgs = append(imgs, ik)
		rest = append(rest, ak, mk)
	}
	if err := s.st.Delete(ctx, imgs...); err != nil {
		return err
	}
	if err := s.st.Delete(ctx, rest...); err != nil {
		return err
	}
	var left []string
	err = s.st.List(ctx, dir+"/", func(key string, _ int64) error {
		if left = append(left, key); len(left) > 1 {
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return err
	}
	if len(left) == 1 && left[0] == dir+"/"+CustomDataFile {
		return s.st.Delete(ctx, left...)
	}
	return nil
}

var errEnough = errors.New("enough")

// Close lets go of what the store holds (a writer's lock file); every Put is
// stored when it returns.
func (s *Sink) Close() error { return s.st.Close() }
