package media_test

import (
	"testing"

	"github.com/vpipe/vpipe/media"
)

// TestScaleFiltersAllConvert: every filter name mediaopt lists (what config
// accepts) is one media can resize with, so a config that passes validation
// never fails at NewConverter.
func TestScaleFiltersAllConvert(t *testing.T) {
	for _, f := range media.ScaleFilters() {
		if _, err := media.NewConverter(f); err != nil {
			t.Errorf("filter %q: %v", f, err)
		}
	}
}
