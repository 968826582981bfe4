package verify

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/layouts/project"
	"github.com/vpipe/vpipe/media"
	"github.com/vpipe/vpipe/stages"
	"github.com/vpipe/vpipe/store"
	sv "github.com/vpipe/vpipe/supervisely"
)

// errSettings fails a video whose dataset recorded other output settings than
// the config's: its images would all differ for that one reason, said once.
var errSettings = errors.New("output settings differ")

// sink is the core.Sink of a verification: it writes nothing, and compares
// every image the run puts with the dataset's. Safe for concurrent Puts.
type sink struct {
	st      store.Store
	stored  *stored
	checked map[string]bool // the image keys to compare (all, or the sample)
	lossy   lossyCheck      // how lossy images compare (format "" for lossless)

	mu        sync.Mutex
	results   map[string][]Mismatch // by image key, every image put (nil: it matched)
	datasets  map[string]bool       // dataset keys the run made images for
	settings  []Mismatch
	projMeta  []Mismatch
	lossyN    int
	lowest    float64
	rederived int
}

func newSink(st store.Store, s *stored, checked map[string]bool, o media.EncodeOptions, crossBuild bool) *sink {
	k := &sink{st: st, stored: s, checked: checked, results: map[string][]Mismatch{},
		datasets: map[string]bool{}, lowest: math.Inf(1), lossy: lossyCheck{crossBuild: crossBuild}}
	if o.Format == media.FormatJPEG || o.Format == media.FormatWebP && !o.Lossless {
		k.lossy.format = o.Format
	}
	return k
}

func (k *sink) Describe() string { return "verify " + k.st.Describe() }

// Features: none; a verifying sink takes images one at a time and writes
// nothing, so it admits no writers.
func (k *sink) Features() core.SinkFeatures { return core.SinkFeatures{} }

// Begin checks that the dataset's meta.json holds what the run would merge
// into it (the source's classes and tags, vpipe's own tags); it returns the
// meta the run would write.
func (k *sink) Begin(_ context.Context, meta *sv.ProjectMeta, _ map[string]any) (*sv.ProjectMeta, error) {
	have := &sv.ProjectMeta{}
	if err := jsonStrict(k.stored.meta, have); err != nil {
		k.projMeta = append(k.projMeta, Mismatch{Image: "meta.json", Reason: "project_meta", Detail: err.Error()})
		return have, nil
	}
	if meta == nil { // unannotated source: the run leaves meta.json as it is
		return have, nil
	}
	out, err := sv.OutputMeta(have, meta)
	if err != nil {
		k.projMeta = append(k.projMeta, Mismatch{Image: "meta.json", Reason: "project_meta", Detail: err.Error()})
		return have, nil
	}
	for _, d := range jsonDiffs(have, out, "source") {
		k.projMeta = append(k.projMeta, Mismatch{Image: "meta.json", Reason: "project_meta", Detail: d})
	}
	return out, nil
}

// Check is Begin's check; plan and validate call it, a verification never.
func (k *sink) Check(ctx context.Context, meta *sv.ProjectMeta) error {
	_, err := k.Begin(ctx, meta, nil)
	return err
}

// CheckDataset fails a video whose dataset recorded other output settings
// than the run's (and names it once): the config is not the one that made
// these images.
func (k *sink) CheckDataset(_ context.Context, info core.DatasetInfo) error {
	ds, err := project.DatasetKey(info.Dataset)
	if err != nil {
		return err
	}
	have, ok := k.stored.custom[ds][core.OutputKey]
	if !ok {
		return nil
	}
	want := info.Custom[core.OutputKey]
	d := jsonDiffs(core.OutputWithDefaults(have), core.OutputWithDefaults(want), "config")
	if len(d) == 0 {
		return nil
	}
	k.mu.Lock()
	k.settings = append(k.settings, Mismatch{Image: ds + "/" + project.CustomDataFile, Reason: "settings",
		Detail: fmt.Sprintf("its images were made with other output settings than the config's (%s): verify with the config that wrote them", strings.Join(d, "; "))})
	k.mu.Unlock()
	return fmt.Errorf("%s: %w", ds, errSettings)
}

// Dataset records nothing: a verification writes nothing.
func (k *sink) Dataset(context.Context, core.DatasetInfo) error { return nil }

// Existing tells the runner the dataset has every image not to be checked,
// so it re-derives only the checked ones (and those the dataset lacks).
func (k *sink) Existing(_ context.Context, dataset []string) (map[string]bool, error) {
	ds, err := project.DatasetKey(dataset)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	k.datasets[ds] = true
	k.mu.Unlock()
	out := map[string]bool{}
	for name := range k.stored.images[ds] {
		if !k.checked[ds+"/img/"+name] {
			out[name] = true
		}
	}
	return out, nil
}

// Delete forgets images the run took back (a salvage's frames found
// unnumberable after they were made, a failed video's).
func (k *sink) Delete(_ context.Context, dataset []string, names []string) error {
	ds, err := project.DatasetKey(dataset)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, n := range names {
		delete(k.results, ds+"/img/"+n)
	}
	return nil
}

func (k *sink) Close() error { return nil }

// imageOf is an image's key under the dataset root, and its dataset's key.
func imageOf(img *core.Image) (key, ds string, err error) {
	ds, err = project.DatasetKey(img.Dataset)
	if err != nil {
		return "", "", err
	}
	if err := project.CheckName(img.Name); err != nil {
		return "", "", fmt.Errorf("image %q: %w", img.Name, err)
	}
	return ds + "/img/" + img.Name, ds, nil
}

// frameIndex is the frame an image was made from (its meta's frame_index).
func frameIndex(img *core.Image) int {
	if i, ok := img.Meta["frame_index"].(int); ok {
		return i
	}
	return -1
}

// tally is how many images were re-derived, and the lossy images' count and
// lowest PSNR short of exact (0 when every one was exact).
func (k *sink) tally() (rederived, lossy int, lowest float64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	lowest = k.lowest
	if math.IsInf(lowest, 1) {
		lowest = 0
	}
	return len(k.results), k.lossyN, lowest
}

// found is every mismatch of the images put, of meta.json and of the
// datasets' settings.
func (k *sink) found() []Mismatch {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := append(append([]Mismatch(nil), k.projMeta...), k.settings...)
	for _, ms := range k.results {
		out = append(out, ms...)
	}
	return out
}

// unmade names the checked images the run did not make: extra (the
// selection does not want them, or no video goes to their dataset), or lost
// (a damaged video's frame that does not decode cleanly now). Images of a
// video that failed are left out (the failure is named instead); examined
// counts the others.
func (k *sink) unmade(checked map[string]bool, sum stages.Summary) (out []Mismatch, examined int) {
	failed := map[string]bool{}
	for _, f := range sum.Failures {
		if ds, err := project.DatasetKey(strings.Split(f.Video, "/")); err == nil {
			failed[ds] = true
		}
	}
	lost := map[string]map[int]bool{}
	for _, p := range sum.Partial {
		if ds, err := project.DatasetKey(strings.Split(p.Video, "/")); err == nil {
			lost[ds] = map[int]bool{}
			for _, i := range p.Missing {
				lost[ds][i] = true
			}
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, key := range sortedKeys(checked) {
		ds, name, _ := imageKey(key)
		if failed[ds] {
			continue
		}
		examined++
		if _, made := k.results[key]; !made {
			out = append(out, k.whyUnmade(key, ds, name, lost[ds]))
		}
	}
	return out, examined
}

func (k *sink) whyUnmade(key, ds, name string, lost map[int]bool) Mismatch {
	switch i, ok := nameIndex(name); {
	case !k.datasets[ds]:
		return Mismatch{Image: key, Reason: "extra", Detail: fmt.Sprintf("no video of the source goes to dataset %s", ds)}
	case ok && lost[i]:
		return Mismatch{Image: key, Reason: "lost", Detail: fmt.Sprintf("frame %d does not decode cleanly from the video now (damaged: on_damage salvage leaves it out)", i)}
	case ok:
		return Mismatch{Image: key, Reason: "extra", Detail: fmt.Sprintf("the selection does not take frame %d", i)}
	}
	return Mismatch{Image: key, Reason: "extra", Detail: "no frame the selection takes has this name"}
}
