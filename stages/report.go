package stages

import (
	"os"
	"strings"

	"github.com/vpipe/vpipe/metrics"
	"github.com/vpipe/vpipe/pipeline"
)

// A video's outcome (VideoResult.Status).
const (
	StatusOK          = "ok"
	StatusFailed      = "failed"
	StatusInterrupted = "interrupted" // cut short by a stop; what it wrote stays
	StatusPartial     = "partial"     // damaged, salvaged: some selected frames could not be written
	StatusNotStarted  = "not_started"
)

// VideoResult is what a run did with one video.
type VideoResult struct {
	Video   string `json:"video"`
	Status  string `json:"status"`
	Written int    `json:"written"` // images written by this run (0 for a failed video: they are rolled back)
	Skipped int    `json:"skipped"` // already in the sink
	// NotRolledBack: a failed video's roll-back failed, and this many of its
	// images (counted in Written) may still be in the sink.
	NotRolledBack int    `json:"not_rolled_back,omitempty"`
	Error         string `json:"error,omitempty"`
	// Missing and Damage, for a partial video: the selected frames not
	// written ("45,47-74", as the summary lists them) and the damage found.
	Missing string `json:"missing,omitempty"`
	Damage  string `json:"damage,omitempty"`
}

// results fills in the per-video outcomes and the run's counters, once every
// goroutine of the run has ended.
func (s *Summary) results(jobs []*job, p *pipeline.Pipeline, io0 metrics.IOStats) {
	for _, j := range jobs {
		v := VideoResult{Video: j.item.ID(), Status: j.status, Written: j.written, Skipped: j.skipped, NotRolledBack: j.notRolledBack}
		if j.err != nil {
			v.Error = j.err.Error()
		}
		if j.status == StatusPartial {
			v.Missing, v.Damage = ranges(j.missing()), j.damage
		}
		s.Videos = append(s.Videos, v)
	}
	s.Stages = p.Metrics().Stats()
	s.Bottleneck = metrics.Bottleneck(s.Stages)
	s.IO = metrics.IO().Since(io0)
}

// setStatus records how the video ended, and counts it (vpipe_videos_total).
func (j *job) setStatus(s string) {
	j.status = s
	if s != StatusNotStarted {
		metrics.Video(s)
	}
}

// countFile counts a local video's size as bytes read from the source (a URL
// opened by FFmpeg itself is not counted).
func countFile(path string) {
	if strings.Contains(path, "://") {
		return
	}
	if fi, err := os.Stat(path); err == nil {
		metrics.SourceBytes(fi.Size())
	}
}
