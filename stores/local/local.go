// Package local is the store of a folder on disk. Every object is written to
// a temporary file in its final folder, named for its writer
// (.vpipe-tmp-<writer id>-…), and renamed into place, so no reader sees part
// of one; with Fsync the file is synced before the rename and its folder
// after. Shared small files are updated holding a flock on their folder.
// Writers hold a lock file in the root (writers.go): a second unsharded run
// is refused, and the temporaries of dead writers are removed.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/atomicfile"
	"github.com/vpipe/vpipe/store"
)

// TmpPrefix starts the names of temporary files.
const TmpPrefix = store.TmpPrefix

// Options are the folder and how it is written.
type Options struct {
	Root string
	// Fsync syncs every file before it is renamed into place and its folder
	// after (sink.fsync): what a write returned survives a power cut, at the
	// cost of a disk flush per file.
	Fsync bool
	// Key is the config key that names Root, for messages ("" = sink.path).
	Key string
}

// Store is a folder on disk.
type Store struct {
	Options
	dirs sync.Map   // folders created (and cleaned of stale temporaries) this run
	mu   sync.Mutex // serialises the first touch of a folder

	id   string   // this writer, in its lock file's and temporaries' names
	lock *os.File // this writer's lock file, held from Admit to Release
}

// New makes a store rooted at root.
func New(root string) *Store { return &Store{Options: Options{Root: root}, id: newID()} }

// ID is this writer's id, in its lock file's and temporaries' names.
func (s *Store) ID() string { return s.id }

// Describe names the store.
func (s *Store) Describe() string { return "local " + s.Root }

// Name is the file of key.
func (s *Store) Name(key string) string { return filepath.Join(s.Root, filepath.FromSlash(key)) }

// Features: a writer lock file per writer.
func (s *Store) Features() store.Features {
	return store.Features{Key: s.key(), Admit: s.admitLocked, Release: s.release}
}

func (s *Store) key() string {
	if s.Key == "" {
		return "sink.path"
	}
	return s.Key
}

// Check refuses a root that exists and is not a folder.
func (s *Store) Check(context.Context) error {
	if st, err := os.Stat(s.Root); err == nil && !st.IsDir() {
		return fmt.Errorf("%s %s: not a folder", s.key(), s.Root)
	}
	return nil
}

// Open creates the root folder.
func (s *Store) Open(context.Context) error {
	if err := s.mkdirAll(s.Root); err != nil {
		return fmt.Errorf("%s: %w", s.key(), err)
	}
	return nil
}

// Get reads a file.
func (s *Store) Get(_ context.Context, key string) ([]byte, bool, error) {
	b, err := os.ReadFile(s.Name(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	return b, err == nil, err
}

// NewRangeReader reads n bytes of a file from off (n < 0: to its end).
func (s *Store) NewRangeReader(_ context.Context, key string, off, n int64) (io.ReadCloser, error) {
	f, err := os.Open(s.Name(key))
	if err != nil {
		return nil, err
	}
	if n < 0 {
		n = 1<<63 - 1 - off
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, off, n), f}, nil
}

// Put writes a file atomically, creating its folder (and cleaning it of
// stale temporaries) on first touch.
func (s *Store) Put(_ context.Context, key string, data []byte) error {
	p := s.Name(key)
	if err := s.touch(filepath.Dir(p)); err != nil {
		return err
	}
	err := atomicfile.Write(p, data, s.Fsync, s.id)
	if errors.Is(err, fs.ErrNotExist) { // its folder was removed (emptied by a Delete) since
		s.dirs.Delete(filepath.Dir(p))
		if err := s.touch(filepath.Dir(p)); err != nil {
			return err
		}
		err = atomicfile.Write(p, data, s.Fsync, s.id)
	}
	return err
}

// Update reads, changes and writes a file holding a flock on its folder, so
// concurrent writers (shards) never lose each other's changes; the stale
// temporaries of its folder are removed under that lock. A folder removed
// meanwhile (emptied by a Delete) is made again.
func (s *Store) Update(_ context.Context, key string, fn func([]byte, bool) ([]byte, error)) error {
	err := s.update(key, fn)
	if errors.Is(err, fs.ErrNotExist) {
		s.dirs.Delete(filepath.Dir(s.Name(key)))
		err = s.update(key, fn)
	}
	return err
}

func (s *Store) update(key string, fn func([]byte, bool) ([]byte, error)) error {
	p := s.Name(key)
	dir := filepath.Dir(p)
	if err := s.mkdirAll(dir); err != nil {
		return err
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.touch(dir); err != nil {
		return err
	}
	old, err := os.ReadFile(p)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	b, err := fn(old, exists)
	if err != nil || b == nil {
		return err
	}
	return atomicfile.Write(p, b, s.Fsync, s.id)
}

// List walks the folder of prefix; temporaries and lock files are left out.
func (s *Store) List(_ context.Context, prefix string, fn func(string, int64) error) error {
	dir := ""
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		dir = prefix[:i]
	}
	top := s.Name(dir)
	err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), TmpPrefix) || strings.HasPrefix(d.Name(), LockPrefix) {
			return nil
		}
		rel, _ := filepath.Rel(s.Root, p)
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed since the folder was read
			}
			return err
		}
		return fn(key, info.Size())
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Delete removes files, then the folders they leave empty (not the root).
func (s *Store) Delete(_ context.Context, keys ...string) error {
	var first error
	dirs := map[string]bool{}
	for _, k := range keys {
		p := s.Name(k)
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) && first == nil {
			first = err
		}
		dirs[filepath.Dir(p)] = true
	}
	for d := range dirs {
		s.removeEmpty(d)
	}
	return first
}

// removeEmpty removes dir and its parents while they are empty, up to the root.
func (s *Store) removeEmpty(dir string) {
	for d := filepath.Clean(dir); s.below(d); d = filepath.Dir(d) {
		if os.Remove(d) != nil { // only succeeds when empty
			return
		}
		s.dirs.Delete(d)
	}
}

// below tells whether d lies strictly inside the root (a root of "." or "/"
// included, which a prefix test misses).
func (s *Store) below(d string) bool {
	rel, err := filepath.Rel(filepath.Clean(s.Root), d)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// Close lets go of this writer's lock file.
func (s *Store) Close() error {
	s.release()
	return nil
}

// touch creates a folder and removes temporaries an interrupted run left
// there, once, before any write of this run lands in it.
func (s *Store) touch(dir string) error {
	if _, ok := s.dirs.Load(dir); ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.dirs.Load(dir); ok {
		return nil
	}
	if err := s.mkdirAll(dir); err != nil {
		return err
	}
	s.removeTemps(dir)
	s.dirs.Store(dir, true)
	return nil
}

// mkdirAll creates dir and its missing parents; with Fsync, each parent of a
// folder it created is synced, so the new folders survive a power cut as well
// as the files renamed into them.
func (s *Store) mkdirAll(dir string) error {
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
		if err := atomicfile.SyncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

// admitLocked admits w holding the root's flock (see admit).
func (s *Store) admitLocked(w core.Writer) error {
	unlock, err := lockDir(s.Root)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.admit(w); err != nil {
		return err
	}
	s.removeTemps(s.Root)
	s.dirs.Store(s.Root, true)
	return nil
}
