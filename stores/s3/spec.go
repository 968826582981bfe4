package s3

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vpipe/vpipe/internal/s3conn"
	"github.com/vpipe/vpipe/internal/s3conn/endpoint"
	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/store"
)

// Config is an S3 section (source:, sink: or sinks[i], type s3). Credentials
// come from the standard AWS chain, never from the config.
type Config struct {
	URL       string `mapstructure:"url" required:"true" doc:"s3://BUCKET/PREFIX (no credentials in it)"`
	Endpoint  string `mapstructure:"endpoint" doc:"the server's URL (http://127.0.0.1:7070); empty = AWS. Credentials in it (http://user:secret@host) are refused: give them by the AWS chain"`
	Region    string `mapstructure:"region" doc:"empty = AWS_REGION / the profile's; us-east-1 with an endpoint"`
	PathStyle bool   `mapstructure:"path_style" doc:"with an endpoint: ENDPOINT/BUCKET/KEY; false = BUCKET.ENDPOINT/KEY (AWS is always virtual-hosted)"`
	// MaxAttempts per request, the first included (retries back off on 5xx,
	// SlowDown, resets, timeouts).
	MaxAttempts int `mapstructure:"max_attempts" doc:"tries per request (1–100), backing off (full jitter, 100 ms × 2ⁿ, ≤ 10 s) on 5xx, SlowDown, resets and timeouts"`
	// TimeoutS gives up an attempt that makes no progress for this long (a
	// server that stopped answering); it never cuts a transfer that moves.
	TimeoutS int `mapstructure:"timeout_s" doc:"an attempt that makes no progress for this long (nothing sent, acknowledged or received) is given up and retried; a slow transfer that keeps moving is never cut. The only timeout of a source's body reads. Once a call got no answer on its last attempt, calls to that server fail at once for 1 minute, then get one attempt each (1–3600)"`
}

// Options are the client's settings.
func (c *Config) Options() s3conn.Options {
	return s3conn.Options{URL: c.URL, Endpoint: c.Endpoint, Region: c.Region, PathStyle: c.PathStyle,
		MaxAttempts: c.MaxAttempts, Timeout: time.Duration(c.TimeoutS) * time.Second}
}

// defaults: a source's reads of a video body wait longer than a sink's PUTs.
func defaults(role registry.Kind) any {
	c := &Config{PathStyle: true, MaxAttempts: 8, TimeoutS: 30}
	if role == registry.Source {
		c.TimeoutS = 60
	}
	return c
}

func init() {
	registry.Register(registry.Spec{
		Kind:        registry.Store,
		Name:        "s3",
		Summary:     "An S3 bucket prefix (AWS or any S3-compatible server). Every object is one PUT; shared small files are updated by conditional PUT. As a source, videos are read with ranged GETs, never downloaded whole.",
		Config:      defaults,
		StoreSource: true,
		Check:       check,
		Where:       func(conf any) string { return conf.(*Config).URL },
		Locate: func(loc string) (any, bool) {
			c := defaults(registry.Sink).(*Config)
			c.URL = loc
			return c, strings.HasPrefix(loc, "s3://")
		},
		NewStore: func(ctx context.Context, conf any, d registry.Deps) (store.Store, error) {
			c, err := s3conn.New(ctx, conf.(*Config).Options())
			if err != nil {
				return nil, err
			}
			s := New(c)
			s.Key = d.Key("url")
			return s, nil
		},
	})
}

// check: the URL's form, the endpoint's, the retry budget's bounds. Neither
// a URL nor an endpoint with credentials in it is echoed.
func check(conf any, _ registry.CheckEnv) []registry.Problem {
	c := conf.(*Config)
	var ps []registry.Problem
	add := func(key, msg string) {
		if msg != "" {
			ps = append(ps, registry.Problem{Key: key, Msg: msg})
		}
	}
	add("url", urlProblem(c.URL))
	add("endpoint", endpoint.Problem(c.Endpoint))
	add("max_attempts", between(c.MaxAttempts, 1, 100))
	add("timeout_s", between(c.TimeoutS, 1, 3600))
	return ps
}

// urlProblem wants s3://BUCKET[/PREFIX] without credentials, query or fragment.
func urlProblem(u string) string {
	switch {
	case u == "":
		return "" // reported as required
	case strings.ContainsAny(u, "?#@"):
		return "want s3://BUCKET/PREFIX without credentials, query or fragment (credentials come from the AWS chain)"
	case !strings.HasPrefix(u, "s3://") || strings.TrimPrefix(u, "s3://") == "" || strings.HasPrefix(u, "s3:///"):
		return fmt.Sprintf("want s3://BUCKET/PREFIX, got %q", u)
	}
	return ""
}

func between(x, lo, hi int) string {
	if x < lo || x > hi {
		return fmt.Sprintf("must be %d–%d, got %d", lo, hi, x)
	}
	return ""
}
