package config_test

import (
	"strings"
	"testing"

	"github.com/vpipe/vpipe/config"
	"github.com/vpipe/vpipe/registry"
)

// Issue 17: the keys of a source or sink are those of its chosen type. A
// key another type has is refused naming the type that has it and this
// type's keys, wherever it came from; a key no type has is unknown, with the
// closest of this type's keys suggested.
func TestKeysOfTheChosenType(t *testing.T) {
	src := t.TempDir()
	_, err := load(t, "source: {type: s3, url: s3://v/raw, path: x}\nsink: {path: out, url: s3://d/o}\n",
		[]string{"sink.max_attempts=3"}, "VPIPE_SOURCE_PROJECT_ID=4")
	msg := problems(t, err)
	for _, want := range []string{
		"source.path: a key of source type local only (this source's type is s3, whose keys are type, url, endpoint, region, path_style, max_attempts, timeout_s): remove it",
		"source.project_id: a key of source type supervisely only (this source's type is s3",
		"(from VPIPE_SOURCE_PROJECT_ID)",
		"sink.url: a key of sink type " + typesWith("url") + " only (this sink's type is local, whose keys are type, path, fsync, format, split): remove it",
		"sink.max_attempts: a key of sink type " + typesWith("max_attempts") + " only",
		"(from --set)",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	// The type may come from --set too: the keys follow it.
	c, err := load(t, "source: {path: "+src+"}\n", []string{"sink.type=s3", "sink.url=s3://d/o", "sink.timeout_s=5"})
	if err != nil || c.Sink.Type != "s3" || s3(c.Sink).URL != "s3://d/o" || s3(c.Sink).TimeoutS != 5 || s3(c.Sink).MaxAttempts != 8 {
		t.Fatalf("%v %+v", err, c)
	}
	// An unknown type: named with the types there are; its keys are checked
	// against every type's of the role.
	_, err = load(t, "source: {path: "+src+"}\nsink: {type: ftp, url: s3://d/o, pth: x}\n", nil)
	msg = problems(t, err)
	available := strings.Join(registry.Names(registry.Sink), ", ") // a new store adds itself
	for _, want := range []string{`sink.type: unknown sink type "ftp" (available: ` + available + `)`, "sink.pth: unknown key (did you mean sink.path?)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "sink.url") {
		t.Errorf("a key of some sink type is refused for an unknown type:\n%s", msg)
	}
}

// typesWith are the registered sink types that have key, as a problem lists
// them ("azblob or gcs or s3"), so a new store needs no edit here.
func typesWith(key string) string {
	var out []string
	for _, n := range registry.Names(registry.Sink) {
		spec, _ := registry.Lookup(registry.Sink, n)
		for _, f := range registry.Fields(spec.Config(registry.Sink)) {
			if f.Key == key {
				out = append(out, n)
			}
		}
	}
	return strings.Join(out, " or ")
}

// The shared section's timeouts are checked only when a backend uses it,
// as stages.batch.batch_size's bound; its retries always. A supervisely sink
// in a sinks: list needs a workspace as the sink: one does.
func TestSharedSectionChecks(t *testing.T) {
	src := t.TempDir()
	sets := []string{"supervisely.timeout_s=0", "stages.batch.batch_size=51"}
	if _, err := load(t, "source: {path: "+src+"}\n", sets); err != nil {
		t.Fatalf("checked while unused: %v", err)
	}
	_, err := load(t, "source: {path: "+src+"}\nsinks:\n  - {path: out}\n  - {type: supervisely}\n", append(sets, "supervisely.retries=101"))
	msg := problems(t, err)
	for _, want := range []string{"supervisely.timeout_s: must be 1–3600, got 0 (from --set)",
		"stages.batch.batch_size: must be 1–50, got 51 (the server takes at most 50 images a call)",
		"supervisely.retries: must be 0–100, got 101",
		"sinks[1].workspace_id: required for a supervisely sink fed by a local source (or set sinks[1].project_id)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	if _, err := load(t, "source: {path: "+src+"}\n", []string{"supervisely.retries=101"}); err == nil {
		t.Error("retries out of range accepted while unused")
	}
}

// A config built in code gets a backend's defaults under the keys it gives;
// a key its type does not have is refused.
func TestNewBackend(t *testing.T) {
	b, err := config.NewBackend("sink", "s3", map[string]any{"url": "s3://b/p"})
	if err != nil || s3(b).URL != "s3://b/p" || s3(b).TimeoutS != 30 || !s3(b).PathStyle {
		t.Fatalf("%v %+v", err, b)
	}
	if b, err := config.NewBackend("source", "s3", nil); err != nil || s3(b).TimeoutS != 60 {
		t.Fatalf("source defaults: %v %+v", err, b)
	}
	if _, err := config.NewBackend("sink", "s3", map[string]any{"path": "x"}); err == nil || !strings.Contains(err.Error(), "path") {
		t.Fatalf("a key of another type: %v", err)
	}
	if _, err := config.NewBackend("sink", "ftp", nil); err == nil || !strings.Contains(err.Error(), `unknown sink type "ftp"`) {
		t.Fatalf("unknown type: %v", err)
	}
}

// A type given by --set or VPIPE_* replaces the file's backend: the file's
// keys of the type it replaced are dropped (the README's
// `vpipe run pipeline.yaml --set source.type=supervisely ...` over a file
// with local paths), while an override's own keys are still checked.
func TestTypeOverrideReplacesFileBackend(t *testing.T) {
	text := "source: {type: local, path: videos}\nsink: {type: local, path: out, fsync: true}\n"
	c, err := load(t, text, []string{"source.type=supervisely", "source.project_id=1234", "sink.type=supervisely"})
	if err != nil || svSource(c.Source).ProjectID != 1234 || c.Sink.Type != "supervisely" {
		t.Fatalf("%v %+v", err, c)
	}
	c, err = load(t, text, nil, "VPIPE_SOURCE_TYPE=s3", "VPIPE_SOURCE_URL=s3://v/raw")
	if err != nil || s3(c.Source).URL != "s3://v/raw" || s3(c.Source).TimeoutS != 60 {
		t.Fatalf("%v %+v", err, c)
	}
	_, err = load(t, text, []string{"sink.type=s3", "sink.url=s3://d/o", "sink.path=x"})
	if msg := problems(t, err); !strings.Contains(msg, "sink.path: a key of sink type local only") || !strings.Contains(msg, "(from --set)") ||
		strings.Contains(msg, "sink.fsync") {
		t.Errorf("%s", msg)
	}
	// in a sinks: list too
	_, err = load(t, "source: {path: "+t.TempDir()+"}\nsinks:\n  - {path: a}\n  - {path: b, fsync: true}\n", []string{"sinks[1].type=s3", "sinks[1].url=s3://d/o"})
	if err != nil {
		t.Errorf("sinks[1] replaced by --set: %v", err)
	}
}

// An override that gives the type the file already has replaces nothing: the
// file's keys of another type are still refused.
func TestSameTypeOverrideKeepsChecks(t *testing.T) {
	src := t.TempDir()
	msg := problems(t, mustFail(load(t, "source: {path: "+src+"}\nsink: {type: s3, url: s3://d/o, path: x}\n", []string{"sink.type=s3"})))
	if !strings.Contains(msg, "sink.path: a key of sink type local only") {
		t.Errorf("the file's wrong key is dropped by a --set of its own type:\n%s", msg)
	}
	msg = problems(t, mustFail(load(t, "source: {path: "+src+"}\nsinks:\n  - {path: a, url: s3://d/o}\n", nil, "VPIPE_SINKS_0_TYPE=local")))
	if !strings.Contains(msg, "sinks[0].url: a key of sink type") {
		t.Errorf("sinks[0]'s wrong key is dropped by an override of its own type:\n%s", msg)
	}
}
