package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vpipe/vpipe/store"
)

// Lost rounds wait a random part of a window that doubles from
// CASFirstWait up to CASMaxWait, and stop when CASBudget is spent or the
// context ends; the error names the object, the rounds and the time.
func TestCASRounds(t *testing.T) {
	defer func(f, m, b time.Duration) { store.CASFirstWait, store.CASMaxWait, store.CASBudget = f, m, b }(store.CASFirstWait, store.CASMaxWait, store.CASBudget)
	store.CASFirstWait, store.CASMaxWait, store.CASBudget = 2*time.Millisecond, 8*time.Millisecond, 100*time.Millisecond
	var r store.CASRounds
	start := time.Now()
	for {
		again, err := r.Lost(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !again {
			break
		}
	}
	took := time.Since(start)
	// at most 8 ms a round past the first few: 100 ms take at least 13 rounds
	if took < 100*time.Millisecond || took > time.Second || r.Rounds() < 13 {
		t.Fatalf("gave up after %d rounds in %s; want ≥ 13 rounds in about 100 ms", r.Rounds(), took)
	}
	msg := store.CASGaveUp("s3://b/meta.json", "conditional PUT", &r, nil, errors.New("412")).Error()
	for _, want := range []string{"s3://b/meta.json", "other writers", "conditional PUT refused", "412"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var r2 store.CASRounds
	if again, err := r2.Lost(ctx); again || !errors.Is(err, context.Canceled) {
		t.Fatalf("Lost on an ended context = %v, %v", again, err)
	}
}
