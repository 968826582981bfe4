package preview

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vpipe/vpipe/store"
	sv "github.com/vpipe/vpipe/supervisely"
)

// img is what the page shows of one image: its row in a data chunk.
type img struct {
	e      *entry
	W, H   int
	Frame  *int
	Time   json.RawMessage // a JSON number, or nil
	PTS    json.RawMessage // a JSON number, or nil
	Video  string          // video_name of its meta
	Labels []label
	Tags   []tag
	// Thumb is its thumbnail's content key ("<bytes>-<crc32>", see
	// thumbPath); "" when it has none (the image did not decode).
	Thumb    string
	Problems []string
}

// reader reads one image at a time: what every worker shares.
type reader struct {
	st     store.Store
	o      *Options
	colour func(class string) string // read-only while workers run
	masks  *masks
}

// readAll reads every image with o.Workers workers and hands each to emit in
// entries' order, as soon as it and those before it are read. At most
// 2×Workers images are in flight (read, waiting for their turn), so memory
// stays bounded whatever the number of images.
func readAll(ctx context.Context, rd *reader, entries []*entry, emit func(*img, *Summary) error, sum *Summary) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type slot struct {
		i    int
		done chan *img // gets the image, or nil when it failed (the cause is ctx's)
	}
	jobs, order := make(chan slot), make(chan slot, 2*rd.o.Workers)
	var made, kept atomic.Int64
	var wg sync.WaitGroup
	for range rd.o.Workers {
		wg.Go(func() {
			for s := range jobs {
				im, thumbMade, err := rd.image(ctx, entries[s.i])
				if err != nil {
					cancel(err)
				} else if thumbMade {
					made.Add(1)
				} else if im.Thumb != "" {
					kept.Add(1)
				}
				s.done <- im
			}
		})
	}
	go func() { // the feeder: a slot goes to a worker, then in line
		defer close(order)
		defer close(jobs)
		for i := range entries {
			s := slot{i, make(chan *img, 1)}
			for _, ch := range []chan slot{jobs, order} {
				select {
				case ch <- s:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	last, done := time.Now(), 0
	for s := range order {
		im := <-s.done
		if im == nil {
			break
		}
		if err := emit(im, sum); err != nil {
			cancel(err)
			break
		}
		if done++; time.Since(last) > 10*time.Second {
			last = time.Now()
			rd.o.Log.Info("preview progress", "images_done", done, "images", len(entries), "thumbs_made", made.Load())
		}
	}
	cancel(nil) // a consumer that stopped early frees the feeder
	wg.Wait()
	for range order { // the feeder's last slots, if any
	}
	if done < len(entries) {
		return context.Cause(ctx) // the first: a worker's, emit's, or the caller's
	}
	sum.ThumbsMade, sum.ThumbsKept = int(made.Load()), int(kept.Load())
	return nil
}

// image reads one image's annotation and meta, and makes its thumbnail if
// it has none. A store's error stops the preview; what is wrong with one
// image (a broken annotation, an image that does not decode) is noted on it.
func (rd *reader) image(ctx context.Context, e *entry) (*img, bool, error) {
	im := &img{e: e}
	problem := func(what string, err error) {
		msg := what + ": " + err.Error()
		im.Problems = append(im.Problems, msg)
		rd.o.Log.Warn("preview: image not shown whole", "image", rd.st.Name(e.imgKey()), "problem", msg)
	}
	if e.HasAnn {
		if err := rd.annotation(ctx, e, im, problem); err != nil {
			return nil, false, err
		}
	}
	if e.HasMeta {
		b, _, err := rd.st.Get(ctx, e.metaKey())
		if err != nil {
			return nil, false, err
		}
		for _, err := range im.setMeta(b) {
			problem(e.metaKey(), err)
		}
	}
	made, err := rd.thumbnail(ctx, e, im, problem)
	return im, made, err
}

// thumbnail finds the image's thumbnail by the image's content key, or makes
// it; it reads the image's size from its header when no annotation gave it.
func (rd *reader) thumbnail(ctx context.Context, e *entry, im *img, problem func(string, error)) (bool, error) {
	key, head, whole, err := contentKey(ctx, rd.st, e.imgKey(), e.Size)
	if err != nil {
		return false, err
	}
	path := filepath.Join(rd.o.Out, filepath.FromSlash(thumbPath(rd.o.ThumbWidth, e, key)))
	if haveThumb(path) {
		if im.W == 0 {
			im.W, im.H = imageSize(head)
		}
		im.Thumb = key
		return false, nil
	}
	if !whole {
		data, found, err := rd.st.Get(ctx, e.imgKey())
		if err != nil || !found {
			return false, errors.Join(err, notFound(found, rd.st.Name(e.imgKey())))
		}
		head = data
	}
	if im.W == 0 {
		im.W, im.H = imageSize(head)
	}
	if err := makeThumb(head, rd.o.ThumbWidth, path); err != nil {
		problem(e.imgKey(), err)
		return false, nil
	}
	im.Thumb = key
	return true, nil
}

func notFound(found bool, name string) error {
	if found {
		return nil
	}
	return fmt.Errorf("%s: gone while the preview was made", name)
}

// annotation reads the annotation: the image's size, labels and tags.
func (rd *reader) annotation(ctx context.Context, e *entry, im *img, problem func(string, error)) error {
	b, _, err := rd.st.Get(ctx, e.annKey())
	if err != nil {
		return err
	}
	var a sv.ImageAnnotation
	if err := json.Unmarshal(b, &a); err != nil {
		problem(e.annKey(), err)
		return nil
	}
	im.W, im.H = a.Width, a.Height
	var errs []error
	im.Labels, errs = labels(&a, rd.colour, rd.masks.put)
	for _, err := range errs {
		problem(e.annKey(), err)
	}
	for _, t := range a.Tags {
		im.Tags = append(im.Tags, tagOf(t))
	}
	return nil
}

// setMeta takes what the page shows from an image meta: frame_index, time_s,
// pts and video_name (stages write them, with the provenance keys). time_s
// and pts are kept only when they are JSON numbers: the page shows them as
// numbers, and anything else in their place is named as a problem.
func (im *img) setMeta(b []byte) []error {
	var m struct {
		Frame *int            `json:"frame_index"`
		Time  json.RawMessage `json:"time_s"`
		PTS   json.RawMessage `json:"pts"`
		Video *string         `json:"video_name"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return []error{err}
	}
	var errs []error
	number := func(key string, raw json.RawMessage) json.RawMessage {
		if len(raw) == 0 || string(raw) == "null" {
			return nil
		}
		if c := raw[0]; c == '-' || c >= '0' && c <= '9' { // valid JSON (Unmarshal said so) starting so is a number
			return raw
		}
		errs = append(errs, fmt.Errorf("%s is not a number: %.60s", key, raw))
		return nil
	}
	im.Frame, im.Time, im.PTS = m.Frame, number("time_s", m.Time), number("pts", m.PTS)
	if m.Video != nil {
		im.Video = *m.Video
	}
	return errs
}

// videoName is the image's video: its meta's video_name, else the name of
// its dataset (vpipe makes one dataset per video, named after it).
func (im *img) videoName() string {
	if im.Video != "" {
		return im.Video
	}
	return im.e.Dataset[len(im.e.Dataset)-1]
}

// datasetName is the dataset the image's video came from ("ds0/night"): its
// dataset path without the video's own dataset.
func (im *img) datasetName() string {
	ds := im.e.Dataset
	if len(ds) > 1 && ds[len(ds)-1] == im.videoName() {
		ds = ds[:len(ds)-1]
	}
	return strings.Join(ds, "/")
}
