// Package verify proves a dataset vpipe wrote: it runs the normal stages
// (stages.Runner) over the source again, with a sink that compares each image
// it is given (pixels, meta, annotation) with the one the dataset holds
// instead of writing it, then names the images the dataset holds that the run
// did not make. Re-deriving through the same code is the point: the same
// selection, decode, resize, encode and annotation transform that wrote the
// dataset, so a difference is a difference in the dataset (or in the video),
// not in a second implementation of vpipe.
//
// With a sample, only the sampled images are re-derived: the sink tells the
// runner that it has every other image of the dataset (Existing), so the
// stages skip them without decoding and seek to the sampled frames.
package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"

	"github.com/vpipe/vpipe/config"
	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/layouts/project"
	"github.com/vpipe/vpipe/stages"
	"github.com/vpipe/vpipe/store"
)

// LossyFloor is the lowest PSNR, in dB, over the whole frame at which a
// re-derived JPEG or lossy WebP image matches the dataset's when compared
// across encoder builds (Options.CrossBuild). Without it lossy images must
// match exactly: the encoders are deterministic, so the build that wrote a
// dataset re-derives its decoded pixels exactly. Another build of
// libjpeg-turbo or libwebp may round a level here and there (well above
// 50 dB), while a neighbouring frame of the test clips, or a frame re-encoded
// once more, falls below it (see docs/verify.md for the figures).
const LossyFloor = 50.0

// BlockFloor is the lowest PSNR, in dB, of any 8×8 block across builds: the
// frame's PSNR dilutes a local edit (a 10×10 patch changed by 100 levels is
// 51 dB over a 1080p frame), a block's does not. 30 dB is a mean squared
// error of 65 levels² over the block: every sample off by 8 levels, or one
// pixel of the 64 off by 64 in each channel; rounding differences between
// builds (a level or two) stay above 40 dB.
const BlockFloor = 30.0

// Options are what to verify and how.
type Options struct {
	// Config is the pipeline config that wrote the dataset: its source,
	// selection, resize and encode settings (its sink is not used).
	Config *config.Config
	Source core.Source
	// Dataset is the store the dataset is in (the project layout at its root).
	Dataset store.Store
	// Sample, when > 0, checks that many images of the dataset, drawn with
	// Seed; 0 checks every image.
	Sample int
	Seed   uint64
	// CrossBuild compares lossy images (JPEG, lossy WebP) within a tolerance
	// instead of exactly: for a dataset written by another build of
	// libjpeg-turbo or libwebp (see LossyFloor and BlockFloor).
	CrossBuild bool
	// Log gets the run's warnings (nil: none).
	Log *slog.Logger
}

// Mismatch is one thing wrong with the dataset.
type Mismatch struct {
	// Image is the key, under the dataset's root, of the image concerned
	// ("ds0/datasets/clip.mp4/img/clip.mp4_frame_03.png"), or of the file
	// that stands for a whole video or project (custom_data.json, meta.json).
	Image string `json:"image"`
	// Reason is one of missing, extra, lost, pixels, size, unreadable, meta,
	// annotation, settings, video, project_meta.
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

func (m Mismatch) String() string { return m.Image + ": " + m.Reason + ": " + m.Detail }

// Result is what a verification found.
type Result struct {
	Dataset string `json:"dataset"`
	// Images the dataset holds; Checked: those examined (compared with a
	// re-derived image, or found not made by the run: extra), all of them or
	// the sample, but for the images of videos that failed; Rederived: images
	// the run made (the checked ones it wants, and those the dataset lacks).
	Images    int `json:"images"`
	Checked   int `json:"checked"`
	Rederived int `json:"rederived"`
	// Sampled are the keys of the images drawn (with Options.Sample), sorted.
	Sampled []string `json:"sampled,omitempty"`
	Seed    *uint64  `json:"seed,omitempty"`
	// Lossy counts the lossy images compared and the lowest PSNR among those
	// that were not exact (0 when all were).
	Lossy      int     `json:"lossy_images,omitempty"`
	LowestPSNR float64 `json:"lowest_psnr_db,omitempty"`
	// CrossBuild: lossy images were compared within the cross-build floors.
	CrossBuild bool       `json:"cross_build,omitempty"`
	Mismatches []Mismatch `json:"mismatches"`
}

// OK tells whether everything matched.
func (r *Result) OK() bool { return len(r.Mismatches) == 0 }

// Run verifies the dataset. Its error is what stopped the verification (the
// dataset unreadable, the source failing, a cancellation); what it found
// wrong with the dataset is in the result.
func Run(ctx context.Context, o Options) (*Result, error) {
	st, err := readStored(ctx, o.Dataset)
	if err != nil {
		return nil, err
	}
	res := &Result{Dataset: o.Dataset.Describe(), Images: st.count(), CrossBuild: o.CrossBuild}
	checked := st.all()
	if o.Sample > 0 {
		checked = sample(st.keys(), o.Sample, o.Seed)
		res.Sampled = sortedKeys(checked)
		res.Seed = &o.Seed
	}
	sk := newSink(o.Dataset, st, checked, o.Config.Stages.Encode.Options(), o.CrossBuild)
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r := &stages.Runner{Config: o.Config, Source: o.Source, Sink: sk, Reporter: quiet{}, Log: log}
	sum, err := r.Run(ctx)
	if err != nil {
		return nil, err
	}
	unmade, examined := sk.unmade(checked, sum)
	res.Mismatches = append(append(sk.found(), failures(sum)...), unmade...)
	sort.Slice(res.Mismatches, func(i, j int) bool {
		a, b := res.Mismatches[i], res.Mismatches[j]
		return a.Image < b.Image || a.Image == b.Image && a.Reason < b.Reason
	})
	res.Checked = examined
	res.Rederived, res.Lossy, res.LowestPSNR = sk.tally()
	return res, nil
}

// failures names the videos the run could not re-derive, by their dataset
// (a settings mismatch the sink named already).
func failures(sum stages.Summary) []Mismatch {
	var out []Mismatch
	for _, f := range sum.Failures {
		if errors.Is(f.Err, errSettings) {
			continue
		}
		key, err := project.DatasetKey(strings.Split(f.Video, "/"))
		if err != nil {
			key = f.Video
		}
		out = append(out, Mismatch{Image: key, Reason: "video", Detail: fmt.Sprintf("not re-derived: %v", f.Err)})
	}
	return out
}

// quiet is the run's reporter: verify prints what it found, not progress.
type quiet struct{}

func (quiet) VideoStart(string, int, int)       {}
func (quiet) FrameDone(string)                  {}
func (quiet) VideoDone(string, int, int, error) {}
