// Package atomicfile writes a file on this machine so that no reader sees
// part of it: a temporary beside it, renamed into place. The local store
// writes every object so, and commands write their reports so; it names no
// backend.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/vpipe/vpipe/store"
)

// Write writes data to a temporary file beside path (store.TmpPrefix, then
// the writer's id owner, "" for none), and renames it over path. With fsync
// the file is synced before the rename (so the name never points at bytes
// not yet on disk) and its folder after (so the rename itself is on disk
// when Write returns).
func Write(path string, data []byte, fsync bool, owner string) (err error) {
	pattern := store.TmpPrefix + "*"
	if owner != "" {
		pattern = store.TmpPrefix + owner + "-*"
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
		return SyncDir(filepath.Dir(path))
	}
	return nil
}

// SyncDir flushes a folder's entries (a rename, a new file) to disk.
func SyncDir(dir string) error {
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
