package stages

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/media"
	sv "github.com/vpipe/vpipe/supervisely"
)

// job is one video on its way through the stages. Its frames are counted in when
// decoded and out when written or dropped; the video is finished once decoding
// has ended and every frame it produced is out.
type job struct {
	item    *core.Item
	refused error // set before the run: the video may not be written (a clash)
	start   time.Time
	started bool // set by the decode stage when it takes the job

	// set by the decode stage before the first frame leaves it
	count     int // frames in the video
	outW      int // the output size: every frame's with a resize (fixedSize)
	outH      int
	fixedSize bool
	wanted    int            // frames to write this run
	skipped   int            // frames already in the sink
	sampler   *sv.Sampler    // nil when annotations are not copied
	meta      map[string]any // provenance for every image meta
	output    map[string]any // the output settings its dataset records

	record    sync.Once // the dataset's custom data, written with the first image
	recordErr error

	// salvage (sampling.on_damage: salvage): wanted frames that could not be
	// written, why, and those to take back; the damage the map found
	lost    []int
	lostWhy map[int]string
	retract []int
	damage  string
	// countUnknown: the damaged file's frame count is unknown and the window
	// reaches past the frames it holds, so some wanted frames may be missing unlisted
	countUnknown bool

	mu       sync.Mutex
	err      error
	inflight int
	sealed   bool
	written  int
	dropped  int      // frames the content rules left out
	names    []string // written this run, for a roll-back if the video fails
	// notRolledBack is how many of names a failed roll-back may have left.
	notRolledBack int
	finished      bool
	status        string // set once the video is done, or the run is
	ended         int64  // when status was set, in order (see lastTries)
	onDone        func(*job)
	onFail        func(error) // told once, when the video fails, its error

	lease core.Lease // the feed's, when the video came from one
	// progress counts packets read, frames decoded and frames out: the stall
	// watchdog's sign of life (stall.go); unwatch stops the watchdog.
	progress  atomic.Int64
	unwatch   func()
	leaseOnce sync.Once
	slot      chan struct{} // a decode worker's place in the feed, freed once decoded
}

// String names the video (in a recovered panic).
func (j *job) String() string { return j.item.ID() }

func (j *job) failed() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err != nil
}

// fail records the video's first error.
func (j *job) fail(err error) {
	j.mu.Lock()
	first := j.err == nil
	if first {
		j.err = err
	}
	j.mu.Unlock()
	if first && j.onFail != nil {
		j.onFail(err)
	}
}

func (j *job) frameIn() {
	j.progress.Add(1)
	j.mu.Lock()
	j.inflight++
	j.mu.Unlock()
}

// frameOut counts a frame that left the pipeline; name is the image written, or "".
func (j *job) frameOut(name string) {
	j.progress.Add(1)
	j.mu.Lock()
	j.inflight--
	if name != "" {
		j.written++
		j.names = append(j.names, name)
	}
	j.mu.Unlock()
	j.maybeDone()
}

// drop counts a decoded frame the content rules left out: one fewer to write.
func (j *job) drop() {
	j.mu.Lock()
	j.dropped++
	j.wanted--
	j.mu.Unlock()
}

// toWrite is the number of frames the video writes this run, as known now
// (content rules lower it while decoding).
func (j *job) toWrite() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.wanted
}

// seal marks the end of decoding.
func (j *job) seal() {
	j.mu.Lock()
	j.sealed = true
	j.mu.Unlock()
	j.maybeDone()
}

func (j *job) maybeDone() {
	j.mu.Lock()
	done := j.sealed && j.inflight == 0 && !j.finished
	if done {
		j.finished = true
	}
	j.mu.Unlock()
	if done && j.onDone != nil {
		j.onDone(j)
	}
}

// size is the output size of a decoded picture: the resize's, or else its own
// decoded size, turned upright when it is to be rotated. A stream may change
// resolution mid-way (an in-band SPS), so it is asked frame by frame.
func (j *job) size(p *media.Picture) (int, int) {
	if j.fixedSize {
		return j.outW, j.outH
	}
	if p.Rotation == 90 || p.Rotation == 270 {
		return p.Height, p.Width
	}
	return p.Width, p.Height
}

// frame is a decoded or converted frame of a job.
type frame struct {
	job   *job
	index int
	pts   int64
	time  float64
	pic   *media.Picture // until converted
	rgb   *media.RGB     // after
}

// output is an encoded image on its way to the sink.
type output struct {
	job *job
	img *core.Image
}

func (f *frame) String() string { return fmt.Sprintf("%s frame %d", f.job, f.index) }

func (o output) String() string { return fmt.Sprintf("%s image %s", o.job, o.img.Name) }

func (f *frame) release() {
	if f.pic != nil {
		f.pic.Release()
	}
	if f.rgb != nil {
		f.rgb.Release()
	}
}
