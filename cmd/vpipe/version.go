package main

import (
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vpipe/vpipe/media"
)

// Version is set at build time (-ldflags "-X main.Version=..."); otherwise the
// module's release version, or the commit from the build's VCS stamp, is used.
var Version = ""

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print vpipe's and the FFmpeg libraries' versions",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			bi, _ := debug.ReadBuildInfo()
			fmt.Fprintf(cmd.OutOrStdout(), "vpipe %s, %s\nFFmpeg: %s\n", versionOf(Version, bi), runtime.Version(), media.Versions())
		},
	}
}

// pseudo is a module pseudo-version (what go build makes of a commit), with
// +dirty when the tree had changes.
var pseudo = regexp.MustCompile(`\d{14}-[0-9a-f]{12}(\+dirty)?$`)

// versionOf names the build: the version stamped with -ldflags, else the
// module's release version (go install …@v1.2.3), else the commit and its date
// from the VCS stamp go build records in a git checkout ("commit 5d9fe1140346
// (2026-12-02T02:02:21Z, with uncommitted changes)"), else "(devel)".
func versionOf(stamped string, bi *debug.BuildInfo) string {
	if stamped != "" {
		return stamped
	}
	if bi == nil {
		return "(devel)"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" && !pseudo.MatchString(v) && !strings.HasSuffix(v, "+dirty") {
		return v
	}
	vcs := map[string]string{}
	for _, s := range bi.Settings {
		vcs[s.Key] = s.Value
	}
	rev := vcs["vcs.revision"]
	if rev == "" {
		return moduleVersion(bi.Main.Version)
	}
	var about []string
	if t := vcs["vcs.time"]; t != "" {
		about = append(about, t)
	}
	if vcs["vcs.modified"] == "true" {
		about = append(about, "with uncommitted changes")
	}
	v := "commit " + rev[:min(12, len(rev))]
	if len(about) > 0 {
		v += " (" + strings.Join(about, ", ") + ")"
	}
	return v
}

// moduleVersion is the module's version when it says something: a
// pseudo-version names the commit and its date.
func moduleVersion(v string) string {
	if v == "" {
		return "(devel)"
	}
	return v
}
