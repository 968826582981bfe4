// Package browsertest runs Debian's chromium headless for tests, driven by
// chromedp, installed by scripts/setup-tests.sh. Without it a test is skipped
// with the setup hint, unless CI=true: CI installs it, so there a missing
// browser fails the test instead of hiding it.
package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Binary finds chromium: $VPIPE_CHROMIUM, else chromium (or
// chromium-browser) on PATH.
func Binary() (string, error) {
	if p := os.Getenv("VPIPE_CHROMIUM"); p != "" {
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			return "", fmt.Errorf("VPIPE_CHROMIUM=%s is not an executable", p)
		}
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("chromium not found on PATH: run scripts/setup-tests.sh (it installs Debian's chromium), or set VPIPE_CHROMIUM")
}

// Need returns chromium's path, or skips the test (fails it when CI=true).
func Need(t testing.TB) string {
	t.Helper()
	p, err := Binary()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser test: %v", err)
		}
		t.Skipf("browser test skipped: %v", err)
	}
	return p
}

// New starts a headless chromium with a fresh profile and a w×h window and
// returns a context for chromedp.Run; it is stopped when the test ends. The
// flags keep it off the network: without the background-networking ones,
// Chromium's own connections are refused on machines with no internet and
// it waits on them.
func New(t testing.TB, w, h int) context.Context {
	t.Helper()
	bin := Need(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(w, h),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("force-device-scale-factor", "1"),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	// Start the browser now (on the context itself: a deadline on the first
	// call would bound the browser's life), so a browser that cannot start
	// fails here, not in the test's first action.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelA()
		t.Fatalf("starting %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cancel()
		cancelA()
	})
	return ctx
}

// Eval evaluates a JavaScript expression in the page and decodes its value
// (a promise is awaited); an error fails the test.
func Eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// Wait waits until a JavaScript expression is truthy (at most d).
func Wait(t testing.TB, ctx context.Context, expr string, d time.Duration) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(d))); err != nil {
		t.Fatalf("waiting for %s: %v", expr, err)
	}
}

// Open navigates to url and waits for its load event.
func Open(t testing.TB, ctx context.Context, url string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
}

// Screenshot captures the viewport as an image (one pixel per CSS pixel:
// the browser runs at device scale factor 1).
func Screenshot(t testing.TB, ctx context.Context) image.Image {
	t.Helper()
	b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	return img
}
