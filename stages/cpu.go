package stages

import (
	"syscall"
	"time"
)

// processCPU is the CPU time the process has used so far (user + system): a
// run's own is the difference across it (Summary.CPU).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
