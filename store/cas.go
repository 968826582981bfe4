package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// The pacing of a compare-and-swap Update's rounds lost to other writers.
// Sixteen upload workers merging meta.json at one moment each lose all but
// one round; retried at once they collide again, and the last loses round
// after round. A pause drawn at random (full jitter) from a window that
// doubles spreads them out; the bound is time, not rounds, so a crowd of
// writers gets through and a store that never lets one write is still left.
var (
	CASFirstWait = 20 * time.Millisecond // the first window
	CASMaxWait   = time.Second           // the largest window
	CASBudget    = 60 * time.Second      // the most an Update keeps trying
)

// CASRounds counts an Update's rounds and paces those lost to other writers.
// The zero value is ready; it starts with the first Lost.
type CASRounds struct {
	start  time.Time
	rounds int
}

// Lost records a round another writer won and waits before the next one; it
// returns false (at once) when CASBudget is spent, or ctx's error when ctx
// ends while it waits.
func (r *CASRounds) Lost(ctx context.Context) (bool, error) {
	if r.rounds == 0 {
		r.start = time.Now()
	}
	r.rounds++
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if time.Since(r.start) >= CASBudget {
		return false, nil
	}
	window := CASMaxWait
	if r.rounds <= 30 {
		window = min(CASFirstWait<<(r.rounds-1), CASMaxWait)
	}
	t := time.NewTimer(rand.N(window) + 1)
	defer t.Stop()
	select {
	case <-t.C:
		return true, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// Rounds is how many rounds were lost.
func (r *CASRounds) Rounds() int { return r.rounds }

// Since is how long the rounds took, from the first lost.
func (r *CASRounds) Since() time.Duration { return time.Since(r.start).Round(time.Millisecond) }

// CASGaveUp is the error of an Update that stopped losing rounds: object
// names what it updates, refused the refusal ("conditional PUT"), waitErr
// the context's end (nil when the budget ran out), last the last refusal.
func CASGaveUp(object, refused string, r *CASRounds, waitErr, last error) error {
	if waitErr != nil {
		return fmt.Errorf("%s: stopped after %d merges lost to other writers (%s refused): %w", object, r.Rounds(), refused, waitErr)
	}
	return fmt.Errorf("%s: changed by other writers during each of %d merges in %s (%s refused); nothing was written, run again: %w",
		object, r.Rounds(), r.Since(), refused, last)
}
