package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vpipe/vpipe/config"
	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	"github.com/vpipe/vpipe/progress"
)

// gate is a sink that holds the put of image number at[i] until release[i]
// closes, telling reached[i] first: the run is then observably in progress,
// with no timing involved.
type gate struct {
	core.Sink
	puts    atomic.Int64
	at      []int64
	reached []chan struct{}
	release []chan struct{}
}

func (g *gate) Put(ctx context.Context, img *core.Image) error {
	n := g.puts.Add(1)
	for i, at := range g.at {
		if n == at {
			close(g.reached[i])
			<-g.release[i]
		}
	}
	return g.Sink.Put(ctx, img)
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// scrape reads /metrics into "name{labels}" -> value.
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %s, %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetricsMidRun runs a real pipeline with --metrics on port 0, holds the
// sink at its 10th and 60th image, scrapes /metrics at each, and checks that
// the stage counters moved between the two scrapes and that /debug/pprof/
// answers while the run goes on.
func TestMetricsMidRun(t *testing.T) {
	video := testcorpus.Path(t, testcorpus.Get("h264_bframes")) // 75 frames
	src, out := t.TempDir(), t.TempDir()
	data, err := os.ReadFile(video)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "clip.mp4"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	sets := []string{"source.path=" + src, "sink.path=" + out,
		// sized here so the counts at the first scrape are bounded whatever the core count
		"stages.decode.workers=1", "stages.resize.workers=2", "stages.encode.workers=2", "stages.write.workers=1",
		"stages.decode.queue=2", "stages.resize.queue=2", "stages.encode.queue=2", "stages.write.queue=2"}
	yaml := filepath.Join(t.TempDir(), "pipeline.yaml")
	if err := os.WriteFile(yaml, []byte("source:\n  type: local\nsink:\n  type: local\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(yaml, sets, nil)
	if err != nil {
		t.Fatal(err)
	}
	source, sink, err := backends(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{Sink: sink, at: []int64{10, 60}}
	for range g.at {
		g.reached = append(g.reached, make(chan struct{}))
		g.release = append(g.release, make(chan struct{}))
	}
	addrs := make(chan string, 1)
	metricsListening = func(a string) { addrs <- a }
	defer func() { metricsListening = nil }()
	var log syncBuf
	lf := logFlags{format: "text", interval: progress.DefaultInterval, obs: obsFlags{metrics: "127.0.0.1:0"}}
	done := make(chan error, 1)
	go func() { done <- execute(context.Background(), c, source, g, nil, &log, lf) }()
	released := 0
	defer func() { // never leave the run blocked, whatever failed
		for ; released < len(g.release); released++ {
			close(g.release[released])
		}
		<-done
	}()

	var addr string
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatalf("run ended before serving metrics: %v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "msg=metrics url=http://"+addr+"/metrics") {
		t.Errorf("the metrics address is not logged:\n%s", log.String())
	}

	<-g.reached[0]
	first := scrape(t, addr)
	close(g.release[0])
	released++
	<-g.reached[1]
	second := scrape(t, addr)

	resp, err := http.Get("http://" + addr + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "goroutine") {
		t.Errorf("/debug/pprof/: %s\n%.300s", resp.Status, body)
	}

	for _, k := range []string{`vpipe_stage_items_out_total{stage="decode"}`, `vpipe_stage_items_out_total{stage="encode"}`,
		`vpipe_stage_busy_seconds_total{stage="encode"}`, `vpipe_stage_items_in_total{stage="write"}`} {
		t.Logf("%s: %v then %v", k, first[k], second[k])
	}
	m := func(s map[string]float64, name, stage string) float64 {
		k := name
		if stage != "" {
			k = fmt.Sprintf(`%s{stage="%s"}`, name, stage)
		}
		v, ok := s[k]
		if !ok {
			t.Errorf("no %s in the scrape", k)
		}
		return v
	}
	// The sink holds its 10th image, then its 60th: exactly that many went in.
	if a, b := m(first, "vpipe_stage_items_in_total", "write"), m(second, "vpipe_stage_items_in_total", "write"); a != 10 || b != 60 {
		t.Errorf("write items in: %v then %v, want 10 then 60", a, b)
	}
	// Upstream can run ahead of the sink only by what the queues and workers
	// between hold (13 here), so every stage's output moved between the scrapes.
	for _, st := range []string{"decode", "resize", "encode"} {
		a, b := m(first, "vpipe_stage_items_out_total", st), m(second, "vpipe_stage_items_out_total", st)
		if a < 10 || a > 23 || b < 60 {
			t.Errorf("%s items out: %v then %v", st, a, b)
		}
		if a, b := m(first, "vpipe_stage_busy_seconds_total", st), m(second, "vpipe_stage_busy_seconds_total", st); !(b > a && a > 0) {
			t.Errorf("%s busy seconds: %v then %v", st, a, b)
		}
	}
	// (Time blocked on an output is counted once the send completes, which
	// depends on the scheduler here: pipeline's TestStageCounters checks it.)
	if _, ok := second[`vpipe_stage_output_wait_seconds_total{stage="encode"}`]; !ok {
		t.Error("no vpipe_stage_output_wait_seconds_total")
	}
	if q, c := m(second, "vpipe_stage_queue_length", "write"), m(second, "vpipe_stage_queue_capacity", "write"); c != 2 || q < 0 || q > 2 {
		t.Errorf("write queue %v of %v", q, c)
	}
	if a, b := m(first, "vpipe_sink_written_bytes_total", ""), m(second, "vpipe_sink_written_bytes_total", ""); !(b > a && a > 0) {
		t.Errorf("sink bytes: %v then %v", a, b)
	}
	if v := m(second, "vpipe_source_read_bytes_total", ""); v < float64(len(data)) {
		t.Errorf("source bytes %v, the video has %d", v, len(data))
	}
	if _, ok := second[`vpipe_retries_total{client="supervisely"}`]; !ok {
		t.Error("no vpipe_retries_total")
	}

	for ; released < len(g.release); released++ {
		close(g.release[released])
	}
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	done <- nil // for the deferred wait
	if !strings.Contains(log.String(), "videos: 1 ok, 0 failed; frames: 75 written") {
		t.Errorf("summary:\n%s", log.String())
	}
}
