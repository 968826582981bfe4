// Package queue is vpipe's work queue on NATS JetStream: one message per
// video in a work-queue stream, taken by workers through one durable pull
// consumer, acked only once the sink holds every image of the video.
//
// Delivery is at least once; the sinks make it effectively once. A worker that
// dies (SIGKILL included) stops sending in-progress heartbeats, the server
// redelivers the video after the consumer's ack wait, and the next worker
// resumes from the images already in the sink. A video that fails is retried
// with a growing delay (nak with delay), and after MaxDeliveries it is
// terminated, its error kept in a key-value bucket that Status reads.
//
// Enqueueing is deduplicated by message id (a hash of the video's dataset path
// and name) within the stream's duplicate window: inside it, a second enqueue
// adds nothing. After it, the video is queued again, and the worker that takes
// it finds all its images in the sink and writes nothing.
package queue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/shard"
)

// Defaults of Options.
const (
	DefaultStream        = "VPIPE"
	DefaultAckWait       = time.Minute
	DefaultDedupWindow   = 24 * time.Hour
	DefaultMaxDeliveries = 5
	DefaultRetryDelay    = 10 * time.Second
	maxRetryDelay        = 10 * time.Minute
	consumerName         = "workers"
)

// Options say where the queue is and how it behaves.
type Options struct {
	URL string // nats://host:4222 (tls:// for TLS; user:password@ in it works)
	// Creds is a NATS credentials file (a JWT and NKey seed), "" = none.
	Creds  string
	Stream string // stream name ("" = VPIPE)
	// AckWait is how long the server waits for a heartbeat or an ack before it
	// redelivers a video; set on the consumer when it is made (or changed by a
	// worker given it explicitly). 0 = 1 minute.
	AckWait time.Duration
	// UpdateAckWait sets AckWait on an existing consumer (it was given
	// explicitly). Running workers keep the heartbeat they started with.
	UpdateAckWait bool
	// DedupWindow is the stream's duplicate window, set when it is made. 0 = 24 h.
	DedupWindow time.Duration
	// UpdateDedupWindow sets DedupWindow on an existing stream (it was given
	// explicitly: a worker may have made the stream first, with the default).
	UpdateDedupWindow bool
	// MaxDeliveries bounds the tries of one video (0 = 5).
	MaxDeliveries int
	// RetryDelay is the wait before the second try of a failed video; it
	// doubles with each further try, up to 10 minutes. 0 = 10 s.
	RetryDelay time.Duration
	// Poll is how long one fetch waits for a message (0 = 1 s, at most AckWait/2).
	Poll time.Duration
	// Existing: find the stream and its parts, never make them (status).
	Existing bool
	// RetryFailed: Enqueue queues again the videos listed as failed, under a
	// message id of their own (once per failure record), so the duplicate
	// window does not drop them.
	RetryFailed bool
	// Sink names the pipeline's sink (type and location): Enqueue stamps it on
	// every message, and a worker refuses a message stamped with another
	// (two pipelines sharing one stream), "" = unchecked.
	Sink string
	// Log gets the queue's lines (the connection lost and back, videos taken,
	// retried, terminated); nil = none. SetLog changes it.
	Log *slog.Logger
}

var streamName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,200}$`)

func (o *Options) defaults() error {
	if o.Stream == "" {
		o.Stream = DefaultStream
	}
	if !streamName.MatchString(o.Stream) {
		return fmt.Errorf("--stream %q: use letters, digits, - and _ only", o.Stream)
	}
	if o.AckWait == 0 {
		o.AckWait = DefaultAckWait
	}
	if o.AckWait < time.Second {
		return fmt.Errorf("--ack-wait %s: want at least 1s", o.AckWait)
	}
	if o.DedupWindow == 0 {
		o.DedupWindow = DefaultDedupWindow
	}
	if o.DedupWindow < 100*time.Millisecond {
		return fmt.Errorf("--dedup-window %s: want at least 100ms", o.DedupWindow)
	}
	if o.MaxDeliveries == 0 {
		o.MaxDeliveries = DefaultMaxDeliveries
	}
	if o.MaxDeliveries < 1 {
		return fmt.Errorf("--max-deliveries %d: want at least 1", o.MaxDeliveries)
	}
	if o.RetryDelay == 0 {
		o.RetryDelay = DefaultRetryDelay
	}
	if o.RetryDelay < 0 {
		return fmt.Errorf("--retry-delay %s: want a positive duration", o.RetryDelay)
	}
	if o.Poll == 0 {
		o.Poll = time.Second
	}
	return nil
}

// Queue is a connection to one stream and its buckets.
type Queue struct {
	o      Options
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	done   jetstream.KeyValue // video key → doneRecord
	failed jetstream.KeyValue // video key → Failure

	log     atomic.Pointer[slog.Logger] // read by the connection's handlers, on their goroutine
	closing atomic.Bool                 // Close was called: the connection's end is no news
	lost    atomic.Int64                // when (unix ns) the connection was lost, 0 = connected
	nagged  atomic.Int64                // when (unix ns) a failed reconnect was last logged
}

// Subject is where the stream's messages are published.
func (q *Queue) Subject() string { return "vpipe.queue." + q.o.Stream }

// Describe names the queue for logs.
func (q *Queue) Describe() string {
	u := q.nc.ConnectedUrlRedacted()
	if u == "" { // not connected now
		u = redact(q.o.URL)
	}
	return fmt.Sprintf("stream %s on %s", q.o.Stream, u)
}

// Open connects and finds the stream, its consumer and buckets, making those
// that are missing.
func Open(ctx context.Context, o Options) (*Queue, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	if o.URL == "" {
		return nil, errors.New("--nats: the NATS server's URL is needed, e.g. nats://127.0.0.1:4222")
	}
	host, _ := os.Hostname()
	q := &Queue{o: o}
	q.SetLog(o.Log)
	opts := append([]nats.Option{nats.Name("vpipe " + host), nats.MaxReconnects(-1)}, q.handlers()...)
	if o.Creds != "" {
		if _, err := os.Stat(o.Creds); err != nil {
			return nil, fmt.Errorf("--nats-creds: %w", err)
		}
		opts = append(opts, nats.UserCredentials(o.Creds))
	}
	nc, err := nats.Connect(o.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("--nats %q: %w", redact(o.URL), err)
	}
	q.nc = nc
	if err := q.ensure(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("%s: %w", q.Describe(), err)
	}
	return q, nil
}

// redact drops the user info (user, password, token) of every server in
// a comma-separated --nats list, so that the list can be logged.
func redact(list string) string {
	parts := strings.Split(list, ",")
	for i, p := range parts {
		parts[i] = redactOne(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}

func redactOne(s string) string {
	if u, err := url.Parse(s); err == nil && u.Host != "" {
		u.User = nil
		return u.String()
	}
	at := strings.LastIndex(s, "@") // unparsable: keep only what follows the user info
	if at < 0 {
		return s
	}
	scheme := ""
	if j := strings.Index(s, "://"); j >= 0 && j < at {
		scheme = s[:j+3]
	}
	return scheme + s[at+1:]
}

// SetLog sends the queue's log lines to l (nil: nowhere).
func (q *Queue) SetLog(l *slog.Logger) {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	q.log.Store(l)
}

func (q *Queue) logger() *slog.Logger { return q.log.Load() }

// handlers log what happens to the connection: nats.go reconnects by itself
// (without end), and without these lines an outage passes in silence.
func (q *Queue) handlers() []nats.Option {
	server := redact(q.o.URL)
	return []nats.Option{
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if !q.closing.Load() {
				q.lost.Store(time.Now().UnixNano())
				q.nagged.Store(0)
				q.logger().Warn("queue: NATS connection lost; reconnecting", "server", server, "err", errText(err))
			}
		}),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) { q.stillDown(server, err) }),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			q.logger().Info("queue: NATS reconnected", "server", nc.ConnectedUrlRedacted(), "down_for", q.downFor().String())
			q.lost.Store(0)
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			if !q.closing.Load() {
				q.logger().Error("queue: NATS connection closed", "server", server, "err", errText(nc.LastError()))
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			q.logger().Warn("queue: NATS error", "server", server, "err", errText(err))
		}),
	}
}

// stillDown logs a failed reconnect: the first of an outage, then at most
// one a minute (nats.go tries every 2 s or so, without end).
func (q *Queue) stillDown(server string, err error) {
	now := time.Now().UnixNano()
	last := q.nagged.Load()
	if last != 0 && now-last < int64(time.Minute) || !q.nagged.CompareAndSwap(last, now) {
		return
	}
	q.logger().Warn("queue: NATS still unreachable; reconnecting", "server", server, "down_for", q.downFor().String(), "err", errText(err))
}

// downFor is how long the connection has been lost (0 if it is not).
func (q *Queue) downFor() time.Duration {
	t := q.lost.Load()
	if t == 0 {
		return 0
	}
	return time.Since(time.Unix(0, t)).Round(time.Millisecond)
}

func errText(err error) string {
	if err == nil {
		return "none given"
	}
	return err.Error()
}

// Close lets go of the connection (after its pending acks are flushed).
func (q *Queue) Close() {
	q.closing.Store(true)
	_ = q.nc.Drain()
	for i := 0; i < 200 && !q.nc.IsClosed(); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	q.nc.Close()
}

func (q *Queue) ensure(ctx context.Context) error {
	js, err := jetstream.New(q.nc)
	if err != nil {
		return err
	}
	q.js = js
	q.stream, err = js.Stream(ctx, q.o.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) && q.o.Existing {
		return errors.New("no such stream: nothing was enqueued there yet (vpipe enqueue makes it)")
	}
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		q.stream, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name:        q.o.Stream,
			Description: "vpipe work queue: one message per video",
			Subjects:    []string{q.Subject()},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Duplicates:  q.o.DedupWindow,
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) { // made by another worker just now
			q.stream, err = js.Stream(ctx, q.o.Stream)
		}
	}
	if err == nil && q.o.UpdateDedupWindow && q.stream.CachedInfo().Config.Duplicates != q.o.DedupWindow {
		cfg := q.stream.CachedInfo().Config
		cfg.Duplicates = q.o.DedupWindow
		q.stream, err = js.UpdateStream(ctx, cfg)
	}
	if err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	_, err = q.stream.Consumer(ctx, consumerName)
	if (errors.Is(err, jetstream.ErrConsumerNotFound) && !q.o.Existing) || (err == nil && q.o.UpdateAckWait) {
		// Deliveries are bounded by the worker (it must record the error
		// before terminating), so the server's MaxDeliver is unlimited.
		_, err = q.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
			Durable:       consumerName,
			Description:   "vpipe workers",
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       q.o.AckWait,
			MaxDeliver:    -1,
			MaxAckPending: -1,
		})
	}
	if err != nil {
		return fmt.Errorf("consumer %s: %w", consumerName, err)
	}
	if q.done, err = q.bucket(ctx, "done", "vpipe: videos whose images are all in the sink"); err != nil {
		return err
	}
	q.failed, err = q.bucket(ctx, "failed", "vpipe: videos terminated after their last try, with the error")
	return err
}

func (q *Queue) bucket(ctx context.Context, what, desc string) (jetstream.KeyValue, error) {
	name := "vpipe-" + q.o.Stream + "-" + what
	kv, err := q.js.KeyValue(ctx, name)
	if errors.Is(err, jetstream.ErrBucketNotFound) && !q.o.Existing {
		kv, err = q.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: name, Description: desc, History: 1, Storage: jetstream.FileStorage})
		if errors.Is(err, jetstream.ErrBucketExists) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			kv, err = q.js.KeyValue(ctx, name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", name, err)
	}
	return kv, nil
}

// Message is what a queued video's message carries: what finds the video in
// the source (the worker lists the source once and looks it up).
type Message struct {
	Video   string   `json:"video"` // dataset path and name, for people
	Dataset []string `json:"dataset"`
	Name    string   `json:"name"`
	Source  string   `json:"source"`         // the source it was listed from (for errors)
	Sink    string   `json:"sink,omitempty"` // the sink it is queued for
}

// key is a video's id in message ids and bucket keys: a hash of its dataset
// path and name (bucket keys allow only a few characters).
func key(dataset []string, name string) string {
	h := sha256.Sum256([]byte(shard.Key(dataset, name)))
	return hex.EncodeToString(h[:16])
}

// Enqueued counts what an Enqueue did.
type Enqueued struct {
	Added      int // new messages
	Duplicates int // already queued within the duplicate window
	Retried    int // failed videos queued again (RetryFailed)
}

// failedRevisions maps the key of every video listed as failed to its
// record's revision.
func (q *Queue) failedRevisions(ctx context.Context) (map[string]uint64, error) {
	revs := map[string]uint64{}
	keys, err := q.failed.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list failed videos: %w", err)
	}
	for k := range keys.Keys() {
		e, err := q.failed.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read failed video %s: %w", k, err)
		}
		revs[k] = e.Revision()
	}
	return revs, nil
}

// Enqueue publishes one message per video.
func (q *Queue) Enqueue(ctx context.Context, items []*core.Item, source string) (Enqueued, error) {
	var res Enqueued
	var failed map[string]uint64
	if q.o.RetryFailed {
		var err error
		if failed, err = q.failedRevisions(ctx); err != nil {
			return res, err
		}
	}
	futures := make([]jetstream.PubAckFuture, 0, len(items))
	retry := make([]bool, 0, len(items))
	wait := func() error {
		for i, f := range futures {
			select {
			case ack := <-f.Ok():
				switch {
				case ack.Duplicate:
					res.Duplicates++
				case retry[i]:
					res.Retried++
				default:
					res.Added++
				}
			case err := <-f.Err():
				return fmt.Errorf("publish %s: %w", f.Msg().Header.Get(jetstream.MsgIDHeader), err)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		futures, retry = futures[:0], retry[:0]
		return nil
	}
	for _, it := range items {
		b, err := json.Marshal(Message{Video: it.ID(), Dataset: it.Dataset, Name: it.Name, Source: source, Sink: q.o.Sink})
		if err != nil {
			return res, err
		}
		m := nats.NewMsg(q.Subject())
		m.Data = b
		k := key(it.Dataset, it.Name)
		id := k
		rev, isFailed := failed[k]
		if isFailed { // a new id: the first one is in the duplicate window
			id = fmt.Sprintf("%s-retry-%d", k, rev)
		}
		m.Header.Set(jetstream.MsgIDHeader, id)
		f, err := q.js.PublishMsgAsync(m)
		if err != nil {
			return res, fmt.Errorf("publish %s: %w", it.ID(), err)
		}
		futures = append(futures, f)
		retry = append(retry, isFailed)
		if len(futures) == 256 {
			if err := wait(); err != nil {
				return res, err
			}
		}
	}
	return res, wait()
}

// Failure is a video terminated after its last try.
type Failure struct {
	Video      string    `json:"video"`
	Error      string    `json:"error"`
	Deliveries int       `json:"deliveries"`
	At         time.Time `json:"at"`
	Worker     string    `json:"worker"`
}

type doneRecord struct {
	Video   string    `json:"video"`
	Written int       `json:"written"`
	Skipped int       `json:"skipped"`
	At      time.Time `json:"at"`
	Worker  string    `json:"worker"`
}

// Status is the state of the queue.
type Status struct {
	Stream   string    `json:"stream"`
	Queued   uint64    `json:"queued"`    // messages in the stream: waiting, in flight, or waiting for a retry
	Waiting  uint64    `json:"pending"`   // not yet taken by a worker
	InFlight int       `json:"in_flight"` // taken by a worker, not yet acked (or waiting for a retry)
	Done     uint64    `json:"done"`      // videos whose images are all in the sink
	Failed   []Failure `json:"failed"`
}

// Status reads the stream, consumer and buckets.
func (q *Queue) Status(ctx context.Context) (*Status, error) {
	si, err := q.stream.Info(ctx)
	if err != nil {
		return nil, err
	}
	c, err := q.stream.Consumer(ctx, consumerName)
	if err != nil {
		return nil, err
	}
	ci, err := c.Info(ctx)
	if err != nil {
		return nil, err
	}
	ds, err := q.done.Status(ctx)
	if err != nil {
		return nil, err
	}
	st := &Status{Stream: q.o.Stream, Queued: si.State.Msgs, Waiting: ci.NumPending, InFlight: ci.NumAckPending, Done: ds.Values(),
		Failed: []Failure{}}
	keys, err := q.failed.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	for k := range keys.Keys() {
		e, err := q.failed.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var f Failure
		if err := json.Unmarshal(e.Value(), &f); err != nil {
			f = Failure{Video: k, Error: fmt.Sprintf("unreadable record: %v", err)}
		}
		st.Failed = append(st.Failed, f)
	}
	sort.Slice(st.Failed, func(i, j int) bool { return st.Failed[i].Video < st.Failed[j].Video })
	return st, nil
}
