package gcs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	htransport "google.golang.org/api/transport/http"

	"github.com/vpipe/vpipe/internal/stall"
	"github.com/vpipe/vpipe/metrics"
)

// Options say where a store is and how to reach it. Credentials are not
// among them: they come from Application Default Credentials.
type Options struct {
	URL      string // gs://BUCKET[/PREFIX]
	Endpoint string // the JSON API's base URL; "" = Google's (or STORAGE_EMULATOR_HOST's)
	// MaxAttempts per request, the first included (0 = 8).
	MaxAttempts int
	// Timeout gives up an attempt that makes no progress for this long
	// (nothing of its body taken, no byte of the answer read while it is
	// read); the client then tries again (0 = 30 s).
	Timeout time.Duration
	// Key is the configuration key that names the URL, for messages
	// ("sink.url"; "" = sink.url).
	Key string
}

// DefaultTimeout is Options.Timeout's default.
const DefaultTimeout = 30 * time.Second

// Location is a bucket and a prefix (no leading or trailing slash; "" = the
// bucket's root).
type Location struct {
	Bucket string
	Prefix string
}

// ParseURL reads gs://BUCKET[/PREFIX].
func ParseURL(s string) (Location, error) {
	if msg := urlProblem(s); msg != "" {
		if strings.Contains(s, "@") { // perhaps user:secret@: not repeated
			return Location{}, errors.New("gcs url: " + msg)
		}
		return Location{}, fmt.Errorf("%q: %s", s, msg)
	}
	u, _ := url.Parse(s)
	return Location{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/")}, nil
}

// urlProblem is what is wrong with a gs:// URL ("" = nothing), in words that
// do not repeat it.
func urlProblem(s string) string {
	u, err := url.Parse(s)
	switch {
	case strings.ContainsAny(s, "?#@"):
		return "want gs://BUCKET/PREFIX without credentials, query or fragment (credentials come from Application Default Credentials)"
	case err != nil || u.Scheme != "gs" || u.Host == "":
		return "want gs://BUCKET/PREFIX"
	case !bucketName.MatchString(u.Host):
		return fmt.Sprintf("%q is not a bucket name (3–222 of a-z 0-9 - _ ., starting and ending with a letter or digit)", u.Host)
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		for _, seg := range strings.Split(p, "/") {
			if seg == "" || seg == "." || seg == ".." {
				return "the prefix may not hold empty, . or .. segments"
			}
		}
	}
	return ""
}

// bucketName is GCS's naming rule, loosely (dotted names up to 222 bytes).
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$`)

// Key is the object name of a key relative to the prefix.
func (l Location) Key(rel string) string {
	if l.Prefix == "" {
		return rel
	}
	if rel == "" {
		return l.Prefix + "/"
	}
	return l.Prefix + "/" + rel
}

// Rel is an object name relative to the prefix.
func (l Location) Rel(name string) string {
	if l.Prefix == "" {
		return name
	}
	return strings.TrimPrefix(name, l.Prefix+"/")
}

// String is the location as a URL.
func (l Location) String() string {
	if l.Prefix == "" {
		return "gs://" + l.Bucket
	}
	return "gs://" + l.Bucket + "/" + l.Prefix
}

// Object names one object in messages.
func (l Location) Object(name string) string { return "gs://" + l.Bucket + "/" + name }

// endpointProblem is what is wrong with an endpoint ("" = Google's).
func endpointProblem(e string) string {
	if e == "" {
		return ""
	}
	u, err := url.Parse(e)
	switch {
	case (err == nil && u.User != nil) || (err != nil && strings.Contains(e, "@")):
		return "credentials are not taken from the endpoint (they would show in logs): remove the user:secret@ part; credentials come from Application Default Credentials"
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return "want http(s)://HOST[:PORT][/storage/v1/]"
	}
	return ""
}

// newClient builds the storage client: the JSON API over HTTP, requests
// through a no-progress watch, every call retried with backoff up to
// attempts times. Credentials are found by the standard chain
// (GOOGLE_APPLICATION_CREDENTIALS, gcloud's application default
// credentials, the metadata server); with STORAGE_EMULATOR_HOST none are
// looked for. Nothing here reads, keeps or prints them.
func newClient(ctx context.Context, endpoint string, attempts int, timeout time.Duration) (*storage.Client, error) {
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = 64 // writers upload in parallel; the default 2 would redial
	auth := []option.ClientOption{option.WithScopes(storage.ScopeReadWrite)}
	if os.Getenv("STORAGE_EMULATOR_HOST") != "" {
		auth = []option.ClientOption{option.WithoutAuthentication()}
	}
	rt, err := htransport.NewTransport(ctx, stall.Transport(base, timeout), auth...)
	if err != nil {
		return nil, fmt.Errorf("gcs: no usable Google credentials (Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS, "+
			"`gcloud auth application-default login`, or the metadata server of a Google Cloud machine): %w", err)
	}
	opts := []option.ClientOption{option.WithHTTPClient(&http.Client{Transport: rt}), storage.WithDisabledClientMetrics()}
	if endpoint != "" {
		opts = append(opts, option.WithEndpoint(endpoint))
	}
	c, err := storage.NewClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("gcs: client: %w", err)
	}
	// Every call is retried, writes without preconditions too: a Put sends
	// the same whole object again, and a conditional write that was applied
	// but whose answer was lost is refused the second time, which Update
	// takes as another writer's change and merges again.
	c.SetRetry(storage.WithPolicy(storage.RetryAlways), storage.WithMaxAttempts(attempts), storage.WithErrorFunc(retryable),
		storage.WithBackoff(gax.Backoff{Initial: 100 * time.Millisecond, Max: 10 * time.Second, Multiplier: 2}))
	return c, nil
}

// counters are the gcs client's retries and failed calls (vpipe_retries_total,
// vpipe_client_errors_total).
var counters = metrics.NewClient("gcs")

// retryable is the client's test of a failed attempt (storage.ShouldRetry:
// 408, 429, 5xx, resets, timeouts), counting the retries it allows. The
// client asks it only while attempts are left.
func retryable(err error) bool {
	if !storage.ShouldRetry(err) {
		return false
	}
	counters.Retry()
	return true
}

// isPreconditionFailed tells a conditional write refused because the object
// changed (HTTP 412).
func isPreconditionFailed(err error) bool { return httpCode(err) == http.StatusPreconditionFailed }

// httpCode is the HTTP status of a refused call (0 if none).
func httpCode(err error) int {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	return 0
}
