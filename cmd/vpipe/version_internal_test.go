package main

import (
	"runtime/debug"
	"testing"
)

// versionOf names a build: the release version when there is one, else the
// commit and its date from the VCS stamp (and whether the tree had changes),
// else (devel).
func TestVersionOf(t *testing.T) {
	vcs := func(version string, kv ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/vpipe/vpipe", Version: version}}
		for i := 0; i+1 < len(kv); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return bi
	}
	const rev, at = "5d9fe11403461a65aa7a4b7e47f9186a97b0a859", "2026-12-02T02:02:21Z"
	for _, c := range []struct {
		stamped string // -ldflags -X main.Version
		bi      *debug.BuildInfo
		want    string
	}{
		{"v1.4.0", vcs("(devel)", "vcs.revision", rev), "v1.4.0"},
		{"", vcs("v1.3.2", "vcs.revision", rev, "vcs.time", at), "v1.3.2"}, // go install …@v1.3.2
		{"", vcs("(devel)", "vcs.revision", rev, "vcs.time", at, "vcs.modified", "false"), "commit 5d9fe1140346 (" + at + ")"},
		{"", vcs("(devel)", "vcs.revision", rev, "vcs.time", at, "vcs.modified", "true"), "commit 5d9fe1140346 (" + at + ", with uncommitted changes)"},
		// go 1.24+ in a checkout: a pseudo-version made of the same commit
		{"", vcs("v0.0.0-20261202020221-5d9fe1140346", "vcs.revision", rev, "vcs.time", at, "vcs.modified", "false"), "commit 5d9fe1140346 (" + at + ")"},
		{"", vcs("v0.0.0-20261202020221-5d9fe1140346+dirty", "vcs.revision", rev, "vcs.time", at, "vcs.modified", "true"), "commit 5d9fe1140346 (" + at + ", with uncommitted changes)"},
		{"", vcs("(devel)", "vcs.revision", rev), "commit 5d9fe1140346"},
		// go install …/cmd/vpipe@<commit>: no VCS stamp, but the pseudo-version holds the commit and its date
		{"", vcs("v0.0.0-20261202020221-5d9fe1140346"), "v0.0.0-20261202020221-5d9fe1140346"},
		{"", vcs("v1.3.3-0.20261202020221-5d9fe1140346"), "v1.3.3-0.20261202020221-5d9fe1140346"},
		{"", vcs("(devel)"), "(devel)"},
		{"", vcs(""), "(devel)"},
		{"", nil, "(devel)"},
	} {
		if got := versionOf(c.stamped, c.bi); got != c.want {
			t.Errorf("versionOf(%q, %+v) = %q, want %q", c.stamped, c.bi, got, c.want)
		}
	}
}
