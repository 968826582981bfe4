// Package docs holds vpipe's documentation pages; its tests check that the
// pages hold together: every relative link resolves, every config key is
// documented, backends.md is what the registered backends generate, and
// .ci/run runs the README's test command.
package docs

//go:generate go run ../internal/gendocs backends.md
