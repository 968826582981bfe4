package local

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/store"
)

// LockPrefix names the lock file each writer holds in the sink root while it
// writes: .vpipe-lock-<writer id>, holding a Holder as JSON, flocked by its
// writer until Close (the kernel lets go of it when the process ends, SIGKILL
// included). A file that nobody holds is a dead writer's, removed by the next
// writer to come in.
const LockPrefix = store.LockPrefix

// Holder is who holds a lock file.
type Holder struct {
	PID    int       `json:"pid"`
	Host   string    `json:"host"`
	Since  time.Time `json:"since"`
	Role   string    `json:"role"`
	Shared bool      `json:"shared"`
	file   string
}

func (h Holder) String() string {
	return fmt.Sprintf("%s, pid %d on host %s since %s (lock file %s)", h.Role, h.PID, h.Host, h.Since.Format(time.RFC3339), h.file)
}

// excludes tells whether a writer and a live holder may not write one sink
// together: an unsharded run writes alone; shards share only with the other
// shards of their count (one shard twice, or shards of two counts, whose
// videos overlap, are refused like two unsharded runs).
func excludes(w core.Writer, h Holder) bool {
	if !w.Shared || !h.Shared {
		return true
	}
	wi, wn, wok := shardOf(w.Role)
	hi, hn, hok := shardOf(h.Role)
	return wok && hok && (wn != hn || wi == hi)
}

// shardOf reads a shard's role, "shard I/N".
func shardOf(role string) (i, n int, ok bool) {
	_, err := fmt.Sscanf(role, "shard %d/%d", &i, &n)
	return i, n, err == nil
}

// newID names a writer: its pid and a random part, so that its temporaries
// (.vpipe-tmp-<id>-…) tell whose they are.
func newID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%d.%s", os.Getpid(), hex.EncodeToString(b))
}

// admit, called holding lockDir(Root), removes the lock files of dead
// writers, refuses this writer when a live one excludes it, and makes and
// locks this writer's lock file. Nothing else is written before it.
func (s *Store) admit(w core.Writer) error {
	if s.lock != nil {
		return nil
	}
	live, err := s.holders(true)
	if err != nil {
		return err
	}
	for _, h := range live {
		if excludes(w, h) {
			return fmt.Errorf("sink.path %s is being written by another vpipe %s; this %s would delete its files and it yours: wait for it to end or stop it (shards, --shard I/N, and queue workers may share a sink; one shard twice, or shards of different counts, may not)",
				s.Root, h, w.Role)
		}
	}
	host, _ := os.Hostname()
	b, _ := json.Marshal(Holder{PID: os.Getpid(), Host: host, Since: time.Now().UTC().Truncate(time.Second), Role: w.Role, Shared: w.Shared})
	f, err := os.OpenFile(filepath.Join(s.Root, LockPrefix+s.id), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("sink.path: lock file: %w", err)
	}
	if ok, err := tryLock(f, true); err != nil || !ok {
		f.Close()
		os.Remove(f.Name())
		return lockError(f.Name(), ok, err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		s.lock = f
		s.release()
		return fmt.Errorf("sink.path: lock file: %w", err)
	}
	s.lock = f
	return nil
}

// lockError says why this writer's new lock file could not be locked: an
// error, or (ok false) another process that took it first.
func lockError(name string, ok bool, err error) error {
	if err != nil {
		return fmt.Errorf("sink.path: lock %s: %w", name, err)
	}
	return fmt.Errorf("sink.path: lock %s: held by another process", name)
}

// release removes this writer's lock file and lets go of it.
func (s *Store) release() {
	if s.lock == nil {
		return
	}
	_ = os.Remove(s.lock.Name())
	s.lock.Close() // lets go of the flock
	s.lock = nil
}

// holders lists the live writers of the sink other than this one; with
// clean, it removes the lock files of dead ones (only under lockDir(Root)).
func (s *Store) holders(clean bool) ([]Holder, error) {
	entries, err := os.ReadDir(s.Root)
	if err != nil {
		return nil, err
	}
	var live []Holder
	for _, e := range entries {
		id, ok := strings.CutPrefix(e.Name(), LockPrefix)
		if !ok || id == s.id {
			continue
		}
		h, alive, err := s.probe(id, clean)
		if err != nil {
			return nil, err
		}
		if alive {
			live = append(live, h)
		}
	}
	return live, nil
}

// probe tells whether writer id holds its lock file, and who it is; a file
// nobody holds is removed when clean is set.
func (s *Store) probe(id string, clean bool) (Holder, bool, error) {
	p := filepath.Join(s.Root, LockPrefix+id)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if os.IsNotExist(err) {
		return Holder{}, false, nil
	}
	if err != nil {
		return Holder{}, false, fmt.Errorf("sink.path: lock file: %w", err)
	}
	defer f.Close()
	free, err := tryLock(f, false)
	if err != nil {
		return Holder{}, false, fmt.Errorf("sink.path: lock %s: %w", p, err)
	}
	if free {
		if clean {
			_ = os.Remove(p)
		}
		return Holder{}, false, nil
	}
	h := Holder{file: p}
	if b, err := os.ReadFile(p); err != nil || json.Unmarshal(b, &h) != nil {
		h.Role = "writer (lock file being written)"
	}
	return h, true, nil
}

// removeTemps deletes the temporary files in a folder that no live writer
// owns: those of this writer and of writers that hold their lock file stay
// (they are writes in flight).
func (s *Store) removeTemps(dir string) {
	entries, _ := os.ReadDir(dir)
	alive := map[string]bool{}
	for _, e := range entries {
		owner, ok := tempOwner(e.Name())
		if !ok || owner == s.id {
			continue
		}
		if _, seen := alive[owner]; !seen && owner != "" {
			_, a, _ := s.probe(owner, false)
			alive[owner] = a
		}
		if !alive[owner] {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// tempOwner reads the writer id from a temporary's name (.vpipe-tmp-<id>-<random>);
// "" for a temporary of a vpipe that did not name its writer.
func tempOwner(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, TmpPrefix)
	if !ok {
		return "", false
	}
	owner, _, found := strings.Cut(rest, "-")
	if !found {
		return "", true
	}
	return owner, true
}
