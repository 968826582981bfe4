package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	_ "github.com/vpipe/vpipe/backends/all" // every source, sink and store, registered
	"github.com/vpipe/vpipe/config"
	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/localpath"
	"github.com/vpipe/vpipe/media"
	"github.com/vpipe/vpipe/metrics"
	"github.com/vpipe/vpipe/progress"
	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/sinks/fanout"
	localsink "github.com/vpipe/vpipe/sinks/local" // names a backend: vpipe frames writes its bare folder (Flat), whatever a config says
	"github.com/vpipe/vpipe/stages"
)

func configArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return "pipeline.yaml"
}

func load(path string, sets []string) (*config.Config, error) {
	c, err := config.Load(path, sets, os.Environ())
	if err != nil {
		return nil, &exitError{code: exitFailed, err: err}
	}
	return c, nil
}

// backends builds the configured source and sink through the registry;
// log gets their clients' lines (nil: nowhere). Backends that share a client
// (a platform's source and sinks) get one per run.
func backends(c *config.Config, log *slog.Logger) (core.Source, core.Sink, error) {
	ctx := context.Background()
	d := registry.Deps{Log: log, Section: c.Section, Shared: shared(), Prefix: "source"}
	spec, ok := registry.Lookup(registry.Source, c.Source.Type)
	if !ok {
		return nil, nil, fmt.Errorf("source.type: unknown %q", c.Source.Type)
	}
	src, err := registry.NewSource(ctx, spec, c.Source.Conf, d)
	if err != nil {
		return nil, nil, fmt.Errorf("source: %w", err)
	}
	d.Source = src
	if len(c.Sinks) == 0 {
		sink, err := newSink(ctx, c, "sink", c.Sink, d)
		if err != nil {
			return nil, nil, err
		}
		return src, sink, nil
	}
	var sinks []core.Sink
	for i, sc := range c.Sinks {
		sink, err := newSink(ctx, c, fmt.Sprintf("sinks[%d]", i), sc, d)
		if err != nil {
			return nil, nil, err
		}
		sinks = append(sinks, sink)
	}
	o := fanout.Options{Workers: c.Stages.Write.Workers, NoAnnotate: !c.Sampling.CopyAnnotations}
	return src, fanout.NewWith(o, sinks...), nil
}

// newSink builds the sink of the config's section key ("sink", "sinks[1]"),
// refusing one inside the source.
func newSink(ctx context.Context, c *config.Config, key string, sc config.Backend, d registry.Deps) (core.Sink, error) {
	spec, ok := registry.Lookup(registry.Sink, sc.Type)
	if !ok {
		return nil, fmt.Errorf("%s.type: unknown %q", key, sc.Type)
	}
	if err := apart(c, key, spec, sc); err != nil {
		return nil, err
	}
	d.Prefix = key // its messages name its own keys: sinks[1].url
	sink, err := registry.NewSink(ctx, spec, sc.Conf, sc.Output, d)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return sink, nil
}

// apart refuses a sink on this machine that is, holds or lies inside a source
// on this machine (both backends say which path they use).
func apart(c *config.Config, key string, spec registry.Spec, sc config.Backend) error {
	src, _ := registry.Lookup(registry.Source, c.Source.Type)
	if src.LocalPath == nil || spec.LocalPath == nil {
		return nil
	}
	srcKey, srcPath := src.LocalPath(c.Source.Conf)
	sinkKey, sinkPath := spec.LocalPath(sc.Conf)
	if srcPath == "" || sinkPath == "" {
		return nil
	}
	return localpath.Apart(key+"."+sinkKey, sinkPath, "source."+srcKey, srcPath)
}

// shared gives a run's backends one value per key (registry.Deps.Shared),
// made by the first that asks.
func shared() func(string, func() (any, error)) (any, error) {
	var mu sync.Mutex
	made := map[string]any{}
	return func(key string, mk func() (any, error)) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		if v, ok := made[key]; ok {
			return v, nil
		}
		v, err := mk()
		if err != nil {
			return nil, err
		}
		made[key] = v
		return v, nil
	}
}

// setup loads the config and builds its source and sink; log gets the
// backends' clients' lines (a server they reach, each retried call).
func setup(path string, sets []string, log *slog.Logger) (*config.Config, core.Source, core.Sink, error) {
	c, err := load(path, sets)
	if err != nil {
		return nil, nil, nil, err
	}
	src, sink, err := backends(c, log)
	if err != nil {
		return nil, nil, nil, &exitError{code: exitFailed, err: config.AsProblems(path, err)}
	}
	return c, src, sink, nil
}

// stderrLog is the log of a command without a run's reporter.
func stderrLog(cmd *cobra.Command) *slog.Logger {
	return slog.New(progress.Handler(cmd.ErrOrStderr(), false))
}

func isTTY(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

func runCmd() *cobra.Command {
	var sets []string
	var lf logFlags
	var sf shardFlag
	cmd := &cobra.Command{
		Use:   "run [CONFIG]",
		Short: "Run a pipeline (default pipeline.yaml)",
		Args:  cobra.MaximumNArgs(1),
		Example: `  vpipe run                                    # pipeline.yaml: the bundled videos into ./out
  vpipe run pipeline.yaml --set sampling.step=10 --set sampling.resize.width=160 --set sink.path=small
  vpipe run big.yaml --shard 0/4 --log-file run.log --report report.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := lf.check(); err != nil {
				return err
			}
			if err := sf.check(cmd); err != nil {
				return err
			}
			rl, err := startLog(cmd.ErrOrStderr(), lf)
			if err != nil {
				return err
			}
			c, src, sink, err := setup(configArg(args), sets, rl.rep.Log())
			if err != nil {
				rl.end()
				return err
			}
			return executeWith(cmd.Context(), rl, c, src, holdForTest(sink), nil, cmd.ErrOrStderr(), lf, sf.apply)
		},
	}
	cmd.Flags().StringArrayVar(&sets, "set", nil, "override a key: --set sampling.step=5 (repeatable)")
	lf.add(cmd)
	sf.add(cmd)
	return cmd
}

// logFlags say where a run's log lines go and how they look.
type logFlags struct {
	format   string
	file     string
	interval time.Duration
	obs      obsFlags // --metrics, --report, --stages
}

func (l *logFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&l.format, "log-format", "text", "log lines as text (logfmt) or json")
	f.StringVar(&l.file, "log-file", "", "also append every log line (progress lines included) to `PATH`")
	f.DurationVar(&l.interval, "progress-interval", progress.DefaultInterval,
		"how often each video's progress and the run's totals (videos done, frames written, frames/s, elapsed) are logged when not drawn as bars (and in --log-file)")
	l.obs.add(cmd)
}

// check reports a bad flag value, before anything runs.
func (l logFlags) check() error {
	if l.format != "text" && l.format != "json" {
		return &exitError{code: exitUsage, err: fmt.Errorf("--log-format %q: want text or json", l.format)}
	}
	if l.interval <= 0 {
		return &exitError{code: exitUsage, err: fmt.Errorf("--progress-interval %s: want a positive duration, e.g. 10s", l.interval)}
	}
	return l.obs.check()
}

// runLog is a run's reporter and, with --log-file, that file's logger.
type runLog struct {
	once    sync.Once
	rep     progress.Reporter
	file    *os.File
	fileLog *slog.Logger
}

// startLog makes a run's reporter: log lines go to out (above the bars on a
// terminal) and, with --log-file, to that file. It exists before the source
// and sink are made, so that their clients log to it from the start.
func startLog(out io.Writer, lf logFlags) (*runLog, error) {
	tty := false
	if f, ok := out.(*os.File); ok {
		tty = isTTY(f)
	}
	opts := progress.Options{Out: out, TTY: tty, JSON: lf.format == "json", Interval: lf.interval}
	rl := &runLog{}
	if lf.file != "" {
		f, err := os.OpenFile(lf.file, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, &exitError{code: exitFailed, err: fmt.Errorf("--log-file: %w", err)}
		}
		opts.File = f
		rl.file, rl.fileLog = f, slog.New(progress.Handler(f, opts.JSON))
	}
	rl.rep = progress.Start(opts)
	return rl, nil
}

// close stops the reporter (once; later calls do nothing).
func (rl *runLog) close() { rl.once.Do(rl.rep.Close) }

// end stops the reporter and closes the log file, after the summary.
func (rl *runLog) end() {
	rl.close()
	if rl.file != nil {
		rl.file.Close()
	}
}

// execute runs the pipeline with a reporter and prints the summary (see
// startLog).
func execute(ctx context.Context, c *config.Config, src core.Source, sink core.Sink,
	name func(string, int, int) string, out io.Writer, lf logFlags, with ...option) error {
	rl, err := startLog(out, lf)
	if err != nil {
		return err
	}
	return executeWith(ctx, rl, c, src, sink, name, out, lf, with...)
}

// executeWith is execute with a reporter already started; it closes it.
func executeWith(ctx context.Context, rl *runLog, c *config.Config, src core.Source, sink core.Sink,
	name func(string, int, int) string, out io.Writer, lf logFlags, with ...option) error {
	defer rl.end()
	rep, fileLog := rl.rep, rl.fileLog
	log := rep.Log()
	log.Info("run", "source", src.Describe(), "sink", sink.Describe())
	set := &metrics.Set{}
	stopMetrics, err := lf.obs.serve(set, log)
	if err != nil {
		rl.close()
		return err
	}
	defer stopMetrics()
	r := &stages.Runner{Config: c, Source: src, Sink: sink, Reporter: rep, Log: log, Name: name, Metrics: set}
	e := &execution{r: r}
	for _, w := range with {
		w(e)
	}
	sum, err := r.Run(ctx)
	rl.close() // the bars stop before the summary
	err = tellSummary(out, fileLog, lf, sum, err)
	return exitFor(ctx, sum, err, e.failuresRecorded)
}

// tellSummary prints the run's summary, writes --report and --log-file's
// summary; it returns the run's error, or else the report's.
func tellSummary(out io.Writer, fileLog *slog.Logger, lf logFlags, sum stages.Summary, err error) error {
	if sum.Started { // a run refused at start-up has only its error to say
		printSummary(out, sum)
		if lf.obs.stages {
			printStages(out, sum)
		}
	}
	if lf.obs.report != "" {
		if rerr := writeReport(lf.obs.report, sum, err); rerr != nil {
			if err != nil { // the run's error is the one returned
				fmt.Fprintln(out, "vpipe:", rerr)
			} else {
				err = rerr
			}
		}
	}
	if fileLog != nil { // the terminal has the summary; the file gets it as a line
		fileSummary(fileLog, sum, err)
	}
	return err
}

// exitFor is the exit status of a run that ended with sum and err;
// failuresRecorded: failed videos do not fail the command (a queue worker).
func exitFor(ctx context.Context, sum stages.Summary, err error, failuresRecorded bool) error {
	switch {
	case errors.Is(err, context.Canceled):
		code, why := exitInterrupted, "interrupted"
		var sig *signalled
		if errors.As(context.Cause(ctx), &sig) {
			code, why = sig.code(), "interrupted ("+sig.name()+")"
		}
		why += ": every image written so far is complete; run again to resume"
		var ce *stages.CloseError
		if errors.As(err, &ce) { // a sink's Close failed, after the interruption
			why += "; " + ce.Error()
		}
		return &exitError{code: code, err: errors.New(why)}
	case err != nil:
		return &exitError{code: exitFailed, err: err}
	case sum.VideosFailed > 0 && !failuresRecorded:
		return &exitError{code: exitFailed, err: fmt.Errorf("%d video(s) failed", sum.VideosFailed)}
	case sum.VideosPartial > 0:
		return &exitError{code: exitPartial, err: fmt.Errorf("%d damaged video(s) salvaged in part: the frames listed could not be written", sum.VideosPartial)}
	}
	return nil
}

// leftOut is the number of labels the sinks left out.
func leftOut(s stages.Summary) int {
	n := 0
	for _, l := range s.LeftOut {
		n += l.Count
	}
	return n
}

// fileSummary is the summary as log lines, for --log-file (the terminal has
// it printed): the stages' counters and "run done", unless the run was
// refused at start-up; then how the run ended.
func fileSummary(fileLog *slog.Logger, sum stages.Summary, err error) {
	if sum.Started {
		logStages(fileLog, sum)
		done := []any{"videos_ok", sum.VideosOK, "videos_failed", sum.VideosFailed, "written", sum.Written,
			"skipped", sum.Skipped, "dropped", sum.Dropped, "elapsed", sum.Elapsed.Round(time.Millisecond).String(), "fps", float64(int(sum.FPS()*10+0.5)) / 10,
			"bottleneck", sum.Bottleneck}
		if sum.VideosPartial > 0 {
			done = append(done, "videos_partial", sum.VideosPartial)
		}
		if sum.NotRolledBack > 0 {
			done = append(done, "not_rolled_back", sum.NotRolledBack)
		}
		if n := leftOut(sum); n > 0 {
			done = append(done, "labels_left_out", n)
		}
		fileLog.Info("run done", done...)
	}
	switch {
	case errors.Is(err, context.Canceled):
		fileLog.Warn("run interrupted")
	case err != nil:
		fileLog.Error("run stopped", "err", err)
	}
}

func printSummary(w io.Writer, s stages.Summary) {
	stopped := ""
	if s.VideosInterrupted > 0 || s.VideosNotStarted > 0 {
		stopped = fmt.Sprintf(", %d interrupted", s.VideosInterrupted)
	}
	if s.VideosNotStarted > 0 {
		stopped += fmt.Sprintf(", %d not started", s.VideosNotStarted)
	}
	partial := ""
	if s.VideosPartial > 0 {
		partial = fmt.Sprintf(", %d partial", s.VideosPartial)
	}
	dropped := ""
	if s.Dropped > 0 {
		dropped = fmt.Sprintf(", %d dropped (scene_threshold/dedup)", s.Dropped)
	}
	fmt.Fprintf(w, "videos: %d ok, %d failed%s%s; frames: %d written, %d skipped (already there)%s; %s, %.1f frames/s\n",
		s.VideosOK, s.VideosFailed, partial, stopped, s.Written, s.Skipped, dropped, s.Elapsed.Round(1e6), s.FPS())
	heldBack(w, s)
	if s.NotRolledBack > 0 {
		fmt.Fprintf(w, "  %d image(s) of failed videos may be left in the sink: their roll-back failed (see FAILED); "+
			"a re-run skips them and completes those videos, or remove them\n", s.NotRolledBack)
	}
	for _, f := range s.Failures {
		fmt.Fprintf(w, "  FAILED %s: %v\n", f.Video, f.Err)
	}
	for _, l := range s.LeftOut {
		why := "the format cannot carry them"
		if l.Why != "" {
			why = l.Why
		}
		fmt.Fprintf(w, "  LEFT OUT %d label(s) of class %s (%s) in %s: %s\n", l.Count, l.Class, l.Geometry, l.Sink, why)
	}
	for _, p := range s.Partial {
		if len(p.Missing) == 0 { // a damaged file of unknown length: only frames past what it holds
			fmt.Fprintf(w, "  PARTIAL %s: no listed frame missing, later ones may be (damaged: %s)\n", p.Video, p.Damage)
			continue
		}
		fmt.Fprintf(w, "  PARTIAL %s: %d frame(s) not written: %s (damaged: %s)\n", p.Video, len(p.Missing), p.Ranges(), p.Damage)
	}
}

func validateCmd() *cobra.Command {
	var sets []string
	cmd := &cobra.Command{
		Use:   "validate CONFIG",
		Short: "Check a config and list every problem",
		Args:  cobra.ExactArgs(1),
		Example: `  vpipe validate pipeline.yaml
  VPIPE_SINK_PATH=/data/out vpipe validate pipeline.yaml --set sampling.fps=2   # with the environment and --set`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := config.Load(args[0], sets, os.Environ())
			if err != nil {
				fmt.Fprintln(cmd.OutOrStdout(), err)
				return &exitError{code: exitFailed, err: errors.New("")}
			}
			src, sink, err := backends(c, stderrLog(cmd))
			if err == nil { // what run and plan refuse before any video
				err = (&stages.Runner{Config: c, Source: src, Sink: sink}).Check(cmd.Context())
			}
			if err != nil {
				fmt.Fprintln(cmd.OutOrStdout(), config.AsProblems(args[0], err))
				return &exitError{code: exitFailed, err: errors.New("")}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: OK\n", args[0])
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&sets, "set", nil, "override a key: --set sampling.step=5 (repeatable)")
	return cmd
}

func planCmd() *cobra.Command {
	var sets []string
	var sf shardFlag
	cmd := &cobra.Command{
		Use:   "plan [CONFIG]",
		Short: "Show what a run would write, without writing",
		Args:  cobra.MaximumNArgs(1),
		Example: `  vpipe plan pipeline.yaml --set sampling.fps=1 --set sampling.step=1
  vpipe plan pipeline.yaml --shard 0/2                # the videos of shard 0 of 2`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := sf.check(cmd); err != nil {
				return err
			}
			c, src, sink, err := setup(configArg(args), sets, stderrLog(cmd))
			if err != nil {
				return err
			}
			r := &stages.Runner{Config: c, Source: src, Sink: sink}
			sf.apply(&execution{r: r})
			failed, err := printPlan(cmd.Context(), cmd.OutOrStdout(), c, sink, r)
			if sf.spec != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "shard %s: %d of the source's %d videos\n", sf.spec, sf.kept, sf.seen)
			}
			for _, k := range r.UnmatchedFrames() {
				fmt.Fprintf(cmd.OutOrStdout(), "frames_file entry matches no video (keys are a video name or dataset/…/name): %q\n", k)
			}
			if err != nil { // run would stop before writing anything
				return &exitError{code: exitFailed, err: fmt.Errorf("run would stop before writing: %w", err)}
			}
			if failed > 0 {
				return &exitError{code: exitFailed, err: fmt.Errorf("%d video(s) would fail", failed)}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&sets, "set", nil, "override a key: --set sampling.step=5 (repeatable)")
	sf.add(cmd)
	return cmd
}

// printPlan prints the plan's table, a row a video and the total; failed
// counts the videos that would fail, err what would stop the run.
func printPlan(ctx context.Context, out io.Writer, c *config.Config, sink core.Sink, r *stages.Runner) (failed int, err error) {
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	perSink := ""
	if len(c.Sinks) > 0 {
		for i, sc := range c.Sinks {
			perSink += fmt.Sprintf("\tIN SINK %d (%s)", i+1, sc.Type)
		}
		for i, k := range sink.Features().Members {
			fmt.Fprintf(out, "sink %d: %s\n", i+1, k.Describe())
		}
	}
	rules := ""
	if usesSelectionRules(c.Sampling) { // what each rule leaves, when more than start/end/step choose
		rules = "\tRULES"
	}
	splits := ""
	if sink.Features().Plan != nil { // a sink splits videos: each one's split
		splits = "\tSPLIT"
	}
	fmt.Fprintln(tw, "VIDEO\tFRAMES\tSELECTED\tALREADY THERE\tTO WRITE\tSIZE"+perSink+rules+splits)
	var videos, frames, sel, ex int
	err = r.Plan(ctx, func(row stages.PlanRow) {
		videos++
		if row.Err != nil {
			failed++
			fmt.Fprintf(tw, "%s\tERROR: %v\n", row.Video, row.Err)
			return
		}
		frames += row.Frames
		sel += row.Selected
		ex += row.Existing
		each := ""
		for _, n := range row.PerSink {
			each += fmt.Sprintf("\t%d", n)
		}
		if rules != "" {
			each += "\t" + row.Rules
		}
		if splits != "" {
			each += "\t" + row.Split
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%dx%d%s\n", row.Video, row.Frames, row.Selected, row.Existing, row.Selected-row.Existing, row.Width, row.Height, each)
	})
	fmt.Fprintf(tw, "TOTAL (%d videos)\t%d\t%d\t%d\t%d\t\n", videos, frames, sel, ex, sel-ex)
	tw.Flush()
	return failed, err
}

// framesFlags are vpipe frames' settings.
type framesFlags struct {
	outDir           string
	start, end, step int
	resize, filter   string
	compression      int
	format           string
	quality          int
	lossless         bool
	noAutorotate     bool
	overwrite        bool
	onDamage         string
	lf               logFlags
	sel              selectFlags
}

func framesCmd() *cobra.Command {
	var ff framesFlags
	cmd := &cobra.Command{
		Use:   "frames VIDEO -o DIR",
		Short: "Write one video's frames to DIR/frame_<index:06d>.png (or .jpg, .webp)",
		Args:  cobra.ExactArgs(1),
		Example: `  vpipe frames testdata/videos/traffic.mp4 -o frames --step 10
  vpipe frames testdata/videos/traffic.mp4 -o thumbs --fps 1 --resize 160x0 --format jpeg --quality 85`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if ff.outDir == "" {
				return errors.New("-o DIR is required")
			}
			if err := ff.lf.check(); err != nil {
				return err
			}
			c, err := ff.config(cmd, args[0])
			if err != nil {
				return err
			}
			st, err := os.Stat(args[0])
			if err == nil && st.IsDir() {
				return fmt.Errorf("%s is a folder; vpipe frames takes one video (use vpipe run for folders)", args[0])
			}
			rec, err := framesRecord(c, args[0])
			if err != nil {
				return err
			}
			ext := c.Stages.Encode.Options().Ext()
			src := &single{path: args[0]}
			return execute(cmd.Context(), c, src, holdForTest(&localsink.Flat{Dir: ff.outDir, Record: rec, Overwrite: ff.overwrite}),
				func(_ string, i, _ int) string { return localsink.FrameName(i, ext) }, cmd.ErrOrStderr(), ff.lf)
		},
	}
	ff.add(cmd)
	return cmd
}

// config is the run vpipe frames makes of video: a local source and sink,
// the flags' sampling and encoding, the default stages. vpipe frames is the
// one command that names backends: it reads one local video into one local
// folder, whatever a config would say (its sink is sinks/local's Flat; the
// config's are checked as a run's).
func (ff *framesFlags) config(cmd *cobra.Command, video string) (*config.Config, error) {
	c := &config.Config{}
	var err error
	if c.Source, err = config.NewBackend(registry.Source, "local", map[string]any{"path": video}); err != nil { // names a backend: vpipe frames
		return nil, err
	}
	if c.Sink, err = config.NewBackend(registry.Sink, "local", map[string]any{"path": ff.outDir}); err != nil { // names a backend: vpipe frames
		return nil, err
	}
	c.Sampling = config.Sampling{Start: ff.start, Step: ff.step, Autorotate: !ff.noAutorotate,
		Resize: config.Resize{Filter: ff.filter}, OnDamage: ff.onDamage}
	if cmd.Flags().Changed("end") {
		c.Sampling.End = &ff.end
	}
	ff.sel.apply(cmd, &c.Sampling)
	if ff.resize != "" {
		if _, err := fmt.Sscanf(strings.ToLower(ff.resize), "%dx%d", &c.Sampling.Resize.Width, &c.Sampling.Resize.Height); err != nil {
			return nil, fmt.Errorf("--resize %q: want WxH, e.g. 640x360 or 640x0", ff.resize)
		}
	}
	d := config.Defaults()
	n, q := d["stages.encode.workers"].(int), d["stages.write.queue"].(int)
	fq := func(stage string) int { return d["stages."+stage+".queue"].(int) }
	c.Stages = config.Stages{
		Decode: config.Decode{Workers: 1, Queue: fq("decode")},
		Resize: config.Pool{Workers: d["stages.resize.workers"].(int), Queue: fq("resize")},
		Encode: config.Encode{Workers: n, Queue: fq("encode"), Compression: ff.compression, Format: ff.format, Quality: ff.quality, Lossless: ff.lossless},
		Write:  config.Pool{Workers: 2, Queue: q},
		// unused by frames (a local sink), but checked like every stage
		Batch: config.Batch{BatchSize: 50, Queue: 2}, Upload: config.Pool{Workers: 2, Queue: 2}, Annotate: config.Pool{Workers: 1, Queue: 2},
	}
	if err := config.Check(c); err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	return c, nil
}

// framesRecord is what decides the pixels of frame_<i>.png: a folder made
// otherwise is refused (or, with --overwrite, cleared) rather than half-kept.
func framesRecord(c *config.Config, video string) (*localsink.FramesRecord, error) {
	id := localsink.URLVideo(media.Redact(video))
	if !strings.Contains(video, "://") {
		var err error
		if id, err = localsink.IdentifyVideo(video); err != nil {
			return nil, &exitError{code: exitFailed, err: err}
		}
	}
	rec := &localsink.FramesRecord{Video: id, Output: map[string]any{
		"resize":     fmt.Sprintf("%dx%d", c.Sampling.Resize.Width, c.Sampling.Resize.Height),
		"filter":     c.Sampling.Resize.Filter,
		"autorotate": c.Sampling.Autorotate,
	}}
	for k, v := range stages.OutputFormat(c.Stages.Encode.Options()) {
		rec.Output[k] = v
	}
	return rec, nil
}

// add declares vpipe frames' flags.
func (ff *framesFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&ff.outDir, "out", "o", "", "output folder")
	f.IntVar(&ff.start, "start", 0, "first frame index (inclusive)")
	f.IntVar(&ff.end, "end", 0, "last frame index (exclusive); default: to the end")
	f.IntVar(&ff.step, "step", 1, "take every step-th frame")
	f.StringVar(&ff.resize, "resize", "", "output WxH; 0 on one side keeps the aspect ratio")
	f.StringVar(&ff.filter, "filter", "bicubic", "resize filter: "+strings.Join(media.ScaleFilters(), ", "))
	f.IntVar(&ff.compression, "compression", 1, "PNG zlib level 0-9")
	f.StringVar(&ff.format, "format", "png", "image format: png, jpeg, webp")
	f.IntVar(&ff.quality, "quality", 0, "jpeg and lossy webp quality 1-100 (default 90)")
	f.BoolVar(&ff.lossless, "lossless", false, "lossless webp")
	f.BoolVar(&ff.noAutorotate, "no-autorotate", false, "keep the stored orientation (ignore the display matrix)")
	f.BoolVar(&ff.overwrite, "overwrite", false, "replace frames DIR holds from another video or other settings")
	f.StringVar(&ff.onDamage, "on-damage", "fail", "a damaged video: fail (write nothing) or salvage (write the frames that decode cleanly, list the rest)")
	ff.sel.add(cmd)
	ff.lf.add(cmd)
}

// single is a source of exactly one video, whatever its extension.
type single struct{ path string }

func (s *single) Describe() string { return s.path }
func (s *single) Project(context.Context) (*core.Project, error) {
	return &core.Project{}, nil
}
func (s *single) Items(_ context.Context, emit func(*core.Item) error) error {
	return emit(&core.Item{Name: baseName(s.path), Dataset: []string{"frames"}, Open: s.path})
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, "/\\"); i >= 0 {
		return p[i+1:]
	}
	return p
}
