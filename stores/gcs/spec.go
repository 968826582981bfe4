package gcs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/store"
)

// Config is the gcs section of pipeline.yaml (source: or sink:).
// Credentials are never in it: they come from Application Default
// Credentials.
type Config struct {
	URL         string `mapstructure:"url" required:"true" doc:"gs://BUCKET[/PREFIX]: the bucket prefix read or written; credentials come from Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth application-default login, the metadata server), never from this file"`
	Endpoint    string `mapstructure:"endpoint" doc:"the JSON API's base URL, e.g. https://storage.example.com/storage/v1/; \"\" = Google's (STORAGE_EMULATOR_HOST points at an emulator)"`
	MaxAttempts int    `mapstructure:"max_attempts" doc:"attempts per request, the first included (1–100); retries back off on 408, 429, 5xx, resets and timeouts"`
	TimeoutS    int    `mapstructure:"timeout_s" doc:"an attempt that sends and receives nothing for this many seconds is given up and tried again (1–3600); a transfer that moves is never cut"`
}

// defaults: as the S3 store's, the source waits longer on a video body.
func defaults(role registry.Kind) any {
	c := &Config{MaxAttempts: 8, TimeoutS: 30}
	if role == registry.Source {
		c.TimeoutS = 60
	}
	return c
}

// check finds what is wrong with a decoded config (keys relative to the section).
func check(conf any, _ registry.CheckEnv) []registry.Problem {
	c := conf.(*Config)
	var ps []registry.Problem
	if c.URL != "" {
		if msg := urlProblem(c.URL); msg != "" {
			ps = append(ps, registry.Problem{Key: "url", Msg: msg})
		}
	}
	if msg := endpointProblem(c.Endpoint); msg != "" {
		ps = append(ps, registry.Problem{Key: "endpoint", Msg: msg})
	}
	if c.MaxAttempts < 1 || c.MaxAttempts > 100 {
		ps = append(ps, registry.Problem{Key: "max_attempts", Msg: fmt.Sprintf("must be 1–100, got %d", c.MaxAttempts)})
	}
	if c.TimeoutS < 1 || c.TimeoutS > 3600 {
		ps = append(ps, registry.Problem{Key: "timeout_s", Msg: fmt.Sprintf("must be 1–3600, got %d", c.TimeoutS)})
	}
	return ps
}

// where is the location, the same from every machine (no endpoint).
func where(conf any) string {
	loc, err := ParseURL(conf.(*Config).URL)
	if err != nil {
		return ""
	}
	return loc.String()
}

// locate takes a dataset's location given on a command line (verify,
// preview) when it is a gs:// URL.
func locate(loc string) (any, bool) {
	c := defaults(registry.Sink).(*Config)
	c.URL = loc
	return c, strings.HasPrefix(loc, "gs://")
}

func newStore(ctx context.Context, conf any, d registry.Deps) (store.Store, error) {
	c := conf.(*Config)
	return New(ctx, Options{URL: c.URL, Endpoint: c.Endpoint, MaxAttempts: c.MaxAttempts,
		Timeout: time.Duration(c.TimeoutS) * time.Second, Key: d.Key("url")})
}

func init() {
	registry.Register(registry.Spec{
		Kind:        registry.Store,
		Name:        "gcs",
		Summary:     "a Google Cloud Storage bucket prefix (gs://BUCKET/PREFIX)",
		Config:      defaults,
		Check:       check,
		Where:       where,
		StoreSource: true,
		Locate:      locate,
		NewStore:    newStore,
	})
}
