package config_test

import (
	"strings"
	"testing"

	"github.com/vpipe/vpipe/config"
)

// TestEncodeFormat: each output format with its options loads; an unknown
// format, a quality out of range or meant for another format, and lossless
// outside webp are errors naming the key and the value.
func TestEncodeFormat(t *testing.T) {
	src := "source: {path: " + t.TempDir() + "}\n"
	for _, ok := range []string{"", "{format: png, compression: 6}", "{format: jpeg}", "{format: jpeg, quality: 75}",
		"{format: webp, quality: 100}", "{format: webp, lossless: true}"} {
		text := src
		if ok != "" {
			text += "stages: {encode: " + ok + "}\n"
		}
		c, err := config.Load(write(t, text), nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", ok, err)
		}
		if ok == "" && (c.Stages.Encode.Format != "png" || c.Stages.Encode.Options().Ext() != ".png") {
			t.Fatalf("default: %+v", c.Stages.Encode)
		}
	}
	for enc, want := range map[string]string{
		"{format: gif}":                              `stages.encode.format: unknown image format "gif" (available: jpeg, png, webp)`,
		"{format: jpeg, quality: 101}":               "stages.encode.quality: must be 1–100, got 101",
		"{format: webp, quality: -3}":                "stages.encode.quality: must be 1–100, got -3",
		"{quality: 90}":                              "stages.encode.quality: only for jpeg and webp (stages.encode.format is png",
		"{format: webp, lossless: true, quality: 5}": "stages.encode.quality: not for lossless webp (stages.encode.lossless is true), got 5",
		"{format: jpeg, lossless: true}":             `stages.encode.lossless: only for webp (stages.encode.format is "jpeg"), got true`,
	} {
		err := problems(t, mustFail(config.Load(write(t, src+"stages: {encode: "+enc+"}\n"), nil, nil)))
		if !strings.Contains(err, want) {
			t.Errorf("%s: want %q in:\n%s", enc, want, err)
		}
	}
	// --set and the environment reach the same keys.
	c, err := config.Load(write(t, src), []string{"stages.encode.format=jpeg"}, []string{"VPIPE_STAGES_ENCODE_QUALITY=80"})
	if err != nil || c.Stages.Encode.Options().Ext() != ".jpg" || c.Stages.Encode.Quality != 80 {
		t.Fatalf("%v %+v", err, c.Stages.Encode)
	}
}
