package verify

import (
	"encoding/json"
	"fmt"

	"github.com/vpipe/vpipe/internal/atomicfile"
)

// WriteReport writes the result as JSON to path, atomically: ok, the counts,
// the sample and seed, and every mismatch (image, reason, detail).
func (r *Result) WriteReport(path string) error {
	out := *r
	if out.Mismatches == nil {
		out.Mismatches = []Mismatch{}
	}
	b, err := json.MarshalIndent(struct {
		OK bool `json:"ok"`
		*Result
	}{r.OK(), &out}, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, append(b, '\n'), true, ""); err != nil {
		return fmt.Errorf("--report %s: %w", path, err)
	}
	return nil
}
