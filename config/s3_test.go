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
	if s3(c.Source).URL != "s3://videos/raw" || !s3(c.Source).PathStyle || s3(c.Source).MaxAttempts != 8 {
		t.Fatalf("source: %+v", c.Source)
	}
	l := c.SinkList()
	if len(l) != 2 || localOut(l[0]).Path != "out" || s3(l[1]).URL != "s3://data/images" || s3(l[1]).PathStyle || s3(l[1]).MaxAttempts != 8 || s3(l[1]).Region != "eu-west-1" {
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
	for _, w := range []string{"source.url: required for a source of type s3", "sinks: give either sink or sinks, not both",
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

// Credentials in an endpoint are refused for every endpoint key, without
// echoing them; an endpoint must be an http(s) URL.
func TestEndpointRules(t *testing.T) {
	_, err := Load(write(t, `
source: {type: s3, url: s3://v/raw, endpoint: "http://AKIA1:s3cr3t@127.0.0.1:7070"}
sinks:
  - {type: s3, url: s3://d/a, endpoint: "https://user@minio.local"}
  - {type: s3, url: s3://d/b, endpoint: "127.0.0.1:7070"}
  - {type: s3, url: s3://d/c, endpoint: "http://127.0.0.1:7070", timeout_s: 0}
`), nil, nil)
	if err == nil {
		t.Fatal("accepted")
	}
	msg := err.Error()
	for _, w := range []string{"source.endpoint: credentials are not taken from the endpoint",
		"sinks[0].endpoint: credentials are not taken from the endpoint", "sinks[1].endpoint: want http://HOST[:PORT] or https://",
		"sinks[2].timeout_s: must be 1–3600"} {
		if !strings.Contains(msg, w) {
			t.Errorf("missing %q in:\n%s", w, msg)
		}
	}
	for _, s := range []string{"s3cr3t", "AKIA1", "user@"} {
		if strings.Contains(msg, s) {
			t.Errorf("%q echoed:\n%s", s, msg)
		}
	}
	_, err = Load(write(t, "source: {type: local, path: .}\nsink: {type: s3, url: s3://d/a, endpoint: \"http://u:p@h:1\"}\n"), []string{"sink.timeout_s=0"}, nil)
	if err == nil || !strings.Contains(err.Error(), "sink.endpoint: credentials are not taken from the endpoint") ||
		!strings.Contains(err.Error(), "sink.timeout_s: must be 1–3600") || strings.Contains(err.Error(), "u:p") {
		t.Fatalf("%v", err)
	}
	c, err := Load(write(t, "source: {type: s3, url: s3://v/raw}\nsink: {type: s3, url: s3://d/a, endpoint: \"http://127.0.0.1:7070\"}\n"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s3(c.Sink).TimeoutS != 30 || s3(c.Source).TimeoutS != 60 {
		t.Fatalf("timeouts: source %d, sink %d", s3(c.Source).TimeoutS, s3(c.Sink).TimeoutS)
	}
}

// A required key is named with its backend's type without an article to get
// wrong ("a azblob").
func TestRequiredKeyMessage(t *testing.T) {
	msg := problems(t, mustFail(load(t, "source: {path: "+t.TempDir()+"}\nsink: {type: azblob}\n", nil)))
	if !strings.Contains(msg, "sink.url: required for a sink of type azblob") || strings.Count(msg, "sink.url") != 1 {
		t.Errorf("want sink.url reported once as required:\n%s", msg)
	}
}
