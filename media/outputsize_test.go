package media_test

import (
	"testing"

	"github.com/vpipe/vpipe/media"
)

// TestOutputSizeKeepAspect: the kept side is the SDK's restore_proportional_size,
// max(1, round(asked / side × other)) with Python's round (half to even) on the
// float64 result, evaluated in that order (values from Python 3).
func TestOutputSizeKeepAspect(t *testing.T) {
	for _, c := range []struct{ w, h, reqH, reqW, wantW, wantH int }{
		{256, 144, 0, 200, 200, 112},     // 200/256·144 = 112.5 → 112 (half up gave 113)
		{1920, 1080, 0, 1000, 1000, 562}, // 562.5 → 562
		{100, 50, 0, 75, 75, 38},         // 37.5 → 38 (to even)
		{1920, 1080, 0, 300, 300, 169},   // 168.75
		{1000, 1500, 500, 0, 333, 500},   // height given: 500/1500·1000 = 333.33
		{1000, 1500, 333, 0, 222, 333},   // 333/1500·1000 = 222.0
		{1500, 1000, 333, 0, 500, 333},   // 333/1000·1500 = 499.5 → 500 (to even)
		{6, 51, 0, 25, 25, 213},          // 25/6·51 = 212.50000000000003 in float64 → 213
		{6, 51, 0, 55, 55, 467},          // 467.49999999999994 → 467
		{1000, 1, 0, 1, 1, 1},            // 0.001 → 0, at least 1
		{1000, 5, 0, 101, 101, 1},        // 0.505 → 1
		{320, 240, 0, 0, 320, 240},       // nothing asked: the size as it is
		{320, 240, 100, 50, 50, 100},     // both asked: as asked
	} {
		if w, h := media.OutputSize(c.w, c.h, c.reqH, c.reqW); w != c.wantW || h != c.wantH {
			t.Errorf("%dx%d asked height %d width %d: %dx%d, want %dx%d", c.w, c.h, c.reqH, c.reqW, w, h, c.wantW, c.wantH)
		}
	}
}
