package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A binary built by go build in a git checkout names its commit and the
// commit's date: the work tree's files (untracked ones too) are committed in a fresh repository
// at a known date, and built there.
func TestVersionNamesCommit(t *testing.T) {
	repo := t.TempDir()
	files, err := exec.Command("git", "-C", "../..", "ls-files", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(string(files)) {
		b, err := os.ReadFile(filepath.Join("../..", f))
		if err != nil {
			continue // deleted in the work tree
		}
		if err := os.MkdirAll(filepath.Join(repo, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_COMMITTER_DATE=2001-02-03T04:05:06Z", "GIT_AUTHOR_DATE=2001-02-03T04:05:06Z")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", "-A")
	git("commit", "-q", "-m", "the tree under test")
	rev := git("rev-parse", "HEAD")
	exe := filepath.Join(t.TempDir(), "vpipe")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", exe, "./cmd/vpipe") // (this machine's GOFLAGS may turn the stamp off)
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(exe, "version").CombinedOutput()
	want := "vpipe commit " + rev[:12] + " (2001-02-03T04:05:06Z), go"
	if err != nil || !strings.HasPrefix(string(out), want) {
		t.Fatalf("vpipe version: %v\n%s\nwant it to begin %q", err, out, want)
	}
}
