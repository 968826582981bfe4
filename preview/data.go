package preview

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	sv "github.com/vpipe/vpipe/supervisely"
)

// dataDir is the site's folder of data scripts: index.js and the chunks.
const dataDir = "data"

// The page's data is scripts, not JSON files: a page opened from file:// may
// load a script but not fetch a file (Chromium refuses). data/index.js sets
// window.VPIPE_INDEX (index below); data/page-NNN.js calls
// VPIPE_CHUNK(NNN, rows) with up to ChunkSize image rows, in the order of
// the grid, one a line: [name, video, frame, time_s, pts, width, height,
// thumbnail key, labels, tags, problems] (labels, tags and problems are 0
// when empty, shorter than []). The page loads a chunk by adding a <script>
// when it needs one of its images.

// index is data/index.js's object.
type index struct {
	Title  string  `json:"title"`
	Base   *string `json:"base"`
	Thumbs string  `json:"thumbs"`
	Page   int     `json:"page"`
	Chunk  int     `json:"chunk"`  // images a chunk (the last may hold fewer)
	Chunks int     `json:"chunks"` // data/page-000.js …
	Images int     `json:"images"`
	Labels int     `json:"labels"`
	// Unlabelled counts the images without labels.
	Unlabelled int     `json:"unlabelled"`
	Classes    []class `json:"classes"`
	// ClassImages[c] counts the images with a label of class c; ClassLabels
	// its labels; TagImages[t] the images with tag t (on the image or one of
	// its labels).
	ClassImages []int    `json:"class_images"`
	ClassLabels []int    `json:"class_labels"`
	Tags        []string `json:"tags"`
	TagImages   []int    `json:"tag_images"`
	Datasets    []string `json:"datasets"`
	Splits      []string `json:"splits"`
	// Videos are [name, dataset, split, folder key, frames, first image,
	// images, labelled images, labels, labelled runs, unlabelled runs]: a
	// video's images are consecutive from its first; frames is one past the
	// highest frame index of its images (the layout does not record a video's
	// frame count); runs are the frame indexes of its images, with and without
	// labels, as flat [start, step, count] triples (the strip's ticks).
	Videos [][]any `json:"videos"`
	// ChunkClasses[n] and ChunkTags[n] are the classes and tags chunk n's
	// images have: a filter loads only the chunks that can match.
	ChunkClasses [][]int `json:"chunk_classes"`
	ChunkTags    [][]int `json:"chunk_tags"`
}

// video is what the index keeps of a video while its images stream by.
type video struct {
	name                                  string
	dataset, split                        int
	dir                                   string
	frames, first, images, labelled, nLab int
	lab, unl                              runs
}

func (v *video) row() []any {
	return []any{v.name, v.dataset, v.split, v.dir, v.frames, v.first, v.images, v.labelled, v.nLab, v.lab.list(), v.unl.list()}
}

// runs are frame indexes as [start, step, count] triples: a video sampled
// every n frames is one triple, however long.
type runs []int

func (r *runs) add(f int) {
	if n := len(*r); n >= 3 {
		s, st, c := (*r)[n-3], (*r)[n-2], (*r)[n-1]
		switch {
		case c == 1 && f > s:
			(*r)[n-2], (*r)[n-1] = f-s, 2
			return
		case f == s+st*c:
			(*r)[n-1]++
			return
		}
	}
	*r = append(*r, f, 1, 1)
}

func (r runs) list() []int {
	if r == nil {
		return []int{}
	}
	return r
}

// dataWriter writes the data scripts as images stream by, into a fresh
// folder that replaces data/ when the build is done: a build stopped
// half-way leaves the previous site whole. It keeps counters, not rows.
type dataWriter struct {
	o                      *Options
	cls                    *classes
	tmp                    string
	idx                    index
	tags, datasets, splits names
	videos                 []*video
	// the chunk being written
	f                        *os.File
	w                        *bufio.Writer
	inChunk                  int
	chunkClasses, chunkTags  map[int]bool
	classImages, classLabels []int
	tagImages                []int
	bytes                    int64
	seenClasses, seenTags    map[int]bool // one image's, reused
}

func newDataWriter(o *Options, cls *classes, meta *sv.ProjectMeta) (*dataWriter, error) {
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(o.Out, ".data-*")
	if err != nil {
		return nil, err
	}
	dw := &dataWriter{o: o, cls: cls, tmp: tmp, seenClasses: map[int]bool{}, seenTags: map[int]bool{}}
	dw.idx = index{Title: o.Title, Thumbs: "thumbs/w" + strconv.Itoa(o.ThumbWidth) + "/", Page: o.PageSize, Chunk: o.ChunkSize}
	if o.ImageBase != "" {
		dw.idx.Base = &o.ImageBase
	}
	for _, t := range meta.Tags {
		if t.Name != ObjectIDTag {
			dw.tags.of(t.Name)
		}
	}
	return dw, nil
}

// add writes one image's row to its chunk and counts it.
func (dw *dataWriter) add(im *img, sum *Summary) error {
	v := dw.video(im)
	clear(dw.seenClasses)
	clear(dw.seenTags)
	var ls any = 0
	if len(im.Labels) > 0 {
		rows := make([]any, 0, len(im.Labels))
		for _, l := range im.Labels {
			c := dw.cls.of(l.Class)
			dw.seenClasses[c] = true
			count(&dw.classLabels, c)
			rows = append(rows, l.row(c, dw.tagRows(l.Tags)))
		}
		ls = rows
		v.labelled++
	} else {
		sum.Unlabelled++
	}
	if im.Frame != nil {
		v.frames = max(v.frames, *im.Frame+1)
		if len(im.Labels) > 0 {
			v.lab.add(*im.Frame)
		} else {
			v.unl.add(*im.Frame)
		}
	}
	v.images++
	v.nLab += len(im.Labels)
	sum.Labels += len(im.Labels)
	var probs any = 0
	if len(im.Problems) > 0 {
		probs = im.Problems
		sum.Problems++
	}
	var thumb any
	if im.Thumb != "" {
		thumb = im.Thumb
	}
	row := []any{im.e.Name, len(dw.videos) - 1, im.Frame, raw(im.Time), raw(im.PTS), im.W, im.H, thumb, ls, dw.tagRows(im.Tags), probs}
	for c := range dw.seenClasses {
		count(&dw.classImages, c)
	}
	for t := range dw.seenTags {
		count(&dw.tagImages, t)
	}
	return dw.write(row)
}

// video is the image's video, a new one when its folder is not the last's
// (the listing groups a video's images).
func (dw *dataWriter) video(im *img) *video {
	if n := len(dw.videos); n > 0 && dw.videos[n-1].dir == im.e.DirKey {
		return dw.videos[n-1]
	}
	v := &video{name: im.videoName(), dataset: dw.datasets.of(im.datasetName()), split: dw.splits.of(im.e.Dataset[0]),
		dir: im.e.DirKey, first: dw.idx.Images}
	dw.videos = append(dw.videos, v)
	return v
}

// tagRows is tags as a row has them: a tag's index, or [index, value].
func (dw *dataWriter) tagRows(ts []tag) any {
	if len(ts) == 0 {
		return 0
	}
	out := make([]any, len(ts))
	for i, t := range ts {
		k := dw.tags.of(t.Name)
		dw.seenTags[k] = true
		if out[i] = k; t.HasValue {
			out[i] = []any{k, t.Value}
		}
	}
	return out
}

// count adds one to (*c)[i], growing it.
func count(c *[]int, i int) {
	for len(*c) <= i {
		*c = append(*c, 0)
	}
	(*c)[i]++
}

func raw(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// write appends a row to the current chunk, opening one when none is open
// and closing it when full.
func (dw *dataWriter) write(row []any) error {
	b, err := json.Marshal(row)
	if err != nil {
		return fmt.Errorf("data: image %v: %w", row[0], err)
	}
	if dw.f == nil {
		if err := dw.openChunk(); err != nil {
			return err
		}
	} else {
		dw.w.WriteString(",\n")
	}
	dw.w.Write(b)
	for c := range dw.seenClasses {
		dw.chunkClasses[c] = true
	}
	for t := range dw.seenTags {
		dw.chunkTags[t] = true
	}
	dw.idx.Images++
	if dw.inChunk++; dw.inChunk == dw.o.ChunkSize {
		return dw.closeChunk()
	}
	return nil
}

func chunkName(n int) string { return fmt.Sprintf("page-%03d.js", n) }

func (dw *dataWriter) openChunk() error {
	f, err := os.Create(filepath.Join(dw.tmp, chunkName(dw.idx.Chunks)))
	if err != nil {
		return err
	}
	if dw.w == nil {
		dw.w = bufio.NewWriterSize(f, 256<<10)
	} else {
		dw.w.Reset(f)
	}
	dw.f, dw.inChunk = f, 0
	dw.chunkClasses, dw.chunkTags = map[int]bool{}, map[int]bool{}
	fmt.Fprintf(dw.w, "VPIPE_CHUNK(%d,[\n", dw.idx.Chunks)
	return nil
}

func (dw *dataWriter) closeChunk() error {
	dw.w.WriteString("\n]);\n")
	n, err := closeFile(dw.f, dw.w)
	dw.f = nil
	if err != nil {
		return err
	}
	dw.bytes += n
	dw.idx.ChunkClasses = append(dw.idx.ChunkClasses, sortedSet(dw.chunkClasses))
	dw.idx.ChunkTags = append(dw.idx.ChunkTags, sortedSet(dw.chunkTags))
	dw.idx.Chunks++
	return nil
}

// closeFile flushes and closes a file, and gives its size.
func closeFile(f *os.File, w *bufio.Writer) (int64, error) {
	err := w.Flush()
	var size int64
	if st, serr := f.Stat(); err == nil && serr == nil {
		size = st.Size()
	} else if err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return size, err
}

func sortedSet(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for i := range m {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}

// finish writes the last chunk and the index, and puts the new data folder
// in place of the old one.
func (dw *dataWriter) finish(sum *Summary) error {
	if dw.f != nil {
		if err := dw.closeChunk(); err != nil {
			dw.abort()
			return err
		}
	}
	dw.idx.Labels, dw.idx.Unlabelled = sum.Labels, sum.Unlabelled
	dw.idx.Classes, dw.idx.Tags = dw.cls.list, nonNil(dw.tags.list)
	dw.idx.ClassImages, dw.idx.ClassLabels, dw.idx.TagImages = padded(dw.classImages, len(dw.cls.list)), padded(dw.classLabels, len(dw.cls.list)), padded(dw.tagImages, len(dw.tags.list))
	dw.idx.Datasets, dw.idx.Splits = nonNil(dw.datasets.list), nonNil(dw.splits.list)
	dw.idx.Videos = make([][]any, 0, len(dw.videos))
	for _, v := range dw.videos {
		dw.idx.Videos = append(dw.idx.Videos, v.row())
	}
	b, err := json.Marshal(dw.idx)
	if err != nil {
		dw.abort()
		return err
	}
	b = append(append([]byte("window.VPIPE_INDEX="), b...), ";\n"...)
	if err := os.WriteFile(filepath.Join(dw.tmp, "index.js"), b, 0o644); err != nil {
		dw.abort()
		return err
	}
	sum.Videos, sum.Chunks, sum.DataBytes = len(dw.videos), dw.idx.Chunks, dw.bytes+int64(len(b))
	return dw.swap()
}

// swap puts the new data folder in place: the old one is moved aside, then
// removed (a page open meanwhile may miss a chunk, never mix two builds').
func (dw *dataWriter) swap() error {
	if err := os.Chmod(dw.tmp, 0o755); err != nil {
		dw.abort()
		return err
	}
	final := filepath.Join(dw.o.Out, dataDir)
	old := dw.tmp + ".old"
	if err := os.Rename(final, old); err != nil && !os.IsNotExist(err) {
		dw.abort()
		return err
	}
	if err := os.Rename(dw.tmp, final); err != nil {
		dw.abort()
		return err
	}
	os.Remove(filepath.Join(dw.o.Out, "data.js")) // the single data file of earlier versions
	return os.RemoveAll(old)
}

// abort removes what a build that stopped had written of its data.
func (dw *dataWriter) abort() {
	if dw.f != nil {
		dw.f.Close()
		dw.f = nil
	}
	os.RemoveAll(dw.tmp)
}

func padded(c []int, n int) []int {
	for len(c) < n {
		c = append(c, 0)
	}
	return c
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// names gives strings small indexes, in the order first seen.
type names struct {
	list  []string
	index map[string]int
}

func (n *names) of(s string) int {
	if n.index == nil {
		n.index = map[string]int{}
	}
	if i, ok := n.index[s]; ok {
		return i
	}
	n.index[s] = len(n.list)
	n.list = append(n.list, s)
	return len(n.list) - 1
}
