package s3e2e

import (
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
)

// Three shards run at once into one S3 prefix store exactly the tree of one
// plain local run; together they write each image once. meta.json is made by
// conditional PUTs racing on a new prefix.
func TestShardsTogetherS3(t *testing.T) {
	src := testcorpus.Folder(t, t.TempDir(), testcorpus.Small, testcorpus.ManyVideos...)
	ref := t.TempDir()
	out := mustRun(t, "run", config(t, localSrc(src), localSink(ref)))
	want := localTree(t, ref)
	bucket := srv.Bucket(t)
	cfg := config(t, localSrc(src), s3Sink("s3://"+bucket+"/proj", srv.Endpoint))
	var wg sync.WaitGroup
	logs, errs := make([]bytes.Buffer, 3), make([]error, 3)
	for i := 0; i < 3; i++ {
		cmd := exec.Command(bin, "run", cfg, "--shard", fmt.Sprintf("%d/3", i))
		cmd.Dir, cmd.Env = root, env()
		cmd.Stdout, cmd.Stderr = &logs[i], &logs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func(i int) { defer wg.Done(); errs[i] = cmd.Wait() }(i)
	}
	wg.Wait()
	re := regexp.MustCompile(`frames: (\d+) written`)
	sum := 0
	for i := range logs {
		m := re.FindStringSubmatch(logs[i].String())
		if errs[i] != nil || m == nil {
			t.Fatalf("shard %d/3: %v\n%s", i, errs[i], logs[i].String())
		}
		n, _ := strconv.Atoi(m[1])
		if n == 0 {
			t.Errorf("shard %d/3 wrote nothing (the test wants every shard busy)", i)
		}
		sum += n
	}
	if total := images(want); sum != total {
		t.Fatalf("the shards wrote %d images together, the plain run %d\n%s", sum, total, out)
	}
	sameTree(t, "S3 tree of 3 shards", srv.Tree(t, bucket, "proj"), want)
}
