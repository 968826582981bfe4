// Package local writes images to folders on this machine: Flat, the bare
// folder of `vpipe frames`, and New, a Supervisely image project in a
// folder: the project layout (layouts/project) on the local store
// (stores/local), the same sink a config's `sink: {type: local}` builds
// through the registry (stores/local with sinks/storesink); code and tests
// that want one folder call New. Every file is written to a temporary name in
// its final folder and renamed into place, and the image itself goes last, so
// an image that exists always has its annotation and meta. A writer holds a
// lock file in the root while it writes, so a second unsharded run into one
// folder is refused.
package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/atomicfile"
	"github.com/vpipe/vpipe/layouts/project"
	localstore "github.com/vpipe/vpipe/stores/local"
	sv "github.com/vpipe/vpipe/supervisely"
)

// LockPrefix names the lock file each writer holds in the sink root.
const LockPrefix = localstore.LockPrefix

const tmpPrefix = localstore.TmpPrefix

// Sink is the project layout on a folder. Root and Fsync (sink.fsync) are
// the store's options: set Fsync before Begin.
type Sink struct {
	*project.Sink
	*localstore.Options
	st *localstore.Store
}

// New makes a sink rooted at path.
func New(path string) *Sink {
	st := localstore.New(path)
	return &Sink{Sink: project.New(st), Options: &st.Options, st: st}
}

// DatasetDir is the folder of a dataset path; names are checked so that no name
// can lead outside the root.
func DatasetDir(root string, dataset []string) (string, error) {
	key, err := project.DatasetKey(dataset)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, filepath.FromSlash(key)), nil
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
	if err := project.CheckName(img.Name); err != nil {
		return fmt.Errorf("image %q: %w", img.Name, err)
	}
	return atomicfile.Write(filepath.Join(f.Dir, img.Name), img.Data, false, "")
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

// Features: a bare folder is written one image at a time, by one command.
func (f *Flat) Features() core.SinkFeatures { return core.SinkFeatures{} }
