package config_test

import (
	_ "github.com/vpipe/vpipe/backends/all" // the backends a config names, registered
	"github.com/vpipe/vpipe/config"
	localsrc "github.com/vpipe/vpipe/sources/local"
	svsrc "github.com/vpipe/vpipe/sources/supervisely"
	localstore "github.com/vpipe/vpipe/stores/local"
	s3store "github.com/vpipe/vpipe/stores/s3"
	"github.com/vpipe/vpipe/supervisely/platform"
)

// as is a backend's decoded settings as its type's struct (a zero one when
// the backend is of another type, so a test reads a wrong value, not a panic).
func as[T any](b config.Backend) *T {
	if c, ok := b.Conf.(*T); ok {
		return c
	}
	return new(T)
}

func localSrc(b config.Backend) *localsrc.Config   { return as[localsrc.Config](b) }
func localOut(b config.Backend) *localstore.Config { return as[localstore.Config](b) }
func s3(b config.Backend) *s3store.Config          { return as[s3store.Config](b) }
func svSource(b config.Backend) *svsrc.Config      { return as[svsrc.Config](b) }
func svSection(c *config.Config) *platform.Config  { return c.Section(platform.Name).(*platform.Config) }
