package stages

import (
	"encoding/json"
	"fmt"

	"github.com/vpipe/vpipe/core"
)

// image builds the output image: name, annotation at the output size, meta.
// An annotation that cannot be made or written fails the video: an image is
// never written with fewer labels than its frame has.
func (r *Runner) image(f *frame, data []byte) (*core.Image, error) {
	j, it := f.job, f.job.item
	w, h := f.rgb.Width, f.rgb.Height
	ann, err := r.annotation(j, f.index, w, h)
	if err != nil {
		return nil, err
	}
	meta := make(map[string]any, len(j.meta)+3)
	for k, v := range j.meta {
		meta[k] = v
	}
	meta["frame_index"] = f.index
	meta["pts"] = f.pts
	meta["time_s"] = f.time
	return &core.Image{
		Item:    it,
		Dataset: it.DestDataset(),
		Name:    r.name(it.Name, f.index, j.count),
		Data:    data,
		Ann:     ann,
		Meta:    meta,
	}, nil
}

// annotation is frame i's image annotation at w×h (empty without a sampler).
func (r *Runner) annotation(j *job, i, w, h int) (json.RawMessage, error) {
	if j.sampler == nil {
		return emptyAnnotation(w, h), nil
	}
	a, skipped, err := j.sampler.Image(i, w, h)
	var b json.RawMessage
	if err == nil {
		b, err = json.Marshal(a)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w (frame %d)", j.item.AnnotationPath, err, i)
	}
	for _, s := range skipped {
		r.Log.Warn("label left out", "video", j.item.ID(), "why", s)
	}
	return b, nil
}

func emptyAnnotation(w, h int) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"description":"","size":{"height":%d,"width":%d},"tags":[],"objects":[],"customBigData":{}}`, h, w))
}
