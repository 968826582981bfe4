package prom

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vpipe/vpipe/metrics"
)

// TestScrapeParses: /metrics is Prometheus text that the Prometheus parser
// reads, vpipe's families typed as their names say (_total: counters), and
// every status a video can end with is served: a salvaged (partial) video
// was counted but never exported.
func TestScrapeParses(t *testing.T) {
	for _, s := range []string{"ok", "failed", "interrupted", "partial"} {
		metrics.Video(s)
	}
	set := &metrics.Set{}
	set.NewStage("decode", 1, nil)
	feed := make(chan any, 2)
	feed <- 1
	enc := set.NewStage("encode", 2, feed)
	enc.In()
	enc.AddBusy(1500 * time.Millisecond)
	srv := httptest.NewServer(Handler(func() *metrics.Set { return set }))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	for name, f := range fams {
		if !model.LegacyValidation.IsValidMetricName(name) {
			t.Errorf("%s: not a valid metric name", name)
		}
		if len(name) > 6 && name[len(name)-6:] == "_total" && name[:6] == "vpipe_" && f.GetType() != dto.MetricType_COUNTER {
			t.Errorf("%s: type %v, want counter", name, f.GetType())
		}
	}
	stage := func(name, st string) (float64, bool) {
		for _, m := range fams[name].GetMetric() {
			if len(m.GetLabel()) == 1 && m.GetLabel()[0].GetName() == "stage" && m.GetLabel()[0].GetValue() == st {
				if c := m.GetCounter(); c != nil {
					return c.GetValue(), true
				}
				return m.GetGauge().GetValue(), true
			}
		}
		return 0, false
	}
	for _, c := range []struct {
		name, stage string
		want        float64
	}{
		{"vpipe_stage_busy_seconds_total", "encode", 1.5}, {"vpipe_stage_items_in_total", "encode", 1},
		{"vpipe_stage_workers", "encode", 2}, {"vpipe_stage_queue_length", "encode", 1}, {"vpipe_stage_queue_capacity", "encode", 2},
		{"vpipe_stage_items_in_total", "decode", 0},
	} {
		if v, ok := stage(c.name, c.stage); !ok || v != c.want {
			t.Errorf("%s{stage=%q} = %v (served: %v), want %v", c.name, c.stage, v, ok, c.want)
		}
	}
	if _, ok := stage("vpipe_stage_queue_length", "decode"); ok {
		t.Error("a source stage has no input queue, yet its length is served")
	}
	if f := fams["vpipe_stage_workers"]; f.GetType() != dto.MetricType_GAUGE {
		t.Errorf("vpipe_stage_workers: %v", f.GetType())
	}
	got := map[string]float64{}
	for _, m := range fams["vpipe_videos_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "status" {
				got[l.GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	for _, s := range []string{"ok", "failed", "interrupted", "partial"} {
		if got[s] < 1 {
			t.Errorf("vpipe_videos_total{status=%q} = %v, want >= 1 (served: %v)", s, got[s], got)
		}
	}
}
