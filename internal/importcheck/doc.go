// Package importcheck holds only a test: it keeps the import graph as issue 17
// set it. The packages that carry values between the others (core, config,
// sampling, shard, queue) build without cgo, so they never link go-astiav or
// GEOS; and no production package imports test support (internal/testenv/...).
package importcheck
