package geos

import (
	"fmt"
	"sync"
	"testing"
)

func square(x0, y0, x1, y1 float64) []XY {
	return []XY{{x0, y0}, {x0, y1}, {x1, y1}, {x1, y0}, {x0, y0}}
}

func TestClipPolygonSplits(t *testing.T) {
	// a U open at the bottom, crossing the window's bottom edge y = 9: two legs
	u := []XY{{0, 0}, {0, 20}, {3, 20}, {3, 5}, {6, 5}, {6, 20}, {9, 20}, {9, 0}, {0, 0}}
	got, err := ClipPolygon([][]XY{u}, square(0, 0, 9, 9), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%v", got)
	}
	got, err = ClipPolygon([][]XY{u}, square(0, 10, 9, 30), true)
	if err != nil || len(got) != 2 {
		t.Fatalf("%v %v", got, err)
	}
	t.Logf("GEOS %s: %v", Version(), got)
}

func TestErrors(t *testing.T) {
	if _, err := ClipPolygon([][]XY{{{0, 0}, {1, 1}, {0, 0}}}, square(0, 0, 9, 9), false); err == nil {
		t.Fatal("3-point ring accepted")
	} else {
		t.Log(err)
	}
	if _, err := ClipPolygon([][]XY{{{0, 0}, {1, 1}, {1, 0}, {2, 2}}}, square(0, 0, 9, 9), false); err == nil {
		t.Fatal("open ring accepted")
	} else {
		t.Log(err)
	}
}

// TestParallel: many goroutines at once, each on its own context (run with -race).
func TestParallel(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				l, err := ClipLine([]XY{{-5, float64(g)}, {15, float64(g)}}, square(0, 0, 9, 9))
				if err != nil || fmt.Sprint(l) != fmt.Sprintf("[[[0 %d] [9 %d]]]", g, g) {
					errs <- fmt.Errorf("goroutine %d: %v %v", g, l, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
