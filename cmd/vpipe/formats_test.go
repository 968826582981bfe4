package main_test

import (
	"encoding/json"
	"fmt"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunFormats: stages.encode.format names the images with its extension
// (annotations and metas follow), records format and quality in the video's
// dataset, and a re-run with another format or quality into it is refused
// naming both; datasets recorded before formats existed are PNG datasets.
func TestRunFormats(t *testing.T) {
	out := t.TempDir()
	run := func(set ...string) (string, int) {
		a := []string{"run", "pipeline.yaml", "--set", "sink.path=" + out}
		for _, s := range set {
			a = append(a, "--set", s)
		}
		return vpipe(t, a...)
	}
	if log, code := run("stages.encode.format=jpeg", "stages.encode.quality=85"); code != 0 || !strings.Contains(log, "38 written") {
		t.Fatalf("jpeg run: exit %d\n%s", code, log)
	}
	ds := filepath.Join(out, "ds0/datasets/traffic.mp4")
	f, err := os.Open(filepath.Join(ds, "img/traffic.mp4_frame_095.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	im, err := jpeg.Decode(f)
	f.Close()
	if err != nil || im.Bounds().Dx() != 320 || im.Bounds().Dy() != 180 {
		t.Fatalf("%v %v", err, im)
	}
	for _, p := range []string{"ann/traffic.mp4_frame_095.jpg.json", "meta/traffic.mp4_frame_095.jpg.json"} {
		if _, err := os.Stat(filepath.Join(ds, p)); err != nil {
			t.Fatal(err)
		}
	}
	var custom map[string]any
	b, _ := os.ReadFile(filepath.Join(ds, "custom_data.json"))
	if err := json.Unmarshal(b, &custom); err != nil {
		t.Fatal(err)
	}
	if o, _ := custom["vpipe_output"].(map[string]any); o["format"] != "jpeg" || o["quality"] != 85.0 {
		t.Fatalf("recorded output settings: %s", b)
	}
	if log, code := run("stages.encode.format=jpeg", "stages.encode.quality=85"); code != 0 || !strings.Contains(log, "0 written, 38 skipped") {
		t.Fatalf("re-run: exit %d\n%s", code, log)
	}
	before := tree(t, out)
	for _, c := range []struct {
		set  []string
		want string
	}{
		{nil, `"format":"jpeg",` + `"height":0,"quality":85,"width":0}, this run makes {"autorotate":true,"copy_annotations":true,"filter":"bicubic","format":"png","height":0,"width":0}`},
		{[]string{"stages.encode.format=jpeg", "stages.encode.quality=70"}, `"quality":85,"width":0}, this run makes {"autorotate":true,"copy_annotations":true,"filter":"bicubic","format":"jpeg","height":0,"quality":70`},
		{[]string{"stages.encode.format=webp", "stages.encode.lossless=true"}, `"format":"webp","height":0,"lossless":true`},
	} {
		if log, code := run(c.set...); code != 1 || !strings.Contains(log, c.want) {
			t.Fatalf("%v: exit %d, want %q in\n%s", c.set, code, c.want, log)
		}
		if fmt.Sprint(tree(t, out)) != fmt.Sprint(before) {
			t.Fatalf("%v: the refused run changed the output", c.set)
		}
	}

	// A PNG dataset recorded before formats existed (no "format") is a PNG dataset.
	png := t.TempDir()
	if log, code := vpipe(t, "run", "pipeline.yaml", "--set", "sink.path="+png); code != 0 {
		t.Fatalf("png run: exit %d\n%s", code, log)
	}
	cd := filepath.Join(png, "ds0/datasets/traffic.mp4/custom_data.json")
	b, _ = os.ReadFile(cd)
	old := strings.Replace(string(b), `"format": "png",`, "", 1)
	if old == string(b) {
		t.Fatalf("no format recorded: %s", b)
	}
	os.WriteFile(cd, []byte(old), 0o644)
	if log, code := vpipe(t, "run", "pipeline.yaml", "--set", "sink.path="+png); code != 0 || !strings.Contains(log, "0 written, 38 skipped") {
		t.Fatalf("re-run over an old record: exit %d\n%s", code, log)
	}
}
