package config_test

import (
	"errors"
	"strings"
	"testing"

	. "github.com/vpipe/vpipe/config"
)

func TestS3AndFanOut(t *testing.T) {
	c, err := Load(write(t, `
source: {type: s3, url: s3://videos/raw, endpoint: "http://127.0.0.1:7070"}
sinks:
  - {type: local, path: out}
  - {type: s3, url: s3://data/images, region: eu-west-1, path_style: false}
`), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Source.URL != "s3://videos/raw" || !c.Source.PathStyle || c.Source.MaxAttempts != 8 {
		t.Fatalf("source: %+v", c.Source)
	}
	l := c.SinkList()
	if len(l) != 2 || l[0].Path != "out" || l[1].URL != "s3://data/images" || l[1].PathStyle || l[1].MaxAttempts != 8 || l[1].Region != "eu-west-1" {
		t.Fatalf("sinks: %+v", l)
	}

	_, err = Load(write(t, `
source: {type: s3}
sink: {type: local}
sinks:
  - {type: s3, url: "s3://AKIA:secret@b/p", max_attempts: 0}
  - {type: local, pth: x}
  - 3
`), nil, nil)
	var ps *Problems
	if !errors.As(err, &ps) {
		t.Fatalf("%v", err)
	}
	msg := err.Error()
	for _, w := range []string{"source.url: required for a s3 source", "sinks: give either sink or sinks, not both",
		"sinks[0].url: want s3://BUCKET/PREFIX without credentials", "sinks[0].max_attempts: must be 1–100",
		"sinks[1].pth: unknown key (did you mean path?)", "sinks[2]: want a sink"} {
		if !strings.Contains(msg, w) {
			t.Errorf("missing %q in:\n%s", w, msg)
		}
	}
	if strings.Contains(msg, "secret") {
		t.Errorf("a secret in the URL is echoed:\n%s", msg)
	}
}
