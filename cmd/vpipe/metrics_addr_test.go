package main_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
)

// --metrics on an address other machines reach (every interface) serves pprof
// and the metrics to them: the run warns, naming the address; on loopback it
// does not. --help says so.
func TestMetricsOpenAddressWarns(t *testing.T) {
	video := filepath.Join(testcorpus.Folder(t, t.TempDir(), testcorpus.Small, "v.mp4"), "v.mp4")
	const warn = "pprof and metrics are reachable from other machines"
	for _, c := range []struct {
		addr string
		warn bool
	}{{"0.0.0.0:0", true}, {":0", true}, {"127.0.0.1:0", false}, {"localhost:0", false}} {
		log, code := vpipe(t, "frames", video, "-o", t.TempDir(), "--metrics", c.addr)
		if code != 0 {
			t.Fatalf("--metrics %s: exit %d\n%s", c.addr, code, log)
		}
		warned := false
		for _, line := range strings.Split(log, "\n") {
			if strings.Contains(line, "level=WARN") && strings.Contains(line, warn) {
				warned = true
			}
		}
		if warned != c.warn {
			t.Errorf("--metrics %s: warned %v, want %v\n%s", c.addr, warned, c.warn, log)
		}
	}
	help, _ := vpipe(t, "run", "--help")
	if !strings.Contains(help, "reachable from other machines") {
		t.Errorf("run --help does not say what a non-loopback --metrics address exposes:\n%s", help)
	}
}
