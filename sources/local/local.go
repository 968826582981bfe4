// Package local is the local-directory source: a Supervisely video project on disk
// (a folder with meta.json; reference §8.2), a single video file, or a plain folder
// of videos whose sub-folders become datasets (recursively).
package local

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/vpipe/vpipe/core"
)

// RootDataset is the dataset of videos that sit directly in the source folder
// (or of a single video file), as in Supervisely's own imports.
const RootDataset = "ds0"

// VideoExts are the extensions taken as videos (Supervisely's list, plus .ts,
// .m2ts, .mpg, .mpeg, .m4v, and raw elementary streams: .h264, .264, .hevc,
// .h265, .265, .m2v).
var VideoExts = map[string]bool{
	".avi": true, ".mp4": true, ".3gp": true, ".flv": true, ".webm": true, ".wmv": true, ".mov": true, ".mkv": true,
	".ts": true, ".m2ts": true, ".mpg": true, ".mpeg": true, ".m4v": true,
	".h264": true, ".264": true, ".hevc": true, ".h265": true, ".265": true, ".m2v": true,
}

// Source reads videos from a path.
type Source struct {
	Path string
	// Log gets the warnings (a symlink loop or a broken link left out); nil
	// means slog.Default().
	Log *slog.Logger
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
// Symlinks are followed (the root, sub-folders and videos); a link back to a
// folder being walked is a loop and is skipped with a warning, as is a broken
// link that is not named like a video (one that is fails as that video).
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
	var walk func(dir string, ds []string, up []folder) error
	walk = func(dir string, ds []string, up []folder) error {
		entries, err := s.entries(dir, up)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return err
			}
			if e.dir != nil {
				if err := walk(e.path, append(append([]string{}, ds...), e.name), append(up, *e.dir)); err != nil {
					return err
				}
				continue
			}
			if !VideoExts[strings.ToLower(filepath.Ext(e.name))] {
				continue
			}
			d := []string{RootDataset}
			if len(ds) > 0 {
				d = ds
			}
			found++
			if err := emit(plainItem(e.name, d, e.path)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(s.Path, nil, []folder{{s.Path, st}}); err != nil {
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

// folder is a folder on the way from the root to where the walk is.
type folder struct {
	path string
	info os.FileInfo
}

// entry is a folder entry with symlinks resolved: dir is set for a folder
// (through a link or not), nil for anything else.
type entry struct {
	name, path string
	dir        *folder
}

// entries lists dir's entries, hidden ones left out, sorted by name, following
// symlinks. A folder that is one of up (the folders from the root down to dir)
// is a loop: it is left out with a warning, so no walk recurses forever. A
// broken link is kept as a file when named like a video (it then fails as that
// video, with its name) and left out with a warning otherwise.
func (s *Source) entries(dir string, up []folder) ([]entry, error) {
	des, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []entry
	for _, de := range des {
		name := de.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		e := entry{name: name, path: filepath.Join(dir, name)}
		if de.Type()&fs.ModeSymlink == 0 {
			if de.IsDir() {
				info, err := de.Info()
				if err != nil {
					return nil, err
				}
				e.dir = &folder{e.path, info}
			}
			out = append(out, e)
			continue
		}
		info, err := os.Stat(e.path)
		if err != nil {
			if !VideoExts[strings.ToLower(filepath.Ext(name))] {
				s.log().Warn("skipped a broken symlink", "path", e.path, "err", err)
				continue
			}
			out = append(out, e)
			continue
		}
		if info.IsDir() {
			if i := slices.IndexFunc(up, func(f folder) bool { return os.SameFile(f.info, info) }); i >= 0 {
				s.log().Warn("skipped a symlink loop", "path", e.path, "leads back to", up[i].path)
				continue
			}
			e.dir = &folder{e.path, info}
		}
		out = append(out, e)
	}
	return out, nil
}

func (s *Source) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func plainItem(name string, ds []string, path string) *core.Item {
	return &core.Item{Name: name, Dataset: ds, Open: path, Provenance: map[string]any{
		"is_sample": true, "video_dataset_name": ds[len(ds)-1], "video_name": name}}
}
