package main

import (
	"github.com/spf13/cobra"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/shard"
	"github.com/vpipe/vpipe/stages"
)

// execution is a run being set up by options (--shard, the queue worker's).
type execution struct {
	r *stages.Runner
	// failuresRecorded: failed videos do not fail the command (a queue worker:
	// the queue retries them, and records those it gives up).
	failuresRecorded bool
}

type option func(*execution)

// shardFlag is --shard I/N: only the videos of shard I of N (a stable hash of
// each video's dataset path and name), for N machines sharing one project.
type shardFlag struct {
	value string
	spec  *shard.Spec
	seen  int // videos of the source
	kept  int // of those, in the shard
}

func (f *shardFlag) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.value, "shard", "", "only shard `I/N` of the videos (I from 0 to N-1), by a stable hash of each video's dataset path and name")
}

// check parses the flag, before anything runs.
func (f *shardFlag) check(cmd *cobra.Command) error {
	if !cmd.Flags().Changed("shard") {
		return nil
	}
	s, err := shard.Parse("--shard", f.value)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	f.spec = &s
	return nil
}

// apply makes the runner keep only the shard's videos.
func (f *shardFlag) apply(e *execution) {
	if f.spec == nil {
		return
	}
	e.r.Writer = core.Writer{Role: "shard " + f.spec.String(), Shared: true}
	e.r.Keep = func(it *core.Item) bool {
		f.seen++
		if f.spec.Has(it) {
			f.kept++
			return true
		}
		return false
	}
}
