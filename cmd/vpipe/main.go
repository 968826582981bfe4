// Command vpipe turns videos into image datasets: vpipe run pipeline.yaml.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"

	"github.com/vpipe/vpipe/config"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1 // a video failed, or the config is invalid
	exitUsage       = 2
	exitPartial     = 3   // sampling.on_damage: salvage left frames of a damaged video unwritten (and nothing failed)
	exitInterrupted = 130 // 128 + the signal's number: 130 for SIGINT, 143 for SIGTERM
)

// signalled is the cause of a run's cancellation by a signal.
type signalled struct{ sig os.Signal }

func (s *signalled) Error() string { return s.name() }

func (s *signalled) name() string {
	if s.sig == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT"
}

// code is the shell's code for a death by the signal: 128 + its number.
func (s *signalled) code() int {
	if n, ok := s.sig.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return exitInterrupted
}

// onSignals cancels ctx on the first SIGINT or SIGTERM, so the run stops
// cleanly (every image already written stays complete); a second one exits at
// once with the same code.
func onSignals() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := &signalled{<-ch}
		cancel(s)
		if again, ok := <-ch; ok {
			fmt.Fprintln(os.Stderr, "vpipe: stopped at once")
			os.Exit((&signalled{again}).code())
		}
	}()
	return ctx, func() { signal.Stop(ch); cancel(nil) }
}

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

// goMaxProcs gives Go one P more than the cores (config.Cores: GOMAXPROCS as
// the runtime chose it, which follows a container's CPU limit; the stage pools
// are sized from it, not from this): a goroutine in a long cgo call
// (the decoder waiting for its frame threads, swscale) keeps its P until the
// runtime's monitor takes it back, which with GOMAXPROCS = cores left the
// encoders short of a P. Measured on 2 cores, 1080p camera-like clip: CPU use
// 92 % -> 155 % on full-size PNG, 110 % -> 185 % on 640x360. GOMAXPROCS in
// the environment wins.
func goMaxProcs() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(config.Cores() + 1)
	}
}

func main() {
	goMaxProcs()
	ctx, stop := onSignals()
	defer stop()
	if p := os.Getenv("VPIPE_CPUPROFILE"); p != "" { // for profiling a run by hand
		if f, err := os.Create(p); err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	root := newRoot()
	err := root.ExecuteContext(ctx)
	pprof.StopCPUProfile()
	if err == nil {
		return
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(os.Stderr, "vpipe:", ee.err)
		}
		os.Exit(ee.code)
	}
	fmt.Fprintln(os.Stderr, "vpipe:", err)
	os.Exit(exitUsage)
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "vpipe",
		Short:         "Turn videos into image datasets, frame-exact",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(runCmd(), validateCmd(), planCmd(), framesCmd(), versionCmd(), enqueueCmd(), workerCmd(), queueCmd(), verifyCmd(), previewCmd())
	return root
}
