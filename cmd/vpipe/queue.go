package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vpipe/vpipe/config"
	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/queue"
	"github.com/vpipe/vpipe/registry"
)

// queueFlags say which queue: --nats URL and --stream NAME.
type queueFlags struct {
	o queue.Options
}

func (q *queueFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&q.o.URL, "nats", "", "the NATS server, e.g. nats://nats:4222 (required)")
	f.StringVar(&q.o.Stream, "stream", queue.DefaultStream, "the JetStream stream (one per pipeline)")
	f.StringVar(&q.o.Creds, "nats-creds", "", "a NATS credentials `FILE` (JWT and NKey seed), for servers that want one")
	_ = cmd.MarkFlagRequired("nats")
}

// made are the flags that take effect where the stream and consumer are made
// (by enqueue, or by a worker that comes first).
func (q *queueFlags) addMade(cmd *cobra.Command) {
	f := cmd.Flags()
	f.DurationVar(&q.o.AckWait, "ack-wait", queue.DefaultAckWait, "how long a video taken by a worker that stopped answering waits before it is given to another (set on the consumer when it is made, or when given explicitly; running workers keep the heartbeat they started with)")
	f.DurationVar(&q.o.DedupWindow, "dedup-window", queue.DefaultDedupWindow, "within this time after a video is enqueued, enqueueing it again adds nothing (set on the stream when it is made, or when given explicitly)")
}

func (q *queueFlags) open(cmd *cobra.Command) (*queue.Queue, error) {
	qu, err := queue.Open(cmd.Context(), q.o)
	if err != nil {
		return nil, &exitError{code: exitFailed, err: err}
	}
	return qu, nil
}

func enqueueCmd() *cobra.Command {
	var sets []string
	var qf queueFlags
	cmd := &cobra.Command{
		Use:   "enqueue [CONFIG] --nats URL [--retry-failed]",
		Short: "Queue every video of the config's source on NATS JetStream, for vpipe worker",
		Args:  cobra.MaximumNArgs(1),
		Example: `  vpipe enqueue pipeline.yaml --nats nats://127.0.0.1:4222
  vpipe enqueue pipeline.yaml --nats nats://127.0.0.1:4222 --retry-failed   # queue the failed videos again`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, src, _, err := setup(configArg(args), sets, stderrLog(cmd))
			if err != nil {
				return err
			}
			var items []*core.Item
			if err := src.Items(cmd.Context(), func(it *core.Item) error {
				items = append(items, it)
				return cmd.Context().Err()
			}); err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			// Given explicitly, they are set even when a worker made the
			// stream and consumer first (with the defaults).
			qf.o.UpdateAckWait = cmd.Flags().Changed("ack-wait")
			qf.o.UpdateDedupWindow = cmd.Flags().Changed("dedup-window")
			qf.o.Sink = sinkID(c) // stamped on the messages: workers check it
			q, err := qf.open(cmd)
			if err != nil {
				return err
			}
			defer q.Close()
			res, err := q.Enqueue(cmd.Context(), items, src.Describe())
			if err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("%s: %w", q.Describe(), err)}
			}
			again := ""
			if qf.o.RetryFailed {
				again = fmt.Sprintf(", %d failed queued again", res.Retried)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "enqueued %d videos of %s to %s: %d new, %d already queued%s\n",
				len(items), src.Describe(), q.Describe(), res.Added, res.Duplicates, again)
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&sets, "set", nil, "override a key: --set sampling.step=5 (repeatable)")
	cmd.Flags().BoolVar(&qf.o.RetryFailed, "retry-failed", false, "also queue again the videos queue status lists as failed (within the duplicate window a plain enqueue drops them)")
	qf.add(cmd)
	qf.addMade(cmd)
	return cmd
}

func workerCmd() *cobra.Command {
	var sets []string
	var qf queueFlags
	var lf logFlags
	var untilEmpty bool
	var stallTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "worker [CONFIG] --nats URL",
		Short: "Take videos from the NATS queue and sample them, one per decode worker, until stopped",
		Args:  cobra.MaximumNArgs(1),
		Example: `  vpipe worker pipeline.yaml --nats nats://127.0.0.1:4222
  vpipe worker pipeline.yaml --nats nats://127.0.0.1:4222 --until-empty --log-file worker.log`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := lf.check(); err != nil {
				return err
			}
			if stallTimeout < 0 {
				return &exitError{code: exitUsage, err: fmt.Errorf("--stall-timeout %s: must be 0 (off) or more", stallTimeout)}
			}
			rl, err := startLog(cmd.ErrOrStderr(), lf)
			if err != nil {
				return err
			}
			defer rl.end()
			c, src, sink, err := setup(configArg(args), sets, rl.rep.Log())
			if err != nil {
				return err
			}
			qf.o.UpdateAckWait = cmd.Flags().Changed("ack-wait")
			qf.o.UpdateDedupWindow = cmd.Flags().Changed("dedup-window")
			qf.o.Sink = sinkID(c)
			q, err := qf.open(cmd)
			if err != nil {
				return err
			}
			defer q.Close()
			w, err := q.Worker(cmd.Context(), untilEmpty)
			if err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("%s: %w", q.Describe(), err)}
			}
			start := time.Now()
			err = executeWith(cmd.Context(), rl, c, src, holdForTest(sink), nil, cmd.ErrOrStderr(), lf, func(e *execution) {
				e.r.Feed = w
				e.r.StallTimeout = stallTimeout
				e.failuresRecorded = true
				q.SetLog(e.r.Log)
				e.r.Log.Info("worker", "queue", q.Describe(), "ack_wait", w.AckWait().String(), "stall_timeout", stallTimeout.String(), "until_empty", untilEmpty)
			})
			fmt.Fprintf(cmd.ErrOrStderr(), "queue: %d taken, %d acked, %d to try again, %d given back, %d terminated; %s\n",
				w.Taken.Load(), w.Acked.Load(), w.Retried.Load(), w.Returned.Load(), w.Terminated.Load(), time.Since(start).Round(time.Millisecond))
			return err
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&sets, "set", nil, "override a key: --set sampling.step=5 (repeatable)")
	qf.add(cmd)
	qf.addMade(cmd)
	f.BoolVar(&untilEmpty, "until-empty", false, "exit 0 once the queue holds no video (none waiting, none held by any worker)")
	f.IntVar(&qf.o.MaxDeliveries, "max-deliveries", queue.DefaultMaxDeliveries, "tries of one video before it is terminated and listed as failed")
	f.DurationVar(&qf.o.RetryDelay, "retry-delay", queue.DefaultRetryDelay, "wait before a failed video's second try; doubles with each further try, up to 10m")
	f.DurationVar(&stallTimeout, "stall-timeout", 5*time.Minute, "give up a try of a video that reads no packet and writes no image for this long once its decode began (a hung read or sink write): it is retried like a failed one; 0 = off")
	lf.add(cmd)
	return cmd
}

func queueCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "queue", Short: "Look at the NATS work queue"}
	var qf queueFlags
	var asJSON bool
	status := &cobra.Command{
		Use:   "status --nats URL",
		Short: "Videos waiting, in flight, done and failed (with their errors)",
		Args:  cobra.NoArgs,
		Example: `  vpipe queue status --nats nats://127.0.0.1:4222
  vpipe queue status --nats nats://127.0.0.1:4222 --json`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			qf.o.Existing = true
			q, err := qf.open(cmd)
			if err != nil {
				return err
			}
			defer q.Close()
			st, err := q.Status(cmd.Context())
			if err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("%s: %w", q.Describe(), err)}
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			printStatus(cmd, q, st)
			return nil
		},
	}
	qf.add(status)
	status.Flags().BoolVar(&asJSON, "json", false, "print the status as one JSON object (stream, pending, in_flight, done, failed)")
	cmd.AddCommand(status)
	return cmd
}

func printStatus(cmd *cobra.Command, q *queue.Queue, st *queue.Status) {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "%s\n", q.Describe())
	fmt.Fprintf(w, "pending:   %d (not yet taken)\n", st.Waiting)
	fmt.Fprintf(w, "in flight: %d (taken by a worker, or waiting for a retry)\n", st.InFlight)
	fmt.Fprintf(w, "done:      %d\n", st.Done)
	fmt.Fprintf(w, "failed:    %d\n", len(st.Failed))
	for _, f := range st.Failed {
		fmt.Fprintf(w, "  FAILED %s (%d deliveries, %s, %s): %s\n", f.Video, f.Deliveries, f.At.Format(time.RFC3339), f.Worker, f.Error)
	}
}

// sinkID names where a config writes, for the queue's check that a worker
// writes to the sink a video was queued for: each sink's type and location
// (its spec's Where), without what may differ between machines reaching the
// same place (an endpoint, a server's address, credentials).
func sinkID(c *config.Config) string {
	var ids []string
	for _, s := range c.SinkList() {
		spec, ok := registry.Lookup(registry.Sink, s.Type)
		if !ok || spec.Where == nil || s.Conf == nil {
			ids = append(ids, s.Type)
			continue
		}
		ids = append(ids, s.Type+" "+spec.Where(s.Conf)+output(s.Output))
	}
	return strings.Join(ids, ", ")
}

// output names what a store sink writes when it is not the default layout
// without splits (a worker must write the format and splits a video was
// queued for): " (format F, split a 0.8 b 0.2)".
func output(o *registry.Output) string {
	if o == nil || (o.Format == registry.Default(registry.Layout) && len(o.Split) == 0) {
		return ""
	}
	s := " (format " + o.Format
	if len(o.Split) > 0 {
		names := make([]string, 0, len(o.Split))
		for n := range o.Split {
			names = append(names, n)
		}
		sort.Strings(names)
		s += ", split"
		for _, n := range names {
			s += fmt.Sprintf(" %s %g", n, o.Split[n])
		}
	}
	return s + ")"
}
