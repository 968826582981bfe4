package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vpipe/vpipe/config"
	"github.com/vpipe/vpipe/metrics"
	"github.com/vpipe/vpipe/metrics/prom"
	"github.com/vpipe/vpipe/stages"
)

// obsFlags are how a run shows where its time goes: --metrics, --report, --stages.
type obsFlags struct {
	metrics string
	report  string
	stages  bool
}

func (o *obsFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.metrics, "metrics", "", "serve Prometheus metrics at http://`ADDR`/metrics and profiles at /debug/pprof/ during the run (e.g. 127.0.0.1:9090; port 0 picks one, logged); an address that is not loopback (0.0.0.0:9090, :9090) makes them reachable from other machines, with a warning")
	f.StringVar(&o.report, "report", "", "write the summary, each stage's counters and every video's result as JSON to `FILE` (also when the run fails or is interrupted)")
	f.BoolVar(&o.stages, "stages", false, "print each stage's counters after the summary")
}

// check refuses, before anything runs, a --report whose folder is missing.
func (o obsFlags) check() error {
	if o.report == "" {
		return nil
	}
	dir := filepath.Dir(o.report)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return &exitError{code: exitUsage, err: fmt.Errorf("--report %s: no folder %s", o.report, dir)}
	}
	return nil
}

// metricsListening, set by tests only, is told the metrics server's address.
var metricsListening func(addr string)

// serve starts the metrics server if asked: set is the run's stages.
func (o obsFlags) serve(set *metrics.Set, log *slog.Logger) (stop func(), err error) {
	if o.metrics == "" {
		return func() {}, nil
	}
	s, err := prom.Serve(o.metrics, func() *metrics.Set { return set })
	if err != nil {
		return nil, &exitError{code: exitFailed, err: fmt.Errorf("--metrics %s: %w", o.metrics, err)}
	}
	addr := s.Addr.String()
	log.Info("metrics", "url", "http://"+addr+"/metrics", "pprof", "http://"+addr+"/debug/pprof/")
	if !loopback(s.Addr) {
		log.Warn("pprof and metrics are reachable from other machines: nothing guards them; serve them on 127.0.0.1 unless that is meant",
			"addr", addr)
	}
	if metricsListening != nil {
		metricsListening(addr)
	}
	return func() { s.Close() }, nil
}

// loopback tells whether a listening address is reachable from this machine
// only (an unspecified one, 0.0.0.0 or ::, is every interface).
func loopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}

// heldBack is the summary's line naming the stage that held the run back, and
// how many cores the process kept busy (near all of them: the CPU is the limit).
func heldBack(w io.Writer, s stages.Summary) {
	span := metrics.Span(s.Stages)
	for _, st := range s.Stages {
		if st.Name == s.Bottleneck {
			fmt.Fprintf(w, "  held back by stage %s: its %d worker(s) busy %.0f %% of the run; vpipe used %.1f of %d cores (--stages for every stage)\n",
				st.Name, st.Workers, 100*st.Share(st.Busy, span), coresUsed(s), config.Cores())
		}
	}
}

// coresUsed is the CPU time the process used during the run over the run's
// time (not its CPU time since it started: start-up and the FFmpeg libraries
// loading would count, over a run that may be milliseconds long).
func coresUsed(s stages.Summary) float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return round(s.CPU.Seconds()/s.Elapsed.Seconds()*10) / 10
}

// printStages is one line per stage: where its workers' time went, what went
// through it, how full its input queue was.
func printStages(w io.Writer, s stages.Summary) {
	span := metrics.Span(s.Stages)
	for _, st := range s.Stages {
		pc := func(d time.Duration) float64 { return 100 * st.Share(d, span) }
		queue := "-"
		if st.QueueCap > 0 {
			queue = fmt.Sprintf("%.1f of %d", st.QueueMean, st.QueueCap)
		}
		fmt.Fprintf(w, "  stage %-9s workers %2d  busy %5.1f %%  waiting on input %5.1f %%  on output %5.1f %%  items %d in, %d out  input queue %s\n",
			st.Name, st.Workers, pc(st.Busy), pc(st.WaitIn), pc(st.WaitOut), st.In, st.Out, queue)
	}
	if io := s.IO; io.SourceBytes > 0 || io.SinkBytes > 0 {
		fmt.Fprintf(w, "  bytes read %d, written %d; retries %s; client errors %s\n", io.SourceBytes, io.SinkBytes, kv(io.Retries), kv(io.Errors))
	}
}

func kv(m map[string]int64) string {
	var parts []string
	for _, n := range metrics.Clients() {
		parts = append(parts, fmt.Sprintf("%s %d", n, m[n]))
	}
	return strings.Join(parts, ", ")
}

// logStages writes the stages' counters as log lines (for --log-file).
func logStages(log *slog.Logger, s stages.Summary) {
	for _, st := range s.Stages {
		log.Info("stage", "stage", st.Name, "workers", st.Workers, "busy_s", secs(st.Busy), "wait_input_s", secs(st.WaitIn),
			"wait_output_s", secs(st.WaitOut), "items_in", st.In, "items_out", st.Out, "queue_mean", round(st.QueueMean),
			"queue_capacity", st.QueueCap, "errors", st.Errors)
	}
	log.Info("io", "source_bytes", s.IO.SourceBytes, "sink_bytes", s.IO.SinkBytes, "retries", kv(s.IO.Retries),
		"client_errors", kv(s.IO.Errors), "bottleneck", s.Bottleneck)
}

func secs(d time.Duration) float64 { return round(d.Seconds()) }

// oneDecimal rounds as the summary line prints (%.1f), so the two agree.
func oneDecimal(f float64) float64 {
	v, _ := strconv.ParseFloat(fmt.Sprintf("%.1f", f), 64)
	return v
}
func round(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

// Report is --report's JSON.
type Report struct {
	// Status is ok, failed (a video failed), partial (a damaged video salvaged),
	// interrupted or error (the run stopped).
	Status            string `json:"status"`
	Error             string `json:"error,omitempty"`
	VideosOK          int    `json:"videos_ok"`
	VideosFailed      int    `json:"videos_failed"`
	VideosInterrupted int    `json:"videos_interrupted"`
	VideosNotStarted  int    `json:"videos_not_started"`
	VideosPartial     int    `json:"videos_partial"` // salvaged damaged videos (exit code 3)
	Written           int    `json:"frames_written"`
	// NotRolledBack are images of failed videos whose roll-back failed: they
	// may still be in the sink (counted in frames_written).
	NotRolledBack int     `json:"frames_not_rolled_back,omitempty"`
	Skipped       int     `json:"frames_skipped"`
	Dropped       int     `json:"frames_dropped"` // left out by scene_threshold / dedup
	ElapsedS      float64 `json:"elapsed_s"`
	FPS           float64 `json:"frames_per_s"`
	Bottleneck    string  `json:"bottleneck"`
	// CPUS is the CPU time the process used during the run (user + system); Cores the CPUs it may use (GOMAXPROCS at start).
	CPUS  float64 `json:"cpu_s"`
	Cores int     `json:"cores"`

	Stages []ReportStage        `json:"stages"`
	IO     metrics.IOStats      `json:"io"`
	Videos []stages.VideoResult `json:"videos"`
}

// ReportStage is one stage's counters; times are seconds summed over its workers.
type ReportStage struct {
	Name      string  `json:"name"`
	Workers   int     `json:"workers"`
	BusyS     float64 `json:"busy_s"`
	WaitIn    float64 `json:"wait_input_s"`
	WaitOut   float64 `json:"wait_output_s"`
	BusyShare float64 `json:"busy_share"` // of the run: busy_s / (workers × the longest stage's time per worker)
	In        int64   `json:"items_in"`
	Out       int64   `json:"items_out"`
	Errors    int64   `json:"errors"`
	QueueCap  int     `json:"queue_capacity"`
	QueueMean float64 `json:"queue_mean"`
}

func report(s stages.Summary, runErr error) Report {
	r := Report{Status: "ok", VideosOK: s.VideosOK, VideosFailed: s.VideosFailed, VideosInterrupted: s.VideosInterrupted,
		VideosNotStarted: s.VideosNotStarted, VideosPartial: s.VideosPartial, Written: s.Written, NotRolledBack: s.NotRolledBack, Skipped: s.Skipped, Dropped: s.Dropped, ElapsedS: secs(s.Elapsed),
		FPS: oneDecimal(s.FPS()), Bottleneck: s.Bottleneck, IO: s.IO, Videos: s.Videos,
		CPUS: secs(s.CPU), Cores: config.Cores()}
	switch {
	case errors.Is(runErr, context.Canceled):
		r.Status = "interrupted"
	case runErr != nil:
		r.Status, r.Error = "error", runErr.Error()
	case s.VideosFailed > 0:
		r.Status = "failed"
	case s.VideosPartial > 0:
		r.Status = "partial"
	}
	if r.Videos == nil {
		r.Videos = []stages.VideoResult{}
	}
	r.Stages = []ReportStage{}
	span := metrics.Span(s.Stages)
	for _, st := range s.Stages {
		r.Stages = append(r.Stages, ReportStage{Name: st.Name, Workers: st.Workers, BusyS: secs(st.Busy), WaitIn: secs(st.WaitIn),
			WaitOut: secs(st.WaitOut), BusyShare: round(st.Share(st.Busy, span)), In: st.In, Out: st.Out, Errors: st.Errors,
			QueueCap: st.QueueCap, QueueMean: round(st.QueueMean)})
	}
	return r
}

// writeReport writes --report atomically: a reader sees the old file or the
// whole new one, never a part.
func writeReport(path string, s stages.Summary, runErr error) error {
	b, err := json.MarshalIndent(report(s, runErr), "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".vpipe-tmp-*")
	if err != nil {
		return fmt.Errorf("--report %s: %w", path, err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("--report %s: %w", path, err)
	}
	return nil
}
