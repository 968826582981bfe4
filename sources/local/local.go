// Package local is the local-directory source: a Supervisely video project on disk
// (a folder with meta.json; reference §8.2), a single video file, or a plain folder
// of videos whose sub-folders become datasets (recursively).
package local

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vpipe/vpipe/core"
)

// RootDataset is the dataset of videos that sit directly in the source folder
// (or of a single video file), as in Supervisely's own imports.
const RootDataset = "ds0"

// VideoExts are the extensions taken as videos (Supervisely's list, plus .ts,
// .m2ts, .mpg, .mpeg, .m4v).
var VideoExts = map[string]bool{
	".avi": true, ".mp4": true, ".3gp": true, ".flv": true, ".webm": true, ".wmv": true, ".mov": true, ".mkv": true,
	".ts": true, ".m2ts": true, ".mpg": true, ".mpeg": true, ".m4v": true,
}

// Source reads videos from a path.
type Source struct {
	Path string
}

// New checks the path exists.
func New(path string) (*Source, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("source.path: %w", err)
	}
	return &Source{Path: path}, nil
}

// Describe names the source.
func (s *Source) Describe() string { return "local " + s.Path }

// Project reads the project meta of a Supervisely project; a plain folder has none.
func (s *Source) Project(context.Context) (*core.Project, error) {
	if isProject(s.Path) {
		return s.loadProject()
	}
	return &core.Project{Provenance: map[string]any{"is_sample": true}}, nil
}

// Items walks the folder in lexical order. Hidden files and folders are skipped.
func (s *Source) Items(ctx context.Context, emit func(*core.Item) error) error {
	st, err := os.Stat(s.Path)
	if err != nil {
		return fmt.Errorf("source.path: %w", err)
	}
	if st.IsDir() && isProject(s.Path) {
		return s.projectItems(ctx, emit)
	}
	if !st.IsDir() {
		return emit(plainItem(filepath.Base(s.Path), []string{RootDataset}, s.Path))
	}
	var found int
	err = filepath.WalkDir(s.Path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if p != s.Path && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !VideoExts[strings.ToLower(filepath.Ext(p))] {
			return nil
		}
		rel, err := filepath.Rel(s.Path, filepath.Dir(p))
		if err != nil {
			return err
		}
		ds := []string{RootDataset}
		if rel != "." {
			ds = strings.Split(filepath.ToSlash(rel), "/")
		}
		found++
		return emit(plainItem(d.Name(), ds, p))
	})
	if err != nil {
		return err
	}
	if found == 0 {
		exts := make([]string, 0, len(VideoExts))
		for e := range VideoExts {
			exts = append(exts, e)
		}
		sort.Strings(exts)
		return fmt.Errorf("source.path %s: no videos found (looked for %s)", s.Path, strings.Join(exts, " "))
	}
	return nil
}

func plainItem(name string, ds []string, path string) *core.Item {
	return &core.Item{Name: name, Dataset: ds, Open: path, Provenance: map[string]any{
		"is_sample": true, "video_dataset_name": ds[len(ds)-1], "video_name": name}}
}
