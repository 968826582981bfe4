// Package platform is what the Supervisely source and sink share: the
// `supervisely:` section of pipeline.yaml (how to reach the server) and the
// run's one API client, made the first time either asks for it.
package platform

import (
	"fmt"
	"os"
	"time"

	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/supervisely/api"
)

// Name is the section's name, and what a backend that uses it lists in Uses.
const Name = "supervisely"

// Config configures the API client. The token is only ever read from the
// environment (API_TOKEN).
type Config struct {
	// ServerAddress overrides SERVER_ADDRESS / SUPERVISELY_API_SERVER_ADDRESS.
	ServerAddress string `mapstructure:"server_address" doc:"overrides the environment's address (SUPERVISELY_API_SERVER_ADDRESS, SERVER_ADDRESS)"`
	// Retries per call; 0 = SUPERVISELY_PUBLIC_API_RETRIES or the SDK's 10.
	Retries int `mapstructure:"retries" doc:"retries of a failed call (0–100); 0 = SUPERVISELY_PUBLIC_API_RETRIES or the SDK's 10"`
	// RetrySleepMs is the backoff base; 0 = SUPERVISELY_PUBLIC_API_RETRY_SLEEP_SEC or 1 s.
	RetrySleepMs int `mapstructure:"retry_sleep_ms" doc:"the backoff base (0–60000); 0 = SUPERVISELY_PUBLIC_API_RETRY_SLEEP_SEC or 1 s; waits are min(base·2^k, 60 s), at least Retry-After on 429"`
	// TimeoutS bounds one attempt of one API call.
	TimeoutS int `mapstructure:"timeout_s" doc:"one attempt of one API call (1–3600)"`
	// ReadTimeoutS: a video stream that brings no byte for this long is resumed.
	ReadTimeoutS int `mapstructure:"read_timeout_s" doc:"a video stream bringing no byte for this long is resumed with a new Range request from where it stopped (1–3600)"`
}

// MaxBatch is the most images one upload call takes.
const MaxBatch = 50

func init() {
	registry.RegisterSection(registry.SectionSpec{
		Name:     Name,
		Summary:  "How to reach the Supervisely server (the token is read from API_TOKEN only).",
		Config:   func() any { return &Config{TimeoutS: 60, ReadTimeoutS: 30} },
		Check:    check,
		MaxBatch: MaxBatch,
	})
}

// check: the retry settings always; the timeouts once the server is used.
func check(conf any, used bool) []registry.Problem {
	c := conf.(*Config)
	var ps []registry.Problem
	add := func(key string, x, lo, hi int) {
		if x < lo || x > hi {
			ps = append(ps, registry.Problem{Key: key, Msg: fmt.Sprintf("must be %d–%d, got %d", lo, hi, x)})
		}
	}
	add("retries", c.Retries, 0, 100)
	add("retry_sleep_ms", c.RetrySleepMs, 0, 60000)
	if used {
		add("timeout_s", c.TimeoutS, 1, 3600)
		add("read_timeout_s", c.ReadTimeoutS, 1, 3600)
	}
	return ps
}

// Section is the run's decoded section (its defaults when the run has none).
func Section(d registry.Deps) *Config {
	if d.Section != nil {
		if c, ok := d.Section(Name).(*Config); ok {
			return c
		}
	}
	return &Config{TimeoutS: 60, ReadTimeoutS: 30}
}

// Client is the run's one API client, shared by the source and the sinks:
// address from the section or the environment, the token from the
// environment only; d.Log gets its lines.
func Client(d registry.Deps) (*api.Client, error) {
	mk := func() (any, error) {
		c := Section(d)
		return api.New(api.FromEnv(api.Options{
			Server:     c.ServerAddress,
			Retries:    c.Retries,
			RetrySleep: time.Duration(c.RetrySleepMs) * time.Millisecond,
			Timeout:    time.Duration(c.TimeoutS) * time.Second,
			Log:        d.Log,
		}, os.Getenv))
	}
	if d.Shared == nil {
		c, err := mk()
		if err != nil {
			return nil, err
		}
		return c.(*api.Client), nil
	}
	c, err := d.Shared(Name, mk)
	if err != nil {
		return nil, err
	}
	return c.(*api.Client), nil
}
