// Package importcheck holds only tests: they keep the import graph as issue 17
// set it. The packages that carry values between the others (core, config,
// sampling, shard, queue) build without cgo, so they never link go-astiav or
// GEOS; no production package imports test support (internal/testenv/...);
// and no production package outside a backend's own folders names a
// backend: they choose and build backends through the registry.
package importcheck
