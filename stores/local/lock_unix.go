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

// tryLock takes a flock on f without waiting (exclusive, or shared: a probe
// that does not stop another probe): false when another open file holds it.
// A shared probe that gets the lock lets go of it at once.
func tryLock(f *os.File, exclusive bool) (bool, error) {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		switch err {
		case nil:
			if !exclusive {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
			}
			return true, nil
		case syscall.EWOULDBLOCK:
			return false, nil
		case syscall.EINTR:
			continue
		}
		return false, err
	}
}
