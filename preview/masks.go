package preview

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// masksDir is the site's folder of bitmap masks.
const masksDir = "masks"

// masks writes the bitmap masks of a build as PNG files of the site, named by
// their content (a mask in the same colour anywhere is one file, written
// once, kept from build to build), and remembers which ones this build uses,
// so that prune removes the others. The page loads a mask only when a card
// with it is drawn; data chunks hold its path, not its bytes.
type masks struct {
	dir  string // the site's folder
	mu   sync.Mutex
	used map[string]bool // paths under the site
}

func newMasks(site string) *masks {
	return &masks{dir: site, used: map[string]bool{}}
}

// put stores a mask's PNG, unless it is there already, and gives its path in
// the site ("masks/3f/3fa2….png").
func (m *masks) put(png []byte) (string, error) {
	sum := sha256.Sum256(png)
	name := hex.EncodeToString(sum[:12])
	rel := masksDir + "/" + name[:2] + "/" + name + ".png"
	m.mu.Lock()
	seen := m.used[rel]
	m.used[rel] = true
	m.mu.Unlock()
	if seen {
		return rel, nil
	}
	if path := filepath.Join(m.dir, filepath.FromSlash(rel)); !haveThumb(path) {
		if err := writeAtomic(path, png); err != nil {
			return "", err
		}
	}
	return rel, nil
}

// prune removes the masks of earlier builds that this one does not use.
func (m *masks) prune() error {
	root := filepath.Join(m.dir, masksDir)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".png") {
			return err
		}
		rel, err := filepath.Rel(m.dir, path)
		if err != nil || m.used[filepath.ToSlash(rel)] {
			return err
		}
		if err := os.Remove(path); err != nil {
			return err
		}
		os.Remove(filepath.Dir(path)) // fails while the folder holds others: that is fine
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
