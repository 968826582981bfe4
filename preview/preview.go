// Package preview makes a static site of an image project vpipe wrote (the
// Supervisely layout, layouts/project), read through a store.Store: one
// index.html that opens from file:// with no server and no network, its data
// as scripts (data/index.js with the classes, tags, videos and counts, and
// data/page-NNN.js chunks of image rows the page loads as it needs them), a
// JPEG thumbnail per image and a PNG per distinct bitmap mask. The page draws
// every label over its thumbnail as SVG in its class's colour, a strip per
// video in frame order, filters and counts (see docs/preview.md).
//
// The site is rebuilt from the store on every call, but thumbnails are made
// once: one that is already there for the same image bytes (its size and a
// CRC-32 of its ends) is kept, so a preview stopped half-way, or run again
// after more frames were written, decodes only the images it has not seen.
// Memory does not grow with the images' labels: they are read a few at a
// time, in order, and each image's row is written to its chunk as it comes;
// what stays is the listing and counters.
package preview

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime"

	"github.com/vpipe/vpipe/store"
	sv "github.com/vpipe/vpipe/supervisely"
)

// Options say where the site goes and how it is made.
type Options struct {
	// Out is the site's folder (made if missing).
	Out string
	// ImageBase is the URL of the project's root as seen from Out ("../out/"),
	// by which the page opens an image at full size; "" when the images cannot
	// be reached from the site's folder (a store's dataset: the full view then
	// shows the thumbnail and says to serve the site, unless a server gives a
	// base: see Handler).
	ImageBase string
	// Title names the project on the page.
	Title string
	// ThumbWidth is the thumbnails' width in pixels (default 256).
	ThumbWidth int
	// Workers read and thumbnail images at once (default GOMAXPROCS).
	Workers int
	// PageSize is how many cards a page of the grid shows (default 200).
	PageSize int
	// ChunkSize is how many images a data chunk holds (default 2,000).
	ChunkSize int
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
	// Index is the page to open; DataBytes the size of its data (the index
	// and every chunk), in Chunks chunks.
	Index     string
	DataBytes int64
	Chunks    int
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
	if o.ChunkSize <= 0 {
		o.ChunkSize = 2000
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
	cls := newClasses(meta, o.Log)
	rd := &reader{st: st, o: &o, colour: cls.colours(), masks: newMasks(o.Out)}
	dw, err := newDataWriter(&o, cls, meta)
	if err != nil {
		return nil, err
	}
	sum := &Summary{Images: len(entries)}
	if err := readAll(ctx, rd, entries, dw.add, sum); err != nil {
		dw.abort()
		return nil, err
	}
	if err := dw.finish(sum); err != nil {
		return nil, err
	}
	if err := rd.masks.prune(); err != nil {
		o.Log.Warn("preview: masks of an earlier build not removed", "err", err)
	}
	if err := writeSite(&o, sum); err != nil {
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
