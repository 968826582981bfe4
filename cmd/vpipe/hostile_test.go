package main_test

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
)

// dataLimit is the writable memory (RLIMIT_DATA, prlimit --data) the vpipe
// binary is given by maxRSS: if a guard against hostile input regresses, the
// child's 2.7 GB allocation fails and the test with it, instead of the machine
// running out of memory. (--as does not fit: glibc's malloc arenas and the Go
// runtime reserve about 1.75 GB of address space at start on 2 cores, more
// with more cores; reservations without write access are not data.)
const dataLimit = 1 << 30

// maxRSS runs the vpipe binary under GNU time, with its writable memory
// limited to dataLimit, and returns its output and peak resident memory in KB.
func maxRSS(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	limited := append([]string{"-f", "maxrss_kb=%M", "prlimit", fmt.Sprintf("--data=%d", dataLimit), bin}, args...)
	cmd := exec.Command("/usr/bin/time", limited...)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Run() // vpipe's exit code is not GNU time's to judge
	i := strings.LastIndex(out.String(), "maxrss_kb=")
	var kb int
	if i < 0 {
		t.Fatalf("no maxrss from /usr/bin/time:\n%s", out.String())
	}
	if _, err := fmt.Sscanf(out.String()[i:], "maxrss_kb=%d", &kb); err != nil {
		t.Fatalf("maxrss: %v\n%s", err, out.String())
	}
	return out.String(), kb
}

// Issue 16: hostile input cannot make vpipe allocate what it likes. A 2.6 KB
// MP4 declaring 60 or 82 million samples, and 160 MB of zeros named .h264
// (whose parser, finding no frame boundary, gathered it all into one packet:
// 2.2 times its size), are refused with an error naming the file while the
// process's peak memory stays under 300 MB.
func TestHostileInputBounded(t *testing.T) {
	files := []string{
		testcorpus.HostileMP4(t, 60_000_000),
		testcorpus.HostileMP4(t, 82_000_000),
		testcorpus.Zeros(t, "zeros.h264", 160<<20),
	}
	for _, f := range files {
		log, kb := maxRSS(t, "frames", f, "-o", t.TempDir())
		if !strings.Contains(log, "FAILED") || !strings.Contains(log, f+": refused: ") {
			t.Errorf("%s: want it refused, named:\n%s", f, log)
		}
		if kb > 300<<10 {
			t.Errorf("%s: peak RSS %d MB, want < 300 MB", f, kb>>10)
		}
		t.Logf("%s: peak RSS %d MB", f, kb>>10)
	}
}
