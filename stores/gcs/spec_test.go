package gcs_test

import (
	"strings"
	"testing"

	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/stores/gcs"
)

// The store registers as sink and source type "gcs", with the S3 store's
// defaults (a source waits longer on a video body).
func TestRegistered(t *testing.T) {
	for role, timeout := range map[registry.Kind]int{registry.Sink: 30, registry.Source: 60} {
		spec, ok := registry.Lookup(role, "gcs")
		if !ok {
			t.Fatalf("no %s type gcs", role)
		}
		c := spec.Config(role).(*gcs.Config)
		if c.MaxAttempts != 8 || c.TimeoutS != timeout {
			t.Fatalf("%s defaults: %+v", role, c)
		}
		c.URL = "gs://bkt/p/"
		if ps := spec.Check(c, registry.CheckEnv{Role: role}); len(ps) != 0 || spec.Where(c) != "gs://bkt/p" {
			t.Fatalf("%s gs://bkt/p/: problems %v, where %q", role, ps, spec.Where(c))
		}
		srv.Env(t)
		s, err := spec.NewStore(t.Context(), c, registry.Deps{Role: role})
		if err != nil {
			t.Fatal(err)
		}
		if k := s.Features().Key; k != string(role)+".url" {
			t.Fatalf("%s store names its location %s", role, k)
		}
		s.Close()
	}
}

// Check names each bad key, and never repeats a URL that may hold a secret.
func TestCheckProblems(t *testing.T) {
	spec, _ := registry.Lookup(registry.Sink, "gcs")
	for conf, want := range map[gcs.Config]string{
		{URL: "s3://bkt/p", MaxAttempts: 1, TimeoutS: 1}:                             "url: want gs://BUCKET/PREFIX",
		{URL: "gs://user:pw123@bkt/p", MaxAttempts: 1, TimeoutS: 1}:                  "url: want gs://BUCKET/PREFIX without credentials",
		{URL: "gs://bkt/p?x=1", MaxAttempts: 1, TimeoutS: 1}:                         "url: want gs://BUCKET/PREFIX without credentials, query",
		{URL: "gs://B_/p", MaxAttempts: 1, TimeoutS: 1}:                              `url: "B_" is not a bucket name`,
		{URL: "gs://bkt/a//c", MaxAttempts: 1, TimeoutS: 1}:                          "url: the prefix may not hold empty",
		{URL: "gs://bkt", Endpoint: "http://u:pw123@h", MaxAttempts: 1, TimeoutS: 1}: "endpoint: credentials are not taken",
		{URL: "gs://bkt", Endpoint: "h:1", MaxAttempts: 1, TimeoutS: 1}:              "endpoint: want http(s)://HOST",
		{URL: "gs://bkt", MaxAttempts: 0, TimeoutS: 1}:                               "max_attempts: must be 1–100, got 0",
		{URL: "gs://bkt", MaxAttempts: 1, TimeoutS: 3601}:                            "timeout_s: must be 1–3600, got 3601",
	} {
		var got []string
		for _, p := range spec.Check(&conf, registry.CheckEnv{Role: registry.Sink}) {
			got = append(got, p.Key+": "+p.Msg)
		}
		if len(got) != 1 || !strings.HasPrefix(got[0], want) || strings.Contains(got[0], "pw123") {
			t.Errorf("%+v: %q, want one problem %q…", conf, got, want)
		}
	}
}
