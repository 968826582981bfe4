// Package preview makes a static site of an image project vpipe wrote (the
// Supervisely layout, layouts/project), read through a store.Store: one
// index.html that opens from file:// with no server and no network, a data.js
// that holds every image's labels, tags and provenance, and a JPEG thumbnail
// per image. The page draws every label over its thumbnail as SVG in its
// class's colour, a strip per video in frame order, filters and counts (see
// docs/preview.md).
//
// The site is rebuilt from the store on every call, but thumbnails are made
// once: one that is already there for the same image size is kept, so a
// preview stopped half-way, or run again after more frames were written,
// decodes only the images it has not seen. Images are read one per worker at
// a time, never all at once.
package preview

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vpipe/vpipe/store"
	sv "github.com/vpipe/vpipe/supervisely"
)

// Options say where the site goes and how it is made.
type Options struct {
	// Out is the site's folder (made if missing).
	Out string
	// ImageBase is the URL of the project's root as seen from Out ("../out/"),
	// by which the page opens an image at full size; "" when the images cannot
	// be reached from the site's folder (the full view then shows the
	// thumbnail, unless a server gives a base: see Handler).
	ImageBase string
	// Title names the project on the page.
	Title string
	// ThumbWidth is the thumbnails' width in pixels (default 256).
	ThumbWidth int
	// Workers read and thumbnail images at once (default GOMAXPROCS).
	Workers int
	// PageSize is how many cards a page of the grid shows (default 200).
	PageSize int
	// Log gets progress and per-image problems (nil: nowhere).
	Log *slog.Logger
}

// Summary is what Build found and did.
type Summary struct {
	Images, Videos, Labels, Unlabelled int
	ThumbsMade, ThumbsKept             int
	// Problems counts images with an annotation, meta or image that did not
	// read (each is logged and shown on its card).
	Problems int
	// Index is the page to open; DataBytes the size of data.js.
	Index     string
	DataBytes int64
}

func (o *Options) defaults() {
	if o.ThumbWidth <= 0 {
		o.ThumbWidth = 256
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.PageSize <= 0 {
		o.PageSize = 200
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// Build reads the project in st and writes its site to o.Out.
func Build(ctx context.Context, st store.Store, o Options) (*Summary, error) {
	o.defaults()
	meta, err := readMeta(ctx, st)
	if err != nil {
		return nil, err
	}
	entries, err := list(ctx, st)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%s: no images (an image project has <dataset>/img/<image>)", st.Describe())
	}
	cls := newClasses(meta)
	colours := map[string]string{}
	for _, c := range cls.list {
		colours[c.Title] = c.Color
	}
	colour := func(title string) string { return colours[title] } // read-only while workers run
	sum := &Summary{Images: len(entries)}
	imgs, err := readAll(ctx, st, entries, &o, colour, sum)
	if err != nil {
		return nil, err
	}
	d := assemble(imgs, cls, meta, &o, sum)
	if err := writeSite(&o, d, sum); err != nil {
		return nil, err
	}
	return sum, nil
}

// readMeta reads meta.json, which an image project always has.
func readMeta(ctx context.Context, st store.Store) (*sv.ProjectMeta, error) {
	b, found, err := st.Get(ctx, "meta.json")
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%s: not found: %s is not a Supervisely project", st.Name("meta.json"), st.Describe())
	}
	var m sv.ProjectMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", st.Name("meta.json"), err)
	}
	return &m, nil
}

// readAll reads every image with o.Workers workers, in entries' order.
func readAll(ctx context.Context, st store.Store, entries []*entry, o *Options, colour func(string) string, sum *Summary) ([]*img, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	out := make([]*img, len(entries))
	next := make(chan int)
	var made, kept, done atomic.Int64
	var wg sync.WaitGroup
	for range o.Workers {
		wg.Go(func() {
			for i := range next {
				im, thumbMade, err := readImage(ctx, st, entries[i], o, colour)
				if err != nil {
					cancel(err)
					return
				}
				if thumbMade {
					made.Add(1)
				} else if im.Thumb {
					kept.Add(1)
				}
				out[i] = im
				done.Add(1)
			}
		})
	}
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
feed:
	for i := range entries {
		for {
			select {
			case next <- i:
				continue feed
			case <-ctx.Done():
				break feed
			case <-tick.C:
				o.Log.Info("preview progress", "images_done", done.Load(), "images", len(entries), "thumbs_made", made.Load())
			}
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	sum.ThumbsMade, sum.ThumbsKept = int(made.Load()), int(kept.Load())
	return out, nil
}

// img is what the page shows of one image.
type img struct {
	e        *entry
	W, H     int
	Frame    *int
	Time     json.RawMessage
	PTS      json.RawMessage
	Video    string // video_name of its meta
	Labels   []label
	Tags     []tag
	Thumb    bool // its thumbnail is there
	Problems []string
}

// readImage reads one image's annotation and meta and makes its thumbnail if
// it has none. A store's error stops the preview; what is wrong with one
// image (a broken annotation, an image that does not decode) is noted on it.
func readImage(ctx context.Context, st store.Store, e *entry, o *Options, colour func(string) string) (*img, bool, error) {
	im := &img{e: e}
	problem := func(what string, err error) {
		msg := what + ": " + err.Error()
		im.Problems = append(im.Problems, msg)
		o.Log.Warn("preview: image not shown whole", "image", st.Name(e.imgKey()), "problem", msg)
	}
	if e.HasAnn {
		if err := readAnn(ctx, st, e, im, colour, problem); err != nil {
			return nil, false, err
		}
	}
	if e.HasMeta {
		b, _, err := st.Get(ctx, e.metaKey())
		if err != nil {
			return nil, false, err
		}
		if err := im.setMeta(b); err != nil {
			problem(e.metaKey(), err)
		}
	}
	path := filepath.Join(o.Out, filepath.FromSlash(thumbPath(o.ThumbWidth, e)))
	if im.Thumb = haveThumb(path); im.Thumb && im.W > 0 {
		return im, false, nil
	}
	data, found, err := st.Get(ctx, e.imgKey())
	if err != nil || !found {
		return nil, false, errors.Join(err, notFound(found, st.Name(e.imgKey())))
	}
	if im.W == 0 {
		im.W, im.H = imageSize(data)
	}
	if im.Thumb {
		return im, false, nil
	}
	if err := makeThumb(data, o.ThumbWidth, path); err != nil {
		problem(e.imgKey(), err)
		return im, false, nil
	}
	im.Thumb = true
	return im, true, nil
}

func notFound(found bool, name string) error {
	if found {
		return nil
	}
	return fmt.Errorf("%s: gone while the preview was made", name)
}

// readAnn reads the annotation: the image's size, labels and tags.
func readAnn(ctx context.Context, st store.Store, e *entry, im *img, colour func(string) string, problem func(string, error)) error {
	b, _, err := st.Get(ctx, e.annKey())
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
	im.Labels, errs = labels(&a, colour)
	for _, err := range errs {
		problem(e.annKey(), err)
	}
	for _, t := range a.Tags {
		im.Tags = append(im.Tags, tagOf(t))
	}
	return nil
}

// setMeta takes what the page shows from an image meta: frame_index, time_s,
// pts and video_name (stages write them, with the provenance keys).
func (im *img) setMeta(b []byte) error {
	var m struct {
		Frame *int            `json:"frame_index"`
		Time  json.RawMessage `json:"time_s"`
		PTS   json.RawMessage `json:"pts"`
		Video *string         `json:"video_name"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	im.Frame, im.Time, im.PTS = m.Frame, m.Time, m.PTS
	if m.Video != nil {
		im.Video = *m.Video
	}
	return nil
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

// sortImages orders images by video folder, then frame (images without a
// frame index last, by name).
func sortImages(imgs []*img) {
	slices.SortStableFunc(imgs, func(a, b *img) int {
		if c := strings.Compare(a.e.DirKey, b.e.DirKey); c != 0 {
			return c
		}
		switch {
		case a.Frame != nil && b.Frame != nil:
			return *a.Frame - *b.Frame
		case a.Frame != nil:
			return -1
		case b.Frame != nil:
			return 1
		}
		return strings.Compare(a.e.Name, b.e.Name)
	})
}
