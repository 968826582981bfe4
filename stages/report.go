package stages

import (
	"os"
	"slices"
	"strings"
	"sync/atomic"

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

// lastTries is, with a Feed, each video's last try: a queue delivers a failed
// video again, and the summary counts each video once, by how it last ended.
// The earlier tries are taken out of the video counts and the FAILED and
// PARTIAL lists (the images they wrote stay counted as written).
func (s *Summary) lastTries(jobs []*job) []*job {
	last := map[string]*job{}
	for _, j := range jobs {
		if o := last[j.item.ID()]; o == nil || j.ended > o.ended {
			last[j.item.ID()] = j
		}
	}
	var out []*job
	for _, j := range jobs {
		if last[j.item.ID()] == j {
			out = append(out, j)
		} else {
			s.forget(j)
		}
	}
	return out
}

// forget takes an earlier try of a video out of the counts. Its FAILED or
// PARTIAL entry is the video's first one: entries are added as tries end.
func (s *Summary) forget(j *job) {
	id := j.item.ID()
	switch j.status {
	case StatusOK:
		s.VideosOK--
	case StatusFailed:
		s.VideosFailed--
		if i := slices.IndexFunc(s.Failures, func(f Failure) bool { return f.Video == id }); i >= 0 {
			s.Failures = slices.Delete(s.Failures, i, i+1)
		}
	case StatusPartial:
		s.VideosPartial--
		if i := slices.IndexFunc(s.Partial, func(p Partial) bool { return p.Video == id }); i >= 0 {
			s.Partial = slices.Delete(s.Partial, i, i+1)
		}
	case StatusInterrupted:
		s.VideosInterrupted--
	case StatusNotStarted:
		s.VideosNotStarted--
	}
}

// ended orders the videos' outcomes as they are set (lastTries).
var ended atomic.Int64

// setStatus records how the video ended, and counts it (vpipe_videos_total).
func (j *job) setStatus(s string) {
	j.status = s
	j.ended = ended.Add(1)
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
