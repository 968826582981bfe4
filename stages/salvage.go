package stages

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/media"
)

// MissingKey names, in a salvaged video's dataset custom data, the frames that
// could not be written: {"frames": "45,47-74", "count": 29, "damage": "…"}.
const MissingKey = "vpipe_missing"

// Partial is a damaged video salvaged (sampling.on_damage: salvage): every
// frame that decoded cleanly is written, these could not be.
type Partial struct {
	Video   string
	Missing []int  // frame indices, increasing
	Damage  string // the first damage found
}

// Ranges is the missing indices as "45,47-74".
func (p Partial) Ranges() string { return ranges(p.Missing) }

// salvaging tells whether damaged videos are salvaged.
func (r *Runner) salvaging() bool { return r.Config.Sampling.OnDamage == "salvage" }

// lostFrame records a wanted frame the decoder could not give (or one to take back).
func (j *job) lostFrame(l media.LostFrame) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.lostWhy == nil {
		j.lostWhy = map[int]string{}
	}
	if l.Written {
		j.retract = append(j.retract, l.Index)
	}
	if j.damage == "" {
		// The map found nothing (an MP4's sample table survives its mdat being
		// overwritten): the decoder did, so say that, not "".
		j.damage = fmt.Sprintf("found while decoding: frame %d: %s", l.Index, l.Why)
	}
	if _, dup := j.lostWhy[l.Index]; !dup {
		j.lost = append(j.lost, l.Index)
		j.lostWhy[l.Index] = l.Why
	}
}

// missing is the frames that could not be written, sorted.
func (j *job) missing() []int {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := append([]int(nil), j.lost...)
	sort.Ints(out)
	return out
}

// settleSalvage takes back the frames a salvage decode found unnumberable after
// they were emitted (removed from the sink), and records the missing frames in
// the video's dataset. It runs once every frame of the video is out.
func (r *Runner) settleSalvage(ctx context.Context, j *job) error {
	j.mu.Lock()
	var back []string
	if len(j.retract) > 0 {
		drop := map[string]bool{}
		for _, i := range j.retract {
			drop[r.name(j.item.Name, i, j.count)] = true
		}
		kept := j.names[:0]
		for _, n := range j.names {
			if drop[n] {
				back = append(back, n)
				j.written--
			} else {
				kept = append(kept, n)
			}
		}
		j.names = kept
		j.retract = nil
	}
	lost, written, skipped, damage := len(j.lost), j.written, j.skipped, j.damage
	if j.countUnknown {
		lost++ // the frames past what the file holds, unlisted: still recorded as damaged
	}
	j.mu.Unlock()
	if len(back) > 0 {
		if err := r.Sink.Delete(ctx, j.item.DestDataset(), back); err != nil {
			return fmt.Errorf("removing %d frames found unnumberable after they were written: %w", len(back), err)
		}
	}
	if lost == 0 || written+skipped == 0 {
		return nil // no dataset to record it in
	}
	miss := j.missing()
	custom := map[string]any{core.OutputKey: j.output,
		MissingKey: map[string]any{"frames": ranges(miss), "count": len(miss), "damage": damage}}
	for k, v := range j.meta {
		custom[k] = v
	}
	return r.Sink.Dataset(ctx, core.DatasetInfo{Dataset: j.item.DestDataset(), Custom: custom, Video: j.item})
}

// reachesPast tells whether the sampling window reaches past frame count-1
// (no end, or an end past it).
func (r *Runner) reachesPast(count int) bool {
	e := r.Config.Sampling.End
	return e == nil || *e > count
}

// ranges writes increasing indices as "3,5-9,12".
func ranges(ix []int) string {
	var b strings.Builder
	for k := 0; k < len(ix); {
		e := k
		for e+1 < len(ix) && ix[e+1] == ix[e]+1 {
			e++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(ix[k]))
		if e > k {
			b.WriteString("-" + strconv.Itoa(ix[e]))
		}
		k = e + 1
	}
	return b.String()
}
