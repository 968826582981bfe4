package prom

import (
	"net/http"
	"net/http/httptest"
	"testing"

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
	srv := httptest.NewServer(Handler(func() *metrics.Set { return nil }))
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
