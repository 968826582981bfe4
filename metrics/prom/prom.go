// Package prom serves vpipe's counters as Prometheus metrics (/metrics), with
// the Go runtime's profiles beside them (/debug/pprof/), for watching a long
// run. The counters are read when scraped: the pipeline's hot path never
// touches Prometheus.
package prom

import (
	"context"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vpipe/vpipe/metrics"
)

var (
	stageLabel = []string{"stage"}
	busyDesc   = prometheus.NewDesc("vpipe_stage_busy_seconds_total",
		"Time the stage's workers spent working (summed over workers).", stageLabel, nil)
	waitInDesc = prometheus.NewDesc("vpipe_stage_input_wait_seconds_total",
		"Time the stage's workers spent waiting for an input (starved by the stage before).", stageLabel, nil)
	waitOutDesc = prometheus.NewDesc("vpipe_stage_output_wait_seconds_total",
		"Time the stage's workers spent blocked on a full output queue (held back by the stage after).", stageLabel, nil)
	inDesc = prometheus.NewDesc("vpipe_stage_items_in_total",
		"Items the stage took from its input queue (a video for decode, a frame or image after it, a batch for annotate).", stageLabel, nil)
	outDesc = prometheus.NewDesc("vpipe_stage_items_out_total",
		"Items the stage handed to the next one.", stageLabel, nil)
	errDesc = prometheus.NewDesc("vpipe_stage_errors_total",
		"Errors that stopped the run, by the stage that returned them (a failed video is not one: see vpipe run's summary).", stageLabel, nil)
	workersDesc = prometheus.NewDesc("vpipe_stage_workers",
		"Goroutines of the stage.", stageLabel, nil)
	queueDesc = prometheus.NewDesc("vpipe_stage_queue_length",
		"Items in the queue feeding the stage now.", stageLabel, nil)
	queueCapDesc = prometheus.NewDesc("vpipe_stage_queue_capacity",
		"Capacity of the queue feeding the stage.", stageLabel, nil)
	sourceBytesDesc = prometheus.NewDesc("vpipe_source_read_bytes_total",
		"Bytes read from the source: a local video's size when it is opened, what a remote read fetched as it comes.", nil, nil)
	sinkBytesDesc = prometheus.NewDesc("vpipe_sink_written_bytes_total",
		"Bytes of encoded images the sink stored (once per image, whatever the number of sinks).", nil, nil)
	retriesDesc = prometheus.NewDesc("vpipe_retries_total",
		"Calls tried again after a failure, by client (the remote service a backend calls: its requests, and bodies resumed after a cut).", []string{"client"}, nil)
	clientErrDesc = prometheus.NewDesc("vpipe_client_errors_total",
		"Calls that failed for good (not retryable, or out of retries), by client.", []string{"client"}, nil)
	videosDesc = prometheus.NewDesc("vpipe_videos_total",
		"Videos done, by how they ended (ok, failed, interrupted, partial: damaged and salvaged).", []string{"status"}, nil)
)

// collector reads the current run's stages and the process-wide counters.
type collector struct{ set func() *metrics.Set }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{busyDesc, waitInDesc, waitOutDesc, inDesc, outDesc, errDesc, workersDesc,
		queueDesc, queueCapDesc, sourceBytesDesc, sinkBytesDesc, retriesDesc, clientErrDesc, videosDesc} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if set := c.set(); set != nil {
		for _, st := range set.Stages() {
			s := st.Stats()
			counter(busyDesc, s.Busy.Seconds(), s.Name)
			counter(waitInDesc, s.WaitIn.Seconds(), s.Name)
			counter(waitOutDesc, s.WaitOut.Seconds(), s.Name)
			counter(inDesc, float64(s.In), s.Name)
			counter(outDesc, float64(s.Out), s.Name)
			counter(errDesc, float64(s.Errors), s.Name)
			gauge(workersDesc, float64(s.Workers), s.Name)
			if n, c := st.Queue(); c > 0 { // a source has no input queue
				gauge(queueDesc, float64(n), s.Name)
				gauge(queueCapDesc, float64(c), s.Name)
			}
		}
	}
	io := metrics.IO()
	counter(sourceBytesDesc, float64(io.SourceBytes))
	counter(sinkBytesDesc, float64(io.SinkBytes))
	for _, n := range metrics.Clients() {
		counter(retriesDesc, float64(io.Retries[n]), n)
		counter(clientErrDesc, float64(io.Errors[n]), n)
	}
	done := metrics.Videos()
	for _, s := range []string{"ok", "failed", "interrupted", "partial"} {
		counter(videosDesc, float64(done[s]), s)
	}
}

// Handler serves /metrics (vpipe's counters, with the Go runtime's and the
// process's) and /debug/pprof/. set gives the current run's stages (nil:
// none yet).
func Handler(set func() *metrics.Set) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{set: set}, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// Server is a running metrics endpoint.
type Server struct {
	Addr net.Addr // where it listens (the port chosen, for ":0")
	srv  *http.Server
	done chan struct{}
}

// Serve listens on addr (host:port; port 0 picks one) and serves Handler(set)
// until Close.
func Serve(addr string, set func() *metrics.Set) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: ln.Addr(), srv: &http.Server{Handler: Handler(set), ReadHeaderTimeout: 10 * time.Second},
		done: make(chan struct{})}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln) // ErrServerClosed after Close; a failed listener leaves the run without metrics
	}()
	return s, nil
}

// Close stops serving: scrapes under way get a moment to finish.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = s.srv.Close()
	}
	<-s.done
	return err
}
