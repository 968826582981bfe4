package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vpipe/vpipe/config"
	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/store"
	"github.com/vpipe/vpipe/verify"
)

// verifyFlags are vpipe verify's settings.
type verifyFlags struct {
	config string
	sets   []string
	sample int
	seed   uint64
	report string
	// crossBuild compares lossy images within the cross-build floors
	// instead of exactly.
	crossBuild bool
}

func verifyCmd() *cobra.Command {
	var vf verifyFlags
	cmd := &cobra.Command{
		Use:   "verify DATASET",
		Short: "Re-derive a dataset's images from their videos and compare (exit 1 on any mismatch)",
		Args:  cobra.ExactArgs(1),
		Example: `  vpipe verify out --config pipeline.yaml                       # every image of ./out
  vpipe verify out --sample 100 --seed 7 --report verify.json     # 100 images drawn with seed 7
  vpipe verify s3://datasets/traffic --config pipeline.yaml --set sink.type=s3 --set sink.url=s3://datasets/traffic --set sink.endpoint=http://127.0.0.1:7070`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := vf.check(cmd); err != nil {
				return err
			}
			res, err := vf.run(cmd.Context(), cmd, args[0])
			if errors.Is(err, context.Canceled) {
				return &exitError{code: exitInterrupted, err: errors.New("interrupted: nothing was verified")}
			}
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			printVerify(cmd.OutOrStdout(), res, vf)
			if vf.report != "" {
				if err := res.WriteReport(vf.report); err != nil {
					return &exitError{code: exitFailed, err: err}
				}
			}
			if !res.OK() {
				return &exitError{code: exitFailed, err: errors.New("")} // the lines above say it
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&vf.config, "config", "pipeline.yaml", "the pipeline config that wrote the dataset")
	f.StringArrayVar(&vf.sets, "set", nil, "override a key of the config, as the run did: --set sampling.step=5 (repeatable)")
	f.IntVar(&vf.sample, "sample", 0, "check `N` images drawn at random (0: every image)")
	f.Uint64Var(&vf.seed, "seed", 0, "the sample's seed (default: a new one, printed so the sample can be drawn again)")
	f.StringVar(&vf.report, "report", "", "write every mismatch as JSON to `FILE`")
	f.BoolVar(&vf.crossBuild, "cross-build", false, "for a dataset written by another build of libjpeg-turbo or libwebp: JPEG and lossy WebP images match within a PSNR floor (frame and every 8x8 block) instead of exactly")
	return cmd
}

// check refuses bad flags before anything is read, and draws a seed when
// --sample has none.
func (vf *verifyFlags) check(cmd *cobra.Command) error {
	if vf.sample < 0 {
		return &exitError{code: exitUsage, err: fmt.Errorf("--sample %d: want a number of images, or 0 for all", vf.sample)}
	}
	if vf.report != "" {
		if fi, err := os.Stat(filepath.Dir(vf.report)); err != nil || !fi.IsDir() {
			return &exitError{code: exitUsage, err: fmt.Errorf("--report %s: no folder %s", vf.report, filepath.Dir(vf.report))}
		}
	}
	if vf.sample > 0 && !cmd.Flags().Changed("seed") {
		vf.seed = rand.Uint64() % 1_000_000 // short enough to type back
	}
	return nil
}

// run loads the config, opens the dataset and verifies it.
func (vf *verifyFlags) run(ctx context.Context, cmd *cobra.Command, dataset string) (*verify.Result, error) {
	c, err := config.Load(vf.config, vf.sets, os.Environ())
	if err != nil {
		return nil, err
	}
	log := stderrLog(cmd)
	src, _, err := backends(c, log) // the config's sink is not used: the dataset is read
	if err != nil {
		return nil, config.AsProblems(vf.config, err)
	}
	st, err := datasetStore(ctx, dataset, c)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return verify.Run(ctx, verify.Options{Config: c, Source: src, Dataset: st, Sample: vf.sample, Seed: vf.seed, CrossBuild: vf.crossBuild, Log: log})
}

// datasetStore is where DATASET is: a folder, or a store's URL
// (s3://bucket/prefix, …), reached with the settings of the config's sink of
// that location when it has one (its endpoint, region, timeouts).
func datasetStore(ctx context.Context, dataset string, c *config.Config) (store.Store, error) {
	if !strings.Contains(dataset, "://") {
		if fi, err := os.Stat(dataset); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("DATASET %s: not a folder (or a store's URL, e.g. s3://bucket/prefix)", dataset)
		}
	}
	var configured []registry.Configured
	for i, sc := range c.SinkList() {
		prefix := "sink"
		if len(c.Sinks) > 0 {
			prefix = fmt.Sprintf("sinks[%d]", i)
		}
		configured = append(configured, registry.Configured{Type: sc.Type, Conf: sc.Conf, Prefix: prefix})
	}
	st, err := registry.OpenStore(ctx, dataset, configured, registry.Deps{})
	if err != nil {
		return nil, fmt.Errorf("DATASET %s: %w", dataset, err)
	}
	return st, nil
}

// printVerify prints one line a mismatch, then what was checked.
func printVerify(w io.Writer, res *verify.Result, vf verifyFlags) {
	for _, m := range res.Mismatches {
		fmt.Fprintln(w, m)
	}
	how := ""
	if vf.sample > 0 {
		how = fmt.Sprintf(" (a sample, --seed %d)", vf.seed)
	}
	lossy := ""
	if res.Lossy > 0 && res.LowestPSNR > 0 {
		lossy = fmt.Sprintf("; lossy images: lowest PSNR %.1f dB (--cross-build floors: %g dB a frame, %g dB an 8x8 block)", res.LowestPSNR, verify.LossyFloor, verify.BlockFloor)
	} else if res.Lossy > 0 {
		lossy = "; lossy images: every one exact"
	}
	n := fmt.Sprintf("%d mismatches", len(res.Mismatches))
	if len(res.Mismatches) == 1 {
		n = "1 mismatch"
	}
	fmt.Fprintf(w, "checked %d of %d images of %s%s: %s (%d images re-derived)%s\n",
		res.Checked, res.Images, res.Dataset, how, n, res.Rederived, lossy)
}
