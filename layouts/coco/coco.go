// Package coco is the COCO layout, written once against store.Store (the tree
// of layouts/internal/splittree):
//
//	images/<split>/<dataset path>/<video>/<image name>
//	annotations/instances_<split>.json                       (formats/coco)
//	.vpipe/journal/<split>/<dataset path>/<video>/<image name>.json
//	.vpipe/coco-splits.json, .vpipe/meta.json, custom data   (vpipe's bookkeeping)
//
// One JSON per split cannot grow image by image, so each image's COCO entry
// (formats/coco.Entry: its image record and objects, categories named by
// class) is journalled as one small object, put before the image: a listed
// image always has its entry, Existing counts an image only with it, and a
// roll-back deletes both. The journal lives on the store, not in memory.
//
// At Close, after a Begin, every split this output has (.vpipe/coco-splits.json,
// merged with Update before a sink's first image of a split) gets its
// instances_<split>.json rebuilt from the whole journal of the split, inside
// the store's Update: the journal is listed and read, its keys sorted, image
// and annotation ids given in that order, categories taken from the stored
// meta, and the bytes written only when they differ. So the file depends on
// the journal alone, never on which writer came last or in what order frames
// were written: a resumed run, --shard N processes and queue workers end with
// the bytes one plain run writes.
//
// Why the file ends complete when several writers close at once: each
// writer's journal entries are stored (its Puts returned) before its Close
// starts its Update, and the listing is made inside the Update, after the
// current file was read. The store's Update is serialised (a lock on the
// local store) or compare-and-swap (S3, Azure: a writer whose file changed
// since it read it lists and builds again). So the version of the file that
// wins was built from a listing made after the previous version was read,
// which includes every entry stored before that version was written; and a
// writer that finds the file already equal to what it built writes nothing
// because the file holds its entries. By induction the final file holds
// every entry stored before the last Close began, and only what the journal
// holds then (a rolled-back video's entries were deleted before its
// writer's Close). A run that dies before Close leaves the file stale, never
// partial (every Put is atomic); the next run's Close rebuilds it.
//
// Cost: Close reads each split's journal (one GET per image, 16 at a time,
// kept across the Update's retries) and holds the split's entries in memory
// while it writes the file. On S3 and Azure, Update gives up after 10
// rounds lost to other writers; a writer whose Close failed so leaves the
// file to the others, or to a re-run.
package coco

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/formats"
	cocofmt "github.com/vpipe/vpipe/formats/coco"
	"github.com/vpipe/vpipe/layouts/internal/splittree"
	"github.com/vpipe/vpipe/store"
	sv "github.com/vpipe/vpipe/supervisely"
)

// Keys of the layout's bookkeeping.
const (
	JournalPrefix = splittree.Hidden + "journal/"
	SplitsKey     = splittree.Hidden + "coco-splits.json"
)

// InstancesKey is the key of a split's annotation file.
func InstancesKey(split string) string { return "annotations/instances_" + split + ".json" }

var _ core.Sink = (*Sink)(nil)

// Options are the layout's settings.
type Options struct {
	// Split names a video's split (nil: all "train"); see splittree.Options.
	Split func(dataset []string, video string) string
	// OnSkip is told, once per class and geometry, of labels COCO cannot
	// carry (points, lines, ...; see splittree.Options).
	OnSkip func(class, geometry, why string)
}

// Sink is the COCO layout on a store.
type Sink struct {
	*splittree.Layout
	st   store.Store
	conv *cocofmt.Converter
}

// New lays a COCO dataset out in st.
func New(st store.Store, o Options) *Sink {
	s := &Sink{st: st}
	s.Layout = splittree.New(st, splittree.Options{Split: o.Split, OnSkip: o.OnSkip}, splittree.Format{
		Name:      "COCO",
		Companion: journalKey,
		Render:    s.render,
		Begun:     s.begun,
		SplitUsed: s.addSplit,
		Finish:    s.finish,
	})
	return s
}

func journalKey(split string, dataset []string, name string) (string, error) {
	return JournalPrefix + split + "/" + strings.Join(dataset, "/") + "/" + name + ".json", nil
}

func (s *Sink) begun(_ context.Context, meta *sv.ProjectMeta) error {
	conv, err := cocofmt.NewConverter(meta)
	s.conv = conv
	return err
}

// render makes an image's journal entry.
func (s *Sink) render(img *core.Image, _ string, ann *sv.ImageAnnotation) ([]byte, formats.Skips, error) {
	if s.conv == nil {
		return nil, nil, fmt.Errorf("put before Begin")
	}
	n := len(img.Dataset)
	rec, err := cocofmt.NewImage(strings.Join(img.Dataset, "/")+"/"+img.Name, ann.Width, ann.Height,
		img.Dataset[n-1], strings.Join(img.Dataset[:n-1], "/"), img.Meta, ann.Tags)
	if err != nil {
		return nil, nil, err
	}
	objs, skips, err := s.conv.Objects(ann)
	if err != nil {
		return nil, nil, err
	}
	b, err := cocofmt.MarshalEntry(&cocofmt.Entry{Image: rec, Objects: objs})
	return b, skips, err
}

// addSplit lists a split in .vpipe/coco-splits.json (sorted names).
func (s *Sink) addSplit(ctx context.Context, split string) error {
	return s.st.Update(ctx, SplitsKey, func(old []byte, exists bool) ([]byte, error) {
		var have []string
		if exists {
			if err := json.Unmarshal(old, &have); err != nil {
				return nil, fmt.Errorf("%s: %w", s.st.Name(SplitsKey), err)
			}
		}
		if slices.Contains(have, split) {
			return nil, nil
		}
		have = append(have, split)
		sort.Strings(have)
		b, err := json.Marshal(have)
		return append(b, '\n'), err
	})
}

// finish rebuilds the annotation file of every split the output has.
func (s *Sink) finish(ctx context.Context) error {
	var splits []string
	if _, err := s.GetJSON(ctx, SplitsKey, &splits); err != nil {
		return err
	}
	for _, split := range splits {
		if err := s.WriteInstances(ctx, split); err != nil {
			return fmt.Errorf("%s: %w", s.st.Name(InstancesKey(split)), err)
		}
	}
	return nil
}

// WriteInstances rebuilds instances_<split>.json from the split's journal
// (what Close does for every split).
func (s *Sink) WriteInstances(ctx context.Context, split string) error {
	j := &journal{st: s.st, prefix: JournalPrefix + split + "/", cache: map[string]cached{}}
	return s.st.Update(ctx, InstancesKey(split), func(old []byte, exists bool) ([]byte, error) {
		meta, err := s.Meta(ctx)
		if err != nil {
			return nil, err
		}
		entries, err := j.read(ctx)
		if err != nil {
			return nil, err
		}
		b, err := cocofmt.Assemble(meta, split, entries)
		if err != nil || (exists && bytes.Equal(old, b)) {
			return nil, err
		}
		return b, nil
	})
}

// journal reads a split's journal; entries read once are kept (by key and
// size) for the Update's next round.
type journal struct {
	st     store.Store
	prefix string
	cache  map[string]cached
}

type cached struct {
	size  int64
	entry cocofmt.Entry
}

// read lists the journal and returns its entries in key order.
func (j *journal) read(ctx context.Context) ([]cocofmt.Entry, error) {
	sizes := map[string]int64{}
	err := j.st.List(ctx, j.prefix, func(key string, size int64) error {
		if strings.HasSuffix(key, ".json") {
			sizes[key] = size
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(sizes))
	var missing []string
	for k, n := range sizes {
		keys = append(keys, k)
		if c, ok := j.cache[k]; !ok || c.size != n {
			missing = append(missing, k)
		}
	}
	sort.Strings(keys)
	if err := j.fetch(ctx, missing); err != nil {
		return nil, err
	}
	out := make([]cocofmt.Entry, 0, len(keys))
	for _, k := range keys {
		if c, ok := j.cache[k]; ok { // gone since it was listed: a roll-back
			out = append(out, c.entry)
		}
	}
	return out, nil
}

// fetch reads keys into the cache, 16 at a time. An entry removed since it
// was listed (a video rolled back meanwhile) is left out.
func (j *journal) fetch(ctx context.Context, keys []string) error {
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	next := make(chan string)
	for w := 0; w < min(16, len(keys)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				c, found, err := j.get(ctx, k)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				if found && err == nil {
					j.cache[k] = c
				} else {
					delete(j.cache, k)
				}
				mu.Unlock()
			}
		}()
	}
	for _, k := range keys {
		next <- k
	}
	close(next)
	wg.Wait()
	return first
}

func (j *journal) get(ctx context.Context, key string) (cached, bool, error) {
	b, found, err := j.st.Get(ctx, key)
	if err != nil || !found {
		return cached{}, found, err
	}
	var e cocofmt.Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return cached{}, true, fmt.Errorf("%s: %w", j.st.Name(key), err)
	}
	return cached{size: int64(len(b)), entry: e}, true, nil
}
