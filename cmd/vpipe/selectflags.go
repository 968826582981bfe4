package main

import (
	"github.com/spf13/cobra"

	"github.com/vpipe/vpipe/config"
)

// selectFlags are vpipe frames' flags for the sampling rules beyond
// --start/--end/--step (README, "Which frames").
type selectFlags struct {
	fps, maxFPS float64
	frames      []int
	times       []string
	keyframes   bool
	scene       float64
	dedup       int
}

func (s *selectFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.Float64Var(&s.fps, "fps", 0, "frames displayed at 0, 1/F, 2/F, … seconds (VFR-safe; like the CLI's fps=F:round=up)")
	f.Float64Var(&s.maxFPS, "max-fps", 0, "every frame, or as --fps F when the video's mean rate is more than 0.1 % above F")
	f.IntSliceVar(&s.frames, "frames", nil, "only these frame indices, e.g. --frames 0,25,300")
	f.StringSliceVar(&s.times, "times", nil, "the frames displayed at these times, seconds or HH:MM:SS.mmm, e.g. --times 1.5,00:01:12.000")
	f.BoolVar(&s.keyframes, "keyframes", false, "only keyframes (decodes nothing else, like -skip_frame nokey)")
	f.Float64Var(&s.scene, "scene", 0, "keep a frame only when it differs from the last kept one by more than X (0-1)")
	f.IntVar(&s.dedup, "dedup", 0, "drop a frame whose 64-bit dHash is within D bits of the last kept one's (0-63)")
}

// apply sets the rules given on the command line; config.Check then checks
// their ranges and conflicts as vpipe validate does.
func (s *selectFlags) apply(cmd *cobra.Command, c *config.Sampling) {
	c.FPS, c.MaxFPS, c.Frames, c.Times, c.KeyframesOnly, c.SceneThreshold = s.fps, s.maxFPS, s.frames, s.times, s.keyframes, s.scene
	if cmd.Flags().Changed("dedup") {
		d := s.dedup
		c.Dedup.Distance = &d
	}
}

// usesSelectionRules tells whether frames are chosen by more than
// start/end/step: then vpipe plan shows what each rule leaves.
func usesSelectionRules(s config.Sampling) bool {
	return s.FPS > 0 || s.MaxFPS > 0 || len(s.Frames) > 0 || len(s.Times) > 0 || s.FramesFile != "" || s.KeyframesOnly ||
		s.SceneThreshold > 0 || s.Dedup.Distance != nil
}
