// Package core holds what sources, stages and sinks pass between them: the Item
// (one video to sample), the Image (one encoded frame with its annotation and
// meta), and the Source and Sink interfaces every backend implements.
package core

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/vpipe/vpipe/media/mediaopt"
	sv "github.com/vpipe/vpipe/supervisely"
)

// Item is one video to sample.
type Item struct {
	// Name is the video's file name, extension included ("clip.mp4").
	Name string
	// Dataset is the source dataset path, outermost first (["ds0", "child"]).
	Dataset []string
	// Open is what media.Open gets: a file path or URL.
	Open string
	// OpenOptions carry headers and timeouts for URLs.
	OpenOptions mediaopt.OpenOptions
	// AnnotationPath names the video's annotation in errors ("" = none).
	AnnotationPath string
	// LoadAnnotation reads the video annotation; nil for unannotated sources.
	LoadAnnotation func(ctx context.Context) (*sv.VideoAnnotation, error)
	// Provenance are the seed's custom-data keys for this video (§9):
	// video_id, video_name, video_dataset_id, video_dataset_name, ...
	Provenance map[string]any
	// Fetch, when set, makes the video readable (a stream from a server, or a
	// download to a temporary file) and says what to open instead of Open.
	Fetch func(ctx context.Context) (*Input, error)
	// Ancestors are the custom data of the datasets above the video's own
	// source dataset (Dataset[:1], Dataset[:2], ...), for sinks that mirror them.
	Ancestors []DatasetInfo
}

// Input is a fetched video: what media.Open gets, and how to let it go.
type Input struct {
	Open    string
	Options mediaopt.OpenOptions
	// Size is the file's length in bytes (0 = unknown).
	Size int64
	// Fetched reports the bytes received over the network so far; nil for files.
	Fetched func() int64
	// Release undoes the fetch (closes the stream, removes a temporary file).
	// It is called once, on every path.
	Release func()
}

// ID names the item in logs and errors: dataset path and video name.
func (it *Item) ID() string {
	return strings.Join(append(append([]string{}, it.Dataset...), it.Name), "/")
}

// DestDataset is where the item's images go: its dataset path, then a child
// dataset named after the video (as the Python seed does).
func (it *Item) DestDataset() []string {
	return append(append([]string{}, it.Dataset...), it.Name)
}

// Image is one output image.
type Image struct {
	Item    *Item
	Dataset []string // destination dataset path
	Name    string   // file name, e.g. clip.mp4_frame_007.png
	Data    []byte   // encoded image
	// Ann is the image annotation JSON (Supervisely §6.1).
	Ann json.RawMessage
	// Meta is the image meta (what images.bulk.add gets as "meta"). It is
	// required in an image given to Sink.Put: a sink's Existing counts an
	// image as there only with its meta, so one put without it would be
	// written again by every run. The runner always sets it (stages'
	// Runner.image: the video's meta, frame_index, pts, time_s); only the
	// Registered images a batching sink annotates, never put, go without.
	Meta map[string]any
}

// Project is what a source knows of the project its videos belong to.
type Project struct {
	// Meta is the project meta; nil for a plain folder of videos.
	Meta *sv.ProjectMeta
	// Keys maps local keys to server ids (key_id_map.json); may be nil.
	Keys *sv.KeyIdMap
	// Provenance are the project's custom-data keys (video_project_id/name).
	Provenance map[string]any
}

// ErrNoAnnotation is wrapped by LoadAnnotation's error when a project video has
// no annotation file: the platform takes such a video as unlabelled, and so
// the run samples it with empty annotations (and warns), instead of failing it.
var ErrNoAnnotation = errors.New("no annotation file: the video is sampled unlabelled (empty annotations, no tags)")

// OutputKey names, in a video dataset's custom data, the settings its images
// were made with (size, filter, autorotate, copy_annotations). A sink refuses a
// run whose settings differ, rather than mix images of two kinds under one name.
const OutputKey = "vpipe_output"

// DatasetInfo is the custom data a destination dataset gets (its provenance).
type DatasetInfo struct {
	Dataset []string // destination dataset path
	Custom  map[string]any
	// Video is the video whose images the dataset is to hold: the dataset is
	// its own (DestDataset) or one above it. A sink that splits videos
	// (SinkFeatures.Plan) puts the dataset in that video's split. nil: the
	// dataset is a video's own, named by Dataset.
	Video *Item
}

// Source enumerates videos.
type Source interface {
	// Project describes the source project.
	Project(ctx context.Context) (*Project, error)
	// Items calls emit for every video, in a stable order.
	Items(ctx context.Context, emit func(*Item) error) error
	// Describe names the source for logs.
	Describe() string
}

// Sink stores images. Implementations must be safe for concurrent Put calls and
// must never show a partially written image.
type Sink interface {
	// Begin prepares the destination before any image is written: it merges meta
	// (nil for unannotated input) into the destination's meta and fails on a
	// conflict, and records the project's custom data.
	Begin(ctx context.Context, meta *sv.ProjectMeta, custom map[string]any) (*sv.ProjectMeta, error)
	// Check makes Begin's checks and writes nothing (what plan runs).
	Check(ctx context.Context, meta *sv.ProjectMeta) error
	// CheckDataset tells, writing nothing, whether a destination dataset can take
	// images made with the output settings in info.Custom[OutputKey] (its name
	// fits the sink; the settings its images were made with are the same).
	CheckDataset(ctx context.Context, info DatasetInfo) error
	// Dataset records a destination dataset's custom data (provenance and output
	// settings), after CheckDataset's checks.
	Dataset(ctx context.Context, info DatasetInfo) error
	// Existing lists the image names already stored in a dataset, so a re-run
	// skips them without decoding.
	Existing(ctx context.Context, dataset []string) (map[string]bool, error)
	// Put stores one image with its annotation and meta, atomically. It must not
	// keep img.Data after it returns (the buffer is reused); a batching sink copies.
	Put(ctx context.Context, img *Image) error
	// Delete removes images this run wrote for a video that then failed, so a
	// failed video leaves no partial dataset. Missing names are not an error.
	Delete(ctx context.Context, dataset []string, names []string) error
	// Close flushes and releases the sink.
	Close() error
	// Describe names the sink for logs.
	Describe() string
	// Features are what the sink can do beyond this interface.
	Features() SinkFeatures
}

// Batch is images of one video, for one destination dataset, stored together.
type Batch struct {
	Dataset []string
	Images  []*Image
}

// Registered is an image a batching sink (SinkFeatures.Batch) stored, with the id its annotation goes to.
type Registered struct {
	Image *Image
	ID    int64
}

// Writer says who a run is to the sinks it writes. An unsharded run writes a
// sink alone; shards (--shard I/N) and queue workers write one sink together
// by design (Shared).
type Writer struct {
	Role   string // "run", "shard 1/4", "worker"
	Shared bool
}

// SinkFeatures are what a sink can do beyond the Sink interface, as data
// (store.Features are a store's; rclone's fs.Features): the runner and the
// commands read them and never assert a sink's type, so a sink that wraps
// others (a fan-out, a test's wrapper) offers what it can run on its members
// rather than hiding it. A nil field is an ability the sink does not have.
type SinkFeatures struct {
	// Batch is set when the sink stores images in batches, through the
	// pipeline's batch → upload → annotate stages (the Supervisely platform:
	// bytes, then registration, then annotations); nil for a sink that
	// writes one image at a time with Put.
	Batch *BatchOps
	// Admit tells the sink who this run is before Begin, for a sink that
	// admits writers (the local sink's lock file): Begin then refuses a run
	// that another live writer excludes.
	Admit func(Writer)
	// Members are the sinks a fan-out writes, in the order of sinks: [...]
	// (plan shows what each one has); nil for a single sink.
	Members []Sink
	// Plan is set when the sink splits videos (sink.split): it decides the
	// split of every video of items, the source's whole listing, before any
	// is written (every process of a sharded or queued run lists the whole
	// source, and the answer depends on the listing and what the sink kept,
	// so they all decide alike), keeps it in the sink unless dry (vpipe plan
	// writes nothing), and returns each video's split by Item.ID. Videos
	// must be planned before the sink is given their images.
	Plan func(ctx context.Context, items []*Item, dry bool) (map[string]string, error)
	// LeftOut counts the labels the sink left out so far in this process
	// because its format cannot carry them (a point in COCO), for the run's
	// summary; nil for a sink that carries every label.
	LeftOut func() []LeftOut
}

// LeftOut is a count of labels of one class and geometry that a sink left
// out because its format cannot carry them.
type LeftOut struct {
	Sink     string // the sink's Describe
	Class    string
	Geometry string
	Why      string // why a label of a geometry the format carries was left out; "": the format cannot carry it
	Count    int
}

// BatchOps are a batching sink's calls (SinkFeatures.Batch). Put still works
// on such a sink, one image at a time.
type BatchOps struct {
	// Upload stores the bytes of a batch and registers its images; it returns
	// them in order with their ids. It may keep nothing after it returns.
	Upload func(ctx context.Context, b *Batch) ([]Registered, error)
	// Annotate attaches the annotations (Image.Ann) of registered images of
	// one dataset. With all false, annotations with no labels and no tags are
	// not sent: a new image already has that empty annotation. It returns how
	// many it sent (on an error, those that arrived before it).
	Annotate func(ctx context.Context, dataset []string, imgs []Registered, all bool) (sent int, err error)
	// Reannotate lists images already in a dataset whose annotation must be
	// sent again (name → id): those an interrupted run registered but did not
	// annotate, or all of them when the sink is told to overwrite (then all
	// is true). It is asked once per video, after Existing.
	Reannotate func(ctx context.Context, dataset []string) (ids map[string]int64, all bool, err error)
	// ImageSize is the size the sink holds for an image the last Reannotate
	// of its dataset listed (nil, or ok false: unknown). Without a resize each
	// image has its frame's decoded size, which the runner cannot know
	// without decoding.
	ImageSize func(dataset []string, name string) (w, h int, ok bool)
}
