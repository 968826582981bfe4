// Package metrics counts where a run's time goes: per stage, the time its
// workers were busy, blocked on their input and blocked on their output, the
// items that went in and out, and how full the queue feeding it was; per
// process, the bytes read from sources and written to sinks, retries and errors.
//
// Everything is an atomic counter read while the run goes on (a scrape, the
// summary at the end); the hot path is a few atomic adds and monotonic clock
// reads per item, never an allocation.
package metrics

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Stage is the counters of one stage of a run. Its methods are safe for
// concurrent use; times are nanoseconds summed over the stage's workers.
type Stage struct {
	Name    string
	Workers int
	feed    <-chan any // the queue feeding it; nil for a source

	busy, waitIn, waitOut atomic.Int64
	in, out, errors       atomic.Int64
	queueSum              atomic.Int64 // len(feed) summed over every item taken
}

// AddBusy, AddWaitIn and AddWaitOut add worker time.
func (s *Stage) AddBusy(d time.Duration)    { s.busy.Add(int64(d)) }
func (s *Stage) AddWaitIn(d time.Duration)  { s.waitIn.Add(int64(d)) }
func (s *Stage) AddWaitOut(d time.Duration) { s.waitOut.Add(int64(d)) }

// In counts an item taken from the feeding queue, and how full that queue was.
func (s *Stage) In() {
	s.in.Add(1)
	if s.feed != nil {
		s.queueSum.Add(int64(len(s.feed)))
	}
}

// Out counts an item handed on; Error an error the stage returned.
func (s *Stage) Out()   { s.out.Add(1) }
func (s *Stage) Error() { s.errors.Add(1) }

// Queue is the feeding queue's length and capacity now.
func (s *Stage) Queue() (n, capacity int) {
	if s.feed == nil {
		return 0, 0
	}
	return len(s.feed), cap(s.feed)
}

// StageStats is a snapshot of a Stage.
type StageStats struct {
	Name    string
	Workers int
	Busy    time.Duration
	WaitIn  time.Duration
	WaitOut time.Duration
	In      int64
	Out     int64
	Errors  int64
	// QueueCap is the capacity of the queue feeding the stage, QueueMean how
	// many items it held on average when a worker took one (0 for a source).
	QueueCap  int
	QueueMean float64
}

// Share is d (one of the stage's times) as a part of its workers' time over
// span (see Span): 0–1.
func (s StageStats) Share(d, span time.Duration) float64 {
	if span <= 0 || s.Workers <= 0 {
		return 0
	}
	return float64(d) / (float64(s.Workers) * float64(span))
}

// Span is the run's length as its stages saw it: the longest time a stage's
// workers were counted for (busy or blocked), per worker.
func Span(stats []StageStats) time.Duration {
	var span time.Duration
	for _, s := range stats {
		if s.Workers > 0 {
			span = max(span, (s.Busy+s.WaitIn+s.WaitOut)/time.Duration(s.Workers))
		}
	}
	return span
}

// Stats snapshots the counters.
func (s *Stage) Stats() StageStats {
	st := StageStats{Name: s.Name, Workers: s.Workers, Busy: time.Duration(s.busy.Load()),
		WaitIn: time.Duration(s.waitIn.Load()), WaitOut: time.Duration(s.waitOut.Load()),
		In: s.in.Load(), Out: s.out.Load(), Errors: s.errors.Load()}
	if s.feed != nil {
		st.QueueCap = cap(s.feed)
		if st.In > 0 {
			st.QueueMean = float64(s.queueSum.Load()) / float64(st.In)
		}
	}
	return st
}

// Set is the stages of one run, in the order they were made (source first).
type Set struct {
	mu     sync.Mutex
	stages []*Stage
}

// NewStage adds a stage fed by feed (nil for a source).
func (s *Set) NewStage(name string, workers int, feed <-chan any) *Stage {
	st := &Stage{Name: name, Workers: workers, feed: feed}
	s.mu.Lock()
	s.stages = append(s.stages, st)
	s.mu.Unlock()
	return st
}

// Stages lists the stages.
func (s *Set) Stages() []*Stage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Stage(nil), s.stages...)
}

// Stats snapshots every stage.
func (s *Set) Stats() []StageStats {
	var out []StageStats
	for _, st := range s.Stages() {
		out = append(out, st.Stats())
	}
	return out
}

// Bottleneck names the stage that held the run back: the one whose workers
// were busy for the largest share of the run (busy time / (workers × Span)).
// In a chain of bounded queues the slowest stage is the one that never waits:
// the stages before it block on their output (its queue is full) and those
// after it block on their input (it feeds them too slowly). Dividing by the
// run's span rather than the stage's own time keeps a stage that finished
// early (the source listing the videos) from looking busy. "" when no stage
// has been busy yet.
func Bottleneck(stats []StageStats) string {
	span := Span(stats)
	best, share := "", 0.0
	for _, s := range stats {
		if b := s.Share(s.Busy, span); b > share {
			best, share = s.Name, b
		}
	}
	return best
}

// Process-wide I/O counters: every run of the process adds to them (a run's
// own figures are the difference between two IOStats).
var (
	videos                 sync.Map // status -> *atomic.Int64
	sourceBytes, sinkBytes atomic.Int64

	clientsMu sync.Mutex
	clients   = map[string]*Client{}
)

// Client is the counters of one remote service vpipe retries calls to. Each
// service's client package makes its own (NewClient), so this package names
// none and a binary counts the services it links.
type Client struct {
	name            string
	retries, errors atomic.Int64
}

// NewClient registers the counters of a client named name (its label value,
// e.g. the store's type); a second call with one name returns the same one.
func NewClient(name string) *Client {
	clientsMu.Lock()
	defer clientsMu.Unlock()
	if c, ok := clients[name]; ok {
		return c
	}
	c := &Client{name: name}
	clients[name] = c
	return c
}

// Name is the client's label value.
func (c *Client) Name() string { return c.name }

// Retry counts a retried call; Error a call that failed for good.
func (c *Client) Retry() { c.retries.Add(1) }
func (c *Client) Error() { c.errors.Add(1) }

// Clients lists the registered clients' names, sorted.
func Clients() []string {
	clientsMu.Lock()
	defer clientsMu.Unlock()
	out := make([]string, 0, len(clients))
	for n := range clients {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// SourceBytes counts bytes read from a source (a file's size, or what a remote
// read fetched); SinkBytes bytes of images handed to a sink.
func SourceBytes(n int64) { sourceBytes.Add(n) }
func SinkBytes(n int64)   { sinkBytes.Add(n) }

// Video counts a video done with status (ok, failed, interrupted, partial).
func Video(status string) {
	v, _ := videos.LoadOrStore(status, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

// Videos is how many videos ended with each status so far.
func Videos() map[string]int64 {
	out := map[string]int64{}
	videos.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

// IOStats is a snapshot of the process-wide counters.
type IOStats struct {
	SourceBytes int64            `json:"source_bytes"`
	SinkBytes   int64            `json:"sink_bytes"`
	Retries     map[string]int64 `json:"retries"`
	Errors      map[string]int64 `json:"client_errors"`
}

// IO snapshots the process-wide counters.
func IO() IOStats {
	s := IOStats{SourceBytes: sourceBytes.Load(), SinkBytes: sinkBytes.Load(), Retries: map[string]int64{}, Errors: map[string]int64{}}
	clientsMu.Lock()
	defer clientsMu.Unlock()
	for n, c := range clients {
		s.Retries[n] = c.retries.Load()
		s.Errors[n] = c.errors.Load()
	}
	return s
}

// Since is what was counted after before.
func (s IOStats) Since(before IOStats) IOStats {
	d := IOStats{SourceBytes: s.SourceBytes - before.SourceBytes, SinkBytes: s.SinkBytes - before.SinkBytes,
		Retries: map[string]int64{}, Errors: map[string]int64{}}
	for k, v := range s.Retries {
		d.Retries[k] = v - before.Retries[k]
	}
	for k, v := range s.Errors {
		d.Errors[k] = v - before.Errors[k]
	}
	return d
}
