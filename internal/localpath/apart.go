// Package localpath compares paths on this machine: a sink folder must not be,
// hold or lie inside its source.
package localpath

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Apart refuses a sink folder (the config key named key) that is, holds or lies
// inside the source path (the key named srcKey):
// writing there would rewrite the source project's meta.json and put image
// datasets among its videos. Both paths are compared as absolute paths with
// symlinks resolved (the part of the sink path that does not exist yet is taken
// as written).
func Apart(key, sinkPath, srcKey, sourcePath string) error {
	sink, err := resolve(sinkPath)
	if err != nil {
		return fmt.Errorf("%s %s: %w", key, sinkPath, err)
	}
	src, err := resolve(sourcePath)
	if err != nil {
		return fmt.Errorf("%s %s: %w", srcKey, sourcePath, err)
	}
	how := ""
	switch {
	case sink == src:
		how = "is"
	case inside(sink, src):
		how = "is inside"
	case inside(src, sink):
		how = "holds"
	default:
		return nil
	}
	named := func(p, r string) string {
		if p == r {
			return p
		}
		return fmt.Sprintf("%s (%s)", p, r)
	}
	return fmt.Errorf("%s %s %s %s %s: vpipe would write into its own input; choose a %s outside it",
		key, named(sinkPath, sink), how, srcKey, named(sourcePath, src), key)
}

// resolve makes p absolute with symlinks resolved in its longest existing prefix.
func resolve(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	var rest []string
	for dir := abs; ; dir = filepath.Dir(dir) {
		r, err := filepath.EvalSymlinks(dir)
		if err == nil {
			return filepath.Join(append([]string{r}, rest...)...), nil
		}
		if !os.IsNotExist(err) || dir == filepath.Dir(dir) {
			return "", err
		}
		rest = append([]string{filepath.Base(dir)}, rest...)
	}
}

// inside tells whether p lies under dir.
func inside(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
