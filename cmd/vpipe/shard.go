package main

import (
	"github.com/spf13/cobra"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/shard"
	"github.com/vpipe/vpipe/stages"
)

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
func (f *shardFlag) apply(r *stages.Runner) {
	if f.spec == nil {
		return
	}
	r.Keep = func(it *core.Item) bool {
		f.seen++
		if f.spec.Has(it) {
			f.kept++
			return true
		}
		return false
	}
}
