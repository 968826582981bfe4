package stages

import (
	"context"
	"fmt"
	"strings"
)

// done accounts for a video once every frame it produced is out.
func (s *runState) done(j *job) {
	s.account(j)
	j.settle(false)
}

// account settles a finished video (salvage, roll-back) and counts it.
func (s *runState) account(j *job) {
	r := s.r
	stopped := s.p.Context().Err() != nil
	if j.err == nil && (len(j.lost)+len(j.retract) > 0 || j.countUnknown) {
		if err := r.settleSalvage(context.WithoutCancel(s.ctx), j); err != nil {
			j.err = err
		}
	}
	if j.err == nil && j.written+len(j.lost) < j.wanted && !stopped {
		// Never a silent gap: decoding ended without an error, yet frames are missing.
		j.err = fmt.Errorf("%s: wrote %d of the %d frames selected", j.item.Open, j.written, j.wanted)
	}
	if j.err != nil && r.rollBack(s.ctx, j) {
		j.written = 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	status := j.outcome()
	s.sum.tally(j, status)
	switch status {
	case StatusInterrupted:
		r.Log.Warn("video interrupted", "video", j.item.ID(), "written", j.written, "of", j.wanted)
		return // its bar is aborted when the reporter closes
	case StatusPartial:
		miss := j.missing()
		first := -1
		if len(miss) > 0 {
			first = miss[0]
		}
		r.Log.Warn("video partial", "video", j.item.ID(), "written", j.written, "missing", len(miss),
			"frames", ranges(miss), "damage", j.damage, "first_missing", first, "why", j.lostWhy[first])
	}
	r.Reporter.VideoDone(j.item.ID(), j.written, j.skipped, j.err)
}

// endUnfinished counts the videos the run stopped before they finished: what
// they wrote stays.
func (s *runState) endUnfinished() {
	for _, j := range s.jobs {
		if j.finished {
			continue
		}
		if j.started && j.err != nil {
			// It failed, then the run stopped before its frames drained: it is
			// still a failure, and rolled back like one.
			if s.r.rollBack(s.ctx, j) {
				j.written = 0
			}
		}
		status := j.outcome()
		s.sum.tally(j, status)
		if status == StatusFailed {
			s.r.Reporter.VideoDone(j.item.ID(), j.written, j.skipped, j.err)
		}
		j.settle(status == StatusInterrupted || status == StatusNotStarted)
	}
}

// outcome is how a video ended, once it finished or the run stopped: the one
// place a video's status is decided.
func (j *job) outcome() string {
	switch {
	case !j.started:
		return StatusNotStarted
	case j.err != nil:
		return StatusFailed
	case !j.finished || j.written+len(j.lost) < j.wanted:
		return StatusInterrupted // cut short by the stop
	case len(j.lost) > 0 || j.countUnknown:
		return StatusPartial
	}
	return StatusOK
}

// tally sets a video's status and counts it in the summary (a failed video's
// written images are those it kept: a failed roll-back, a feed).
func (s *Summary) tally(j *job, status string) {
	j.setStatus(status)
	s.Skipped += j.skipped
	s.Written += j.written
	s.NotRolledBack += j.notRolledBack
	s.Dropped += j.dropped
	switch status {
	case StatusFailed:
		s.VideosFailed++
		s.Failures = append(s.Failures, Failure{Video: j.item.ID(), Err: j.err})
	case StatusInterrupted:
		s.VideosInterrupted++
	case StatusPartial:
		s.VideosPartial++
		s.Partial = append(s.Partial, Partial{Video: j.item.ID(), Missing: j.missing(), Damage: j.damage})
	case StatusOK:
		s.VideosOK++
	case StatusNotStarted:
		s.VideosNotStarted++
	}
}

// rollBack removes what a failed video wrote this run, so it leaves no
// partial dataset; false when it keeps them. A run with a Feed (a work queue)
// keeps them: delivery is at least once, so another worker may hold the same
// video (redelivered after an ack-wait expiry) and count these very names as
// written or already there; deleting them could make it ack a video with
// images missing. Each kept image is complete, and the next try resumes from
// them. A roll-back that fails (the sink is gone) keeps them too, and says so:
// they may still be there.
func (r *Runner) rollBack(ctx context.Context, j *job) bool {
	if r.Feed != nil {
		if len(j.names) > 0 {
			r.Log.Warn("failed video keeps its images for the next try", "video", j.item.ID(), "images", len(j.names))
		}
		return false
	}
	err := r.Sink.Delete(context.WithoutCancel(ctx), j.item.DestDataset(), j.names)
	if err == nil {
		return true
	}
	ds := strings.Join(j.item.DestDataset(), "/")
	j.notRolledBack = len(j.names)
	r.Log.Error("roll-back failed", "video", j.item.ID(), "images", len(j.names), "sink", r.Sink.Describe(), "dataset", ds, "err", err)
	j.err = fmt.Errorf("%w; roll-back failed: the %d image(s) it wrote this run (each with its annotation and meta) may be left in %s, dataset %s: %v",
		j.err, len(j.names), r.Sink.Describe(), ds, err)
	return false
}
