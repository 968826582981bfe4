//go:build unix

package local

import (
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive flock on a folder, waiting for other processes
// (other shards) that hold it. The kernel lets go of it when the process
// ends, SIGKILL included, so a dead writer never leaves it taken; and no lock
// file is left in the project.
func lockDir(dir string) (unlock func(), err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
