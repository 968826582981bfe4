//go:build !unix

package local

// lockDir is a no-op where flock is missing: concurrent shards into one local
// folder need a Unix system.
func lockDir(string) (func(), error) { return func() {}, nil }
