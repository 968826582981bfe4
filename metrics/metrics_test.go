package metrics

import (
	"slices"
	"testing"
	"time"
)

// TestBottleneck: the rule on made-up counters — the stage busy for the
// largest share of the run's span, per worker; a source that finished early
// is not it however busy it was while it lasted.
func TestBottleneck(t *testing.T) {
	ms := time.Millisecond
	stats := []StageStats{
		{Name: "enumerate", Workers: 1, Busy: 1 * ms},                   // done at once: 100 % of its own time
		{Name: "decode", Workers: 1, Busy: 300 * ms, WaitOut: 700 * ms}, // blocked on its output
		{Name: "resize", Workers: 2, Busy: 200 * ms, WaitIn: 300 * ms, WaitOut: 1500 * ms},
		{Name: "encode", Workers: 2, Busy: 1800 * ms, WaitIn: 200 * ms}, // 90 % of the run
		{Name: "write", Workers: 2, Busy: 400 * ms, WaitIn: 1600 * ms},  // starved
	}
	if span := Span(stats); span != time.Second {
		t.Errorf("span %v", span)
	}
	if b := Bottleneck(stats); b != "encode" {
		t.Errorf("bottleneck %q, want encode", b)
	}
	if s := stats[3].Share(stats[3].Busy, Span(stats)); s != 0.9 {
		t.Errorf("encode busy share %v", s)
	}
	// The sink is the bottleneck when it is the one never waiting.
	stats[4] = StageStats{Name: "write", Workers: 2, Busy: 1980 * ms, WaitIn: 20 * ms}
	stats[3] = StageStats{Name: "encode", Workers: 2, Busy: 900 * ms, WaitOut: 1100 * ms}
	if b := Bottleneck(stats); b != "write" {
		t.Errorf("bottleneck %q, want write", b)
	}
	if b := Bottleneck(nil); b != "" {
		t.Errorf("no stages: %q", b)
	}
}

func TestIOSince(t *testing.T) {
	a, b := NewClient("a-test"), NewClient("b-test")
	before := IO()
	SourceBytes(100)
	SinkBytes(7)
	a.Retry()
	NewClient("a-test").Retry() // the same counters
	b.Error()
	d := IO().Since(before)
	if d.SourceBytes != 100 || d.SinkBytes != 7 || d.Retries["a-test"] != 2 || d.Retries["b-test"] != 0 || d.Errors["b-test"] != 1 {
		t.Errorf("%+v", d)
	}
	if n := Clients(); !slices.Contains(n, "a-test") || !slices.IsSorted(n) {
		t.Errorf("clients %v", n)
	}
}

func TestVideos(t *testing.T) {
	before := Videos()
	Video("ok")
	Video("ok")
	Video("failed")
	after := Videos()
	if after["ok"]-before["ok"] != 2 || after["failed"]-before["failed"] != 1 || after["interrupted"] != before["interrupted"] {
		t.Errorf("%v then %v", before, after)
	}
}
