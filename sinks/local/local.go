// Package local writes a Supervisely image project to a directory (reference
// §8.3): meta.json, then per dataset img/, ann/ and meta/ folders, nested
// datasets under <parent>/datasets/<child>. The local format has no place for
// project or dataset custom data, so vpipe writes what the server would hold as
// customData (the provenance keys of §9) to custom_data.json in the project
// folder and in each dataset folder; Supervisely's readers ignore files there. Every file is written to a temporary
// name in its final folder and renamed into place, and the image itself goes last,
// so an image that exists always has its annotation and meta.
package local

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/vpipe/vpipe/core"
	sv "github.com/vpipe/vpipe/supervisely"
)

// CustomDataFile holds a project's or dataset's custom data (provenance).
const CustomDataFile = "custom_data.json"

const tmpPrefix = ".vpipe-tmp-"

// EmptyMeta is a new project's meta.json (an empty ProjectMeta, §8.3).
const EmptyMeta = `{
    "classes": [],
    "tags": [],
    "projectSettings": {
        "multiView": {
            "enabled": false,
            "tagName": null,
            "tagId": null,
            "isSynced": false
        }
    }
}
`

// Reserved are the names a top-level dataset may not take: the folder names of
// a dataset's items (§8.3), which Supervisely's reader never takes for a dataset,
// and the files vpipe writes in the project folder. (Nested datasets live under
// <parent>/datasets/, where no name collides.)
var Reserved = []string{"img", "ann", "img_info", "seg", "meta", "datasets", "blob", "meta.json", CustomDataFile}

// Sink writes under Root.
type Sink struct {
	Root string
	// Fsync syncs every file before it is renamed into place and its folder
	// after (sink.fsync): what a write returned survives a power cut, at the
	// cost of a disk flush per file.
	Fsync bool
	dirs  sync.Map   // folders created (and cleaned of stale temporaries) this run
	mu    sync.Mutex // serialises the first touch of a folder

	id     string      // this writer, in its lock file's and temporaries' names
	writer core.Writer // who this run is (SetWriter)
	lock   *os.File    // this writer's lock file, held from Begin to Close
}

// New makes a sink rooted at path.
func New(path string) *Sink { return &Sink{Root: path, id: newID()} }

// Describe names the sink.
func (s *Sink) Describe() string { return "local " + s.Root }

// Begin creates the project folder and writes meta.json: the source meta merged
// into the one already there. A conflict is an error, found before anything is
// written. Unannotated input (meta nil) leaves an existing meta.json as it is.
// The merge is read and written holding a lock on the project folder, so
// shards starting at once never lose each other's classes. Before anything
// is written, the run is admitted as a writer (see admit and LockPrefix): a
// sink that another live run writes is refused unless both are shards or
// queue workers.
func (s *Sink) Begin(_ context.Context, meta *sv.ProjectMeta, custom map[string]any) (out *sv.ProjectMeta, err error) {
	if _, _, err := s.merge(meta); err != nil { // before the folder is made
		return nil, err
	}
	if err := s.mkdirAll(s.Root); err != nil {
		return nil, fmt.Errorf("sink.path: %w", err)
	}
	unlock, err := lockDir(s.Root)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := s.admit(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.release()
		}
	}()
	s.removeTemps(s.Root)
	out, metaJSON, err := s.merge(meta)
	if err != nil {
		return nil, err
	}
	if metaJSON != nil {
		if err := s.writeAtomic(filepath.Join(s.Root, "meta.json"), metaJSON); err != nil {
			return nil, err
		}
	}
	if custom != nil {
		if err := s.writeJSON(filepath.Join(s.Root, CustomDataFile), custom); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Check makes Begin's checks (sink.path usable, its meta.json readable and
// mergeable with meta) and writes nothing.
func (s *Sink) Check(_ context.Context, meta *sv.ProjectMeta) error {
	_, _, err := s.merge(meta)
	return err
}

// merge reads the destination's meta and merges meta into it: the result, and
// what meta.json must become (nil = leave it).
func (s *Sink) merge(meta *sv.ProjectMeta) (*sv.ProjectMeta, []byte, error) {
	if st, err := os.Stat(s.Root); err == nil && !st.IsDir() {
		return nil, nil, fmt.Errorf("sink.path %s: not a folder", s.Root)
	}
	p := filepath.Join(s.Root, "meta.json")
	var have *sv.ProjectMeta
	if b, err := os.ReadFile(p); err == nil {
		have = &sv.ProjectMeta{}
		if err := json.Unmarshal(b, have); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p, err)
		}
	} else if !os.IsNotExist(err) {
		return nil, nil, err
	}
	switch {
	case meta != nil:
		m, err := sv.OutputMeta(have, meta)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: cannot merge the source project's meta: %w", p, err)
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

// Dataset writes a dataset's custom data to <dataset>/custom_data.json, after
// CheckDataset's checks. It holds a lock on the dataset's folder (shards share
// source datasets), so the temporaries of writers killed there are removed
// without touching a live one's.
func (s *Sink) Dataset(ctx context.Context, info core.DatasetInfo) error {
	if err := s.CheckDataset(ctx, info); err != nil {
		return err
	}
	dir, _ := DatasetDir(s.Root, info.Dataset)
	if err := s.mkdirAll(dir); err != nil {
		return err
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer unlock()
	s.removeTemps(dir)
	return s.writeJSON(filepath.Join(dir, CustomDataFile), info.Custom)
}

// CheckDataset tells, writing nothing, whether a dataset can take this run's
// images: its name fits the layout, and if it holds images, the output settings
// it recorded are this run's. Settings recorded for a dataset without images
// bind nothing: there is nothing to mix with.
func (s *Sink) CheckDataset(_ context.Context, info core.DatasetInfo) error {
	dir, err := DatasetDir(s.Root, info.Dataset)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, CustomDataFile)
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var have map[string]any
	if err := json.Unmarshal(b, &have); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := sameOutput(have[core.OutputKey], info.Custom[core.OutputKey]); err != nil {
		if imgs, lerr := listImages(filepath.Join(dir, "img")); lerr == nil && len(imgs) == 0 {
			return nil
		}
		return fmt.Errorf("%s: %w; write to another sink.path, or remove that dataset", path, err)
	}
	return nil
}

// sameOutput compares recorded output settings with this run's.
func sameOutput(have, want any) error {
	if have == nil || want == nil {
		return nil
	}
	have, want = core.OutputWithDefaults(have), core.OutputWithDefaults(want)
	a, _ := json.Marshal(have)
	b, _ := json.Marshal(want)
	var x, y any
	json.Unmarshal(a, &x)
	json.Unmarshal(b, &y)
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	if string(xa) != string(ya) {
		return fmt.Errorf("its images were made with %s, this run makes %s", xa, ya)
	}
	return nil
}

func (s *Sink) writeJSON(path string, v any) error {
	b, err := marshalIndent(v)
	if err != nil {
		return err
	}
	return s.writeAtomic(path, b)
}

// writeAtomic writes a file of the project, its temporary named for this writer.
func (s *Sink) writeAtomic(path string, data []byte) error {
	return writeAtomic(path, data, s.Fsync, s.id)
}

// DatasetDir is the folder of a dataset path; names are checked so that no name
// can lead outside the root.
func DatasetDir(root string, dataset []string) (string, error) {
	if len(dataset) == 0 {
		return "", fmt.Errorf("empty dataset path")
	}
	parts := []string{root}
	for i, name := range dataset {
		if err := checkName(name); err != nil {
			return "", fmt.Errorf("dataset %q: %w", strings.Join(dataset[:i+1], "/"), err)
		}
		if i == 0 && slices.Contains(Reserved, name) {
			return "", fmt.Errorf("dataset %q: the name is reserved in a Supervisely image project (%s); rename the source dataset or folder",
				name, strings.Join(Reserved, ", "))
		}
		if i > 0 {
			parts = append(parts, "datasets")
		}
		parts = append(parts, name)
	}
	return filepath.Join(parts...), nil
}

func checkName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("not a usable name")
	case strings.ContainsAny(name, "/\\\x00"):
		return fmt.Errorf("a name may not contain / \\ or NUL")
	case strings.HasPrefix(name, tmpPrefix):
		return fmt.Errorf("names starting with %s are vpipe's temporary files", tmpPrefix)
	case strings.HasPrefix(name, LockPrefix):
		return fmt.Errorf("names starting with %s are vpipe's lock files", LockPrefix)
	}
	return nil
}

// Existing lists the images already complete in a dataset: those whose image,
// annotation and meta are all there (an image that lost its annotation or
// meta is missing, so a re-run writes it again). It changes nothing.
func (s *Sink) Existing(_ context.Context, dataset []string) (map[string]bool, error) {
	dir, err := DatasetDir(s.Root, dataset)
	if err != nil {
		return nil, err
	}
	imgs, err := listImages(filepath.Join(dir, "img"))
	if err != nil {
		return nil, err
	}
	for _, sub := range []string{"ann", "meta"} {
		have, err := listImages(filepath.Join(dir, sub))
		if err != nil {
			return nil, err
		}
		for n := range imgs {
			if !have[n+".json"] {
				delete(imgs, n)
			}
		}
	}
	return imgs, nil
}

// listImages lists the complete image files of a folder (none if it does not exist).
func listImages(dir string) (map[string]bool, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, e := range entries {
		if !e.IsDir() && !strings.HasPrefix(e.Name(), tmpPrefix) {
			out[e.Name()] = true
		}
	}
	return out, nil
}

// Put writes meta, annotation, then the image. A write that fails (a full
// disk, a refused permission) takes back the files this Put wrote before it,
// so a frame whose Put failed leaves nothing: the runner rolls back only the
// frames whose Put returned nil.
func (s *Sink) Put(_ context.Context, img *core.Image) error {
	if err := checkName(img.Name); err != nil {
		return fmt.Errorf("image %q: %w", img.Name, err)
	}
	dir, err := DatasetDir(s.Root, img.Dataset)
	if err != nil {
		return err
	}
	if err := s.mkdirs(dir); err != nil {
		return err
	}
	var files []string
	var datas [][]byte
	if img.Meta != nil {
		b, err := marshalIndent(img.Meta)
		if err != nil {
			return fmt.Errorf("%s: meta: %w", img.Name, err)
		}
		files, datas = append(files, filepath.Join(dir, "meta", img.Name+".json")), append(datas, b)
	}
	files = append(files, filepath.Join(dir, "ann", img.Name+".json"), filepath.Join(dir, "img", img.Name))
	datas = append(datas, sv.Indent(img.Ann), img.Data)
	for i, p := range files {
		if err := s.writeAtomic(p, datas[i]); err != nil {
			return undo(err, files[:i])
		}
	}
	return nil
}

// undo removes the files a failed Put wrote before its error.
func undo(err error, written []string) error {
	for _, p := range written {
		if rerr := os.Remove(p); rerr != nil && !os.IsNotExist(rerr) {
			return fmt.Errorf("%w (and removing %s, written before, failed: %v)", err, p, rerr)
		}
	}
	return err
}

// mkdirs creates a dataset's folders and removes temporaries an interrupted
// run left there, once, before any write of this run lands in them.
func (s *Sink) mkdirs(dir string) error {
	if _, ok := s.dirs.Load(dir); ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.dirs.Load(dir); ok {
		return nil
	}
	for _, sub := range []string{"img", "ann", "meta"} {
		if err := s.mkdirAll(filepath.Join(dir, sub)); err != nil {
			return err
		}
		s.removeTemps(filepath.Join(dir, sub))
	}
	s.dirs.Store(dir, true)
	return nil
}

// mkdirAll creates dir and its missing parents; with Fsync, each parent of a
// folder it created is synced, so the new folders survive a power cut as well
// as the files renamed into them.
func (s *Sink) mkdirAll(dir string) error {
	if !s.Fsync {
		return os.MkdirAll(dir, 0o755)
	}
	var made []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || d == filepath.Dir(d) {
			break
		}
		made = append(made, d)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, d := range made {
		if err := syncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

// removeAllTemps deletes every temporary file in a folder (vpipe frames, whose
// folder has no lock file).
func removeAllTemps(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// Delete removes images (the image first, so it no longer counts as existing),
// then their annotation and meta, then folders left empty.
func (s *Sink) Delete(_ context.Context, dataset []string, names []string) error {
	dir, err := DatasetDir(s.Root, dataset)
	if err != nil {
		return err
	}
	var first error
	for _, n := range names {
		for _, p := range []string{filepath.Join(dir, "img", n), filepath.Join(dir, "ann", n+".json"), filepath.Join(dir, "meta", n+".json")} {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) && first == nil {
				first = err
			}
		}
	}
	for _, sub := range []string{"img", "ann", "meta"} {
		_ = os.Remove(filepath.Join(dir, sub)) // only succeeds when empty
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) == 1 && entries[0].Name() == CustomDataFile {
		_ = os.Remove(filepath.Join(dir, CustomDataFile))
		_ = os.Remove(dir)
	}
	s.dirs.Delete(dir)
	return first
}

// Close has nothing to flush (every Put is on disk when it returns); it
// removes this writer's lock file and lets go of it.
func (s *Sink) Close() error {
	s.release()
	return nil
}

// writeAtomic writes data to a temporary file beside path, named for its
// writer (owner, "" for none), and renames it over path. With fsync the file is synced before the rename (so the name never
// points at bytes not yet on disk) and its folder after (so the rename itself
// is on disk when writeAtomic returns).
func writeAtomic(path string, data []byte, fsync bool, owner string) (err error) {
	pattern := tmpPrefix + "*"
	if owner != "" {
		pattern = tmpPrefix + owner + "-*"
	}
	f, err := os.CreateTemp(filepath.Dir(path), pattern)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if fsync {
		if err = f.Sync(); err != nil {
			return fmt.Errorf("fsync %s: %w", f.Name(), err)
		}
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if fsync {
		if err := syncDir(filepath.Dir(path)); err != nil {
			return err
		}
	}
	return nil
}

// syncDir flushes a folder's entries (a rename, a new file) to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

// Flat writes bare image files into one folder (vpipe frames): no project
// layout, no annotations.
type Flat struct {
	Dir string
	// Record, when set, is kept in FramesRecordFile: a folder whose frames were
	// made from another video or with other output settings is refused, or,
	// with Overwrite, cleared of them first.
	Record    *FramesRecord
	Overwrite bool
}

// Describe names the sink.
func (f *Flat) Describe() string { return "folder " + f.Dir }

// Begin creates the folder, removes temporary files an interrupted run left and
// checks (then writes) the folder's record.
func (f *Flat) Begin(context.Context, *sv.ProjectMeta, map[string]any) (*sv.ProjectMeta, error) {
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		return nil, err
	}
	removeAllTemps(f.Dir)
	if f.Record != nil {
		if err := f.checkRecord(); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// Check has nothing to check before a bare folder is written.
func (f *Flat) Check(context.Context, *sv.ProjectMeta) error { return nil }

// Dataset has nowhere to record custom data in a bare folder.
func (f *Flat) Dataset(context.Context, core.DatasetInfo) error { return nil }

// CheckDataset: a bare folder takes any images.
func (f *Flat) CheckDataset(context.Context, core.DatasetInfo) error { return nil }

// Existing lists the folder's files (the dataset is ignored).
func (f *Flat) Existing(context.Context, []string) (map[string]bool, error) {
	m, err := listImages(f.Dir)
	delete(m, FramesRecordFile)
	return m, err
}

// Put writes the image file atomically.
func (f *Flat) Put(_ context.Context, img *core.Image) error {
	if err := checkName(img.Name); err != nil {
		return fmt.Errorf("image %q: %w", img.Name, err)
	}
	return writeAtomic(filepath.Join(f.Dir, img.Name), img.Data, false, "")
}

// Delete removes image files, and the folder's record once no frame is left
// for it to speak for, so a failed video leaves nothing behind.
func (f *Flat) Delete(_ context.Context, _ []string, names []string) error {
	for _, n := range names {
		if err := os.Remove(filepath.Join(f.Dir, n)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	if f.Record != nil {
		if left, err := f.frameFiles(); err == nil && len(left) == 0 {
			_ = os.Remove(filepath.Join(f.Dir, FramesRecordFile))
		}
	}
	return nil
}

// Close has nothing to flush.
func (f *Flat) Close() error { return nil }
