package azblob

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/store"
)

// Config is the azblob section of pipeline.yaml (a source, a sink, or one
// of sinks:). Credentials are never in it: they come from the environment.
type Config struct {
	URL         string `mapstructure:"url" required:"true" doc:"azblob://CONTAINER/PREFIX: the container and the blob name prefix (no credentials: AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY, or an Entra ID login)"`
	Endpoint    string `mapstructure:"endpoint" doc:"the account's blob service URL, e.g. http://127.0.0.1:10000/devstoreaccount1 for Azurite (default: the connection string's, or https://ACCOUNT.blob.core.windows.net)"`
	MaxAttempts int    `mapstructure:"max_attempts" doc:"attempts per request, the first included (1–100)"`
	TimeoutS    int    `mapstructure:"timeout_s" doc:"an attempt that sends and receives nothing for this many seconds is given up and tried again (1–3600)"`
}

func init() {
	registry.Register(registry.Spec{
		Kind:        registry.Store,
		Name:        "azblob",
		Summary:     "an Azure Blob Storage container prefix (azblob://CONTAINER/PREFIX)",
		StoreSource: true,
		Config:      defaults,
		Check:       func(conf any, _ registry.CheckEnv) []registry.Problem { return check(conf.(*Config)) },
		Where: func(conf any) string {
			if loc, err := ParseURL(conf.(*Config).URL); err == nil {
				return loc.String()
			}
			return conf.(*Config).URL
		},
		Locate: func(loc string) (any, bool) {
			c := defaults(registry.Sink).(*Config)
			c.URL = loc
			return c, strings.HasPrefix(loc, "azblob://")
		},
		NewStore: func(_ context.Context, conf any, d registry.Deps) (store.Store, error) {
			c := conf.(*Config)
			return New(Options{URL: c.URL, Endpoint: c.Endpoint, MaxAttempts: c.MaxAttempts, Timeout: time.Duration(c.TimeoutS) * time.Second,
				Key: d.Key("url")})
		},
	})
}

// defaults: a source waits longer for a stalled read (as its video bodies do)
// than a sink for a stalled write.
func defaults(role registry.Kind) any {
	c := &Config{MaxAttempts: 8, TimeoutS: 30}
	if role == registry.Source {
		c.TimeoutS = 60
	}
	return c
}

func check(c *Config) []registry.Problem {
	var ps []registry.Problem
	if _, err := ParseURL(c.URL); err != nil && c.URL != "" { // an empty one is reported as required
		ps = append(ps, registry.Problem{Key: "url", Msg: err.Error()})
	}
	if err := CheckEndpoint(c.Endpoint); err != nil {
		ps = append(ps, registry.Problem{Key: "endpoint", Msg: err.Error()})
	}
	if c.MaxAttempts < 1 || c.MaxAttempts > 100 {
		ps = append(ps, registry.Problem{Key: "max_attempts", Msg: fmt.Sprintf("must be 1–100, not %d", c.MaxAttempts)})
	}
	if c.TimeoutS < 1 || c.TimeoutS > 3600 {
		ps = append(ps, registry.Problem{Key: "timeout_s", Msg: fmt.Sprintf("must be 1–3600, not %d", c.TimeoutS)})
	}
	return ps
}
