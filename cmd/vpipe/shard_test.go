package main_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
)

// startAll starts one vpipe process per argument list at once and waits for
// them all: their outputs and exit codes.
func startAll(t *testing.T, env []string, argss ...[]string) ([]string, []int) {
	t.Helper()
	outs, codes := make([]string, len(argss)), make([]int, len(argss))
	cmds := make([]*exec.Cmd, len(argss))
	bufs := make([]*bytes.Buffer, len(argss))
	for i, a := range argss {
		cmds[i] = exec.Command(bin, a...)
		cmds[i].Dir = "../.."
		cmds[i].Env = env
		bufs[i] = &bytes.Buffer{}
		cmds[i].Stdout, cmds[i].Stderr = bufs[i], bufs[i]
	}
	var wg sync.WaitGroup
	for i := range cmds {
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range cmds {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			err := cmds[i].Wait()
			if ee, ok := err.(*exec.ExitError); ok {
				codes[i] = ee.ExitCode()
			} else if err != nil {
				codes[i] = -1
			}
		}(i)
	}
	wg.Wait()
	for i := range bufs {
		outs[i] = bufs[i].String()
	}
	return outs, codes
}

var writtenRe = regexp.MustCompile(`frames: (\d+) written, (\d+) skipped`)

// summaryWritten reads "frames: N written" from a run's summary.
func summaryWritten(t *testing.T, log string) int {
	t.Helper()
	m := writtenRe.FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("no summary in:\n%s", log)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// planVideos lists the videos a plan shows (its rows, without TOTAL).
func planVideos(t *testing.T, args ...string) []string {
	t.Helper()
	out, code := vpipe(t, append([]string{"plan"}, args...)...)
	if code != 0 {
		t.Fatalf("plan %v: exit %d\n%s", args, code, out)
	}
	var vs []string
	for _, l := range strings.Split(out, "\n")[1:] {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] != "TOTAL" && f[0] != "shard" {
			vs = append(vs, f[0])
		}
	}
	return vs
}

// Three shards run at once into one local sink write exactly the tree of one
// plain run, each video by exactly one shard; a video's shard does not change
// when videos are added to the source.
func TestShardsTogether(t *testing.T) {
	src := testcorpus.Folder(t, t.TempDir(), testcorpus.Small, testcorpus.ManyVideos...)
	args := func(out string, extra ...string) []string {
		return append([]string{"run", "pipeline.yaml", "--set", "source.path=" + src, "--set", "sink.path=" + out,
			"--set", "sampling.step=2"}, extra...)
	}
	plain := t.TempDir()
	log, code := vpipe(t, args(plain)...)
	if code != 0 {
		t.Fatalf("plain run: exit %d\n%s", code, log)
	}
	total := summaryWritten(t, log)
	if total != len(testcorpus.ManyVideos)*5 {
		t.Fatalf("plain run wrote %d images", total)
	}

	out := filepath.Join(t.TempDir(), "out") // made by the shards, racing
	logs, codes := startAll(t, os.Environ(), args(out, "--shard", "0/3"), args(out, "--shard", "1/3"), args(out, "--shard", "2/3"))
	sum := 0
	for i := range logs {
		if codes[i] != 0 {
			t.Fatalf("shard %d/3: exit %d\n%s", i, codes[i], logs[i])
		}
		if n := summaryWritten(t, logs[i]); n == 0 {
			t.Errorf("shard %d/3 wrote nothing (the test wants every shard busy)\n%s", i, logs[i])
		} else {
			sum += n
		}
	}
	// Every image written once: a video written by two shards would count twice.
	if sum != total {
		t.Fatalf("the shards wrote %d images together, a plain run %d", sum, total)
	}
	if a, b := tree(t, out), tree(t, plain); fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("3 shards at once differ from a plain run:\n%v\n%v", keys(a), keys(b))
	}

	// Each video in exactly one shard's plan.
	shardOf := map[string]int{}
	for i := 0; i < 3; i++ {
		for _, v := range planVideos(t, "pipeline.yaml", "--set", "source.path="+src, "--set", "sink.path="+t.TempDir(), "--shard", fmt.Sprintf("%d/3", i)) {
			if j, ok := shardOf[v]; ok {
				t.Fatalf("%s is in shards %d and %d", v, j, i)
			}
			shardOf[v] = i
		}
	}
	if len(shardOf) != len(testcorpus.ManyVideos) {
		t.Fatalf("the shards' plans list %d videos: %v", len(shardOf), shardOf)
	}
	// More videos in the source: none of the others moves.
	testcorpus.Folder(t, src, testcorpus.Small, "a/new1.mp4", "c/new2.mp4", "new3.mp4", "b/sub/new4.mp4")
	moved := 0
	for i := 0; i < 3; i++ {
		for _, v := range planVideos(t, "pipeline.yaml", "--set", "source.path="+src, "--set", "sink.path="+t.TempDir(), "--shard", fmt.Sprintf("%d/3", i)) {
			if j, ok := shardOf[v]; ok && j != i {
				t.Errorf("%s moved from shard %d to %d when videos were added", v, j, i)
			}
			if _, ok := shardOf[v]; ok {
				moved++
			}
		}
	}
	if moved != len(shardOf) {
		t.Fatalf("%d of %d videos found again", moved, len(shardOf))
	}
}

// --shard is checked before anything runs, with the value in the error.
func TestShardFlagChecked(t *testing.T) {
	for _, bad := range []string{"3/3", "1", "x/2", "0/0"} {
		out, code := vpipe(t, "run", "pipeline.yaml", "--shard", bad, "--set", "sink.path="+t.TempDir())
		if code != 2 || !strings.Contains(out, fmt.Sprintf("--shard %q", bad)) {
			t.Errorf("--shard %s: exit %d\n%s", bad, code, out)
		}
	}
	out, code := vpipe(t, "plan", "pipeline.yaml", "--shard", "0/1", "--set", "sink.path="+t.TempDir())
	if code != 0 || !strings.Contains(out, "shard 0/1: 3 of the source's 3 videos") {
		t.Fatalf("plan --shard 0/1: exit %d\n%s", code, out)
	}
}
