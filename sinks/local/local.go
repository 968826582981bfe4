// Package local writes a Supervisely image project to a directory (reference
// §8.3): meta.json, then per dataset img/, ann/ and meta/ folders, nested
// datasets under <parent>/datasets/<child>. Every file is written to a temporary
// name in its final folder and renamed into place, and the image itself goes last,
// so an image that exists always has its annotation and meta.
package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/vpipe/vpipe/core"
)

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

// reserved are folder names a dataset may not take (§8.3), plus the project meta.
var reserved = map[string]bool{"img": true, "ann": true, "img_info": true, "seg": true, "meta": true,
	"datasets": true, "blob": true, "meta.json": true}

// Sink writes under Root.
type Sink struct {
	Root string
	dirs sync.Map   // folders created (and cleaned of stale temporaries) this run
	mu   sync.Mutex // serialises the first touch of a folder
}

// New makes a sink rooted at path.
func New(path string) *Sink { return &Sink{Root: path} }

// Describe names the sink.
func (s *Sink) Describe() string { return "local " + s.Root }

// Begin creates the project folder and, when there is none, its meta.json.
func (s *Sink) Begin(context.Context) error {
	if err := os.MkdirAll(s.Root, 0o755); err != nil {
		return fmt.Errorf("sink.path: %w", err)
	}
	p := filepath.Join(s.Root, "meta.json")
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	return writeAtomic(p, []byte(EmptyMeta))
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
		if i == 0 && reserved[name] {
			return "", fmt.Errorf("dataset %q: the name is reserved in a Supervisely project", name)
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
	}
	return nil
}

// Existing lists the images already complete in a dataset. It changes nothing.
func (s *Sink) Existing(_ context.Context, dataset []string) (map[string]bool, error) {
	dir, err := DatasetDir(s.Root, dataset)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	entries, err := os.ReadDir(filepath.Join(dir, "img"))
	if os.IsNotExist(err) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !e.IsDir() && !strings.HasPrefix(e.Name(), tmpPrefix) {
			out[e.Name()] = true
		}
	}
	return out, nil
}

// Put writes meta, annotation, then the image.
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
	if img.Meta != nil {
		b, err := marshalIndent(img.Meta)
		if err != nil {
			return fmt.Errorf("%s: meta: %w", img.Name, err)
		}
		if err := writeAtomic(filepath.Join(dir, "meta", img.Name+".json"), b); err != nil {
			return err
		}
	}
	if err := writeAtomic(filepath.Join(dir, "ann", img.Name+".json"), img.Ann); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, "img", img.Name), img.Data)
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
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
		removeTemps(filepath.Join(dir, sub))
	}
	s.dirs.Store(dir, true)
	return nil
}

// removeTemps deletes temporary files an interrupted run left in a folder.
func removeTemps(dir string) {
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
	for _, sub := range []string{"img", "ann", "meta", ""} {
		_ = os.Remove(filepath.Join(dir, sub)) // only succeeds when empty
	}
	s.dirs.Delete(dir)
	return first
}

// Close has nothing to flush: every Put is on disk when it returns.
func (s *Sink) Close() error { return nil }

// writeAtomic writes data to a temporary file beside path and renames it over path.
func writeAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), tmpPrefix+"*")
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
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// Flat writes bare image files into one folder (vpipe frames): no project
// layout, no annotations.
type Flat struct {
	Dir string
}

// Describe names the sink.
func (f *Flat) Describe() string { return "folder " + f.Dir }

// Begin creates the folder and removes temporary files an interrupted run left.
func (f *Flat) Begin(context.Context) error {
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		return err
	}
	removeTemps(f.Dir)
	return nil
}

// Existing lists the folder's files (the dataset is ignored).
func (f *Flat) Existing(context.Context, []string) (map[string]bool, error) {
	entries, err := os.ReadDir(f.Dir)
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

// Put writes the image file atomically.
func (f *Flat) Put(_ context.Context, img *core.Image) error {
	if err := checkName(img.Name); err != nil {
		return fmt.Errorf("image %q: %w", img.Name, err)
	}
	return writeAtomic(filepath.Join(f.Dir, img.Name), img.Data)
}

// Delete removes image files.
func (f *Flat) Delete(_ context.Context, _ []string, names []string) error {
	for _, n := range names {
		if err := os.Remove(filepath.Join(f.Dir, n)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

// Close has nothing to flush.
func (f *Flat) Close() error { return nil }
