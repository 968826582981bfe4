// Package s3conn is what the S3 source and sink share: s3://BUCKET/PREFIX
// URLs, a client built from the standard AWS chain (environment, shared config
// and profile, AWS_REGION) with a tuned retryer, and errors that name the bucket
// and key but never a secret.
package s3conn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	"github.com/vpipe/vpipe/internal/s3conn/endpoint"
	"github.com/vpipe/vpipe/internal/stall"
	"github.com/vpipe/vpipe/metrics"
)

// counters are S3's retries and failed calls (vpipe_retries_total{client="s3"}).
var counters = metrics.NewClient("s3")

// MaxKeyLen is S3's limit on an object key, in bytes.
const MaxKeyLen = 1024

// Options say where the objects are and how to reach them.
type Options struct {
	URL      string // s3://BUCKET/PREFIX
	Endpoint string // e.g. http://127.0.0.1:7070; "" = AWS
	Region   string // "" = from the AWS chain (AWS_REGION, profile); us-east-1 with an endpoint
	// PathStyle addresses buckets as ENDPOINT/BUCKET instead of BUCKET.ENDPOINT;
	// it applies only with an endpoint.
	PathStyle bool
	// MaxAttempts per request, first try included (0 = 8).
	MaxAttempts int
	// MaxBackoff caps the wait between attempts (0 = 10 s); waits grow as
	// 100 ms × 2^attempt with full jitter.
	MaxBackoff time.Duration
	// Timeout gives up an attempt that makes no progress for this long
	// (nothing of its body taken or acknowledged, no byte of the answer read
	// while it is being read); then the retryer tries again (0 = 30 s). It
	// never cuts a transfer that keeps moving, however slow.
	Timeout time.Duration
	// Cooldown is how long calls fail at once (DownError) once a call got no
	// answer on its last attempt, before each is given one attempt again
	// (0 = DefaultCooldown).
	Cooldown time.Duration
}

// DefaultTimeout is Options.Timeout's default.
const DefaultTimeout = 30 * time.Second

// Location is a bucket and a key prefix (no leading or trailing slash; "" = the bucket's root).
type Location struct {
	Bucket string
	Prefix string
}

// ParseURL reads s3://BUCKET[/PREFIX].
func ParseURL(s string) (Location, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return Location{}, fmt.Errorf("%q: want s3://BUCKET/PREFIX", s)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return Location{}, fmt.Errorf("%q: want s3://BUCKET/PREFIX (no credentials, query or fragment; credentials come from the AWS chain)", s)
	}
	p := strings.Trim(u.Path, "/")
	for _, seg := range strings.Split(p, "/") {
		if p != "" && (seg == "" || seg == "." || seg == "..") {
			return Location{}, fmt.Errorf("%q: the prefix may not hold empty, . or .. segments", s)
		}
	}
	return Location{Bucket: u.Host, Prefix: p}, nil
}

// Key is the object key of a path relative to the prefix.
func (l Location) Key(rel string) string {
	if l.Prefix == "" {
		return rel
	}
	if rel == "" {
		return l.Prefix + "/"
	}
	return l.Prefix + "/" + rel
}

// Rel is a key relative to the prefix.
func (l Location) Rel(key string) string {
	if l.Prefix == "" {
		return key
	}
	return strings.TrimPrefix(key, l.Prefix+"/")
}

// String is the location as a URL.
func (l Location) String() string {
	if l.Prefix == "" {
		return "s3://" + l.Bucket
	}
	return "s3://" + l.Bucket + "/" + l.Prefix
}

// Object names one object in errors.
func (l Location) Object(key string) string { return "s3://" + l.Bucket + "/" + key }

// Client is an S3 client bound to a location.
type Client struct {
	*s3.Client
	Loc      Location
	Endpoint string
	Presign  *s3.PresignClient
	// attempts and timeout are the retry budget, for errors.
	attempts int
	timeout  time.Duration
	// PageSize is MaxKeys of each ListObjectsV2 page (0 = the server's, 1000).
	PageSize int32
}

// New builds the client. Credentials come from the standard chain; nothing
// here reads, keeps or prints them.
func New(ctx context.Context, o Options) (*Client, error) {
	loc, err := ParseURL(o.URL)
	if err != nil {
		return nil, err
	}
	if err := CheckEndpoint(o.Endpoint); err != nil {
		return nil, err
	}
	attempts, maxBackoff, timeout := o.MaxAttempts, o.MaxBackoff, o.Timeout
	if attempts <= 0 {
		attempts = 8
	}
	if maxBackoff <= 0 {
		maxBackoff = 10 * time.Second
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRetryer(func() aws.Retryer {
			return counted{retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = attempts
				so.MaxBackoff = maxBackoff
				so.Backoff = jitter{max: maxBackoff}
				// The default token bucket stops retrying after a burst of
				// failures; a batch job would rather wait and go on.
				so.RateLimiter = ratelimit.None
			})}
		}),
	}
	// The SDK's own warnings (e.g. a body it could not drain after a reset)
	// would interleave with the progress output; errors reach the caller.
	opts = append(opts, awsconfig.WithLogger(logging.Nop{}))
	if o.Region != "" {
		opts = append(opts, awsconfig.WithRegion(o.Region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: AWS configuration: %w", loc, err)
	}
	if cfg.Region == "" {
		if o.Endpoint == "" {
			return nil, fmt.Errorf("%s: no region: set region in the config or AWS_REGION", loc)
		}
		cfg.Region = "us-east-1"
	}
	// The loaded client (with AWS_CA_BUNDLE's roots, if set) under the watch
	// that gives up an attempt making no progress.
	next := cfg.HTTPClient
	if next == nil {
		next = awshttp.NewBuildableClient()
	}
	cfg.HTTPClient = stall.Client(next, timeout)
	if cfg.Credentials != nil {
		cfg.Credentials = aws.NewCredentialsCache(marked{cfg.Credentials})
	}
	cool := o.Cooldown
	if cool <= 0 {
		cool = DefaultCooldown
	}
	b := &breaker{server: server(o.Endpoint), cool: cool}
	c := s3.NewFromConfig(cfg, func(so *s3.Options) {
		so.APIOptions = append(so.APIOptions, b.add)
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
			so.UsePathStyle = o.PathStyle
		}
	})
	return &Client{Client: c, Loc: loc, Endpoint: o.Endpoint, Presign: s3.NewPresignClient(c), attempts: attempts, timeout: timeout}, nil
}

// CheckEndpoint refuses an endpoint that is not an http(s) URL, or that holds
// credentials (user:secret@), without echoing them.
func CheckEndpoint(e string) error {
	if msg := endpoint.Problem(e); msg != "" {
		return fmt.Errorf("endpoint: %s", msg)
	}
	return nil
}

// marked tells a failure to get credentials from the other errors of a call.
type marked struct{ aws.CredentialsProvider }

func (m marked) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := m.CredentialsProvider.Retrieve(ctx)
	if err != nil {
		return c, &credentialsError{err}
	}
	return c, nil
}

type credentialsError struct{ err error }

func (e *credentialsError) Error() string { return e.err.Error() }
func (e *credentialsError) Unwrap() error { return e.err }

// Describe names the location (and endpoint) for logs.
func (c *Client) Describe() string {
	if c.Endpoint != "" {
		return c.Loc.String() + " at " + c.server()
	}
	return c.Loc.String()
}

func (c *Client) server() string { return server(c.Endpoint) }

// server names an endpoint (never with credentials: New refuses those).
func server(endpoint string) string {
	if endpoint == "" {
		return "AWS S3"
	}
	if u, err := url.Parse(endpoint); err == nil {
		u.User = nil
		return u.String()
	}
	return "the endpoint"
}

// Err wraps a failed call with the call and the object, and explains the
// errors that mean missing or wrong credentials, or a server not answering.
func (c *Client) Err(call, key string, err error) error {
	counters.Error()
	var ce *credentialsError
	if errors.As(err, &ce) {
		return fmt.Errorf("%s %s: no usable AWS credentials for bucket %s; tried the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), "+
			"the profile AWS_PROFILE in the shared files (~/.aws/credentials and ~/.aws/config, or AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE), "+
			"web identity (AWS_WEB_IDENTITY_TOKEN_FILE), SSO, the container role and the EC2 instance role: "+
			"set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE naming a profile of ~/.aws/credentials (%w)",
			call, c.Loc.Object(key), c.Loc.Bucket, err)
	}
	var de *DownError
	if errors.As(err, &de) { // the SDK's text would only repeat it
		return &callError{msg: fmt.Sprintf("%s %s: %s", call, c.Loc.Object(key), de), err: err}
	}
	var se *stall.Error
	if errors.As(err, &se) {
		return &callError{msg: fmt.Sprintf("%s %s: no answer from %s: nothing sent or received for %s, %s (timeout_s, max_attempts)",
			call, c.Loc.Object(key), c.server(), se.For, c.stalled(se)), err: err}
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "InvalidToken", "ExpiredToken":
			return fmt.Errorf("%s %s: access refused (%s): check the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE) and their rights on bucket %s: %w",
				call, c.Loc.Object(key), ae.ErrorCode(), c.Loc.Bucket, err)
		case "NoSuchBucket":
			return fmt.Errorf("%s %s: bucket %s does not exist: %w", call, c.Loc.Object(key), c.Loc.Bucket, err)
		}
	}
	return fmt.Errorf("%s %s: %w", call, c.Loc.Object(key), err)
}

// callError is a failed call told in its own words, wrapping the SDK's error.
type callError struct {
	msg string
	err error
}

func (e *callError) Error() string { return e.msg }
func (e *callError) Unwrap() error { return e.err }

// IsNotFound tells a missing object (or key) from other errors.
func IsNotFound(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return true
		}
	}
	return false
}

// IsPreconditionFailed tells a failed If-Match / If-None-Match.
func IsPreconditionFailed(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "PreconditionFailed", "ConditionalRequestConflict":
			return true
		}
	}
	return false
}

// counted is the SDK's retryer, counting every retry in vpipe_retries_total.
type counted struct{ aws.RetryerV2 }

func (c counted) RetryDelay(attempt int, err error) (time.Duration, error) {
	counters.Retry()
	return c.RetryerV2.RetryDelay(attempt, err)
}

// jitter waits 100 ms × 2^attempt at most (capped), uniformly at random (full jitter).
type jitter struct{ max time.Duration }

func (j jitter) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	d := j.max
	if attempt < 20 {
		d = min(j.max, 100*time.Millisecond<<attempt)
	}
	return time.Duration(rand.Int64N(int64(d) + 1)), nil
}

// List calls fn with every object under prefix (a full key prefix), page by
// page; with delim "/", only those directly under it.
func (c *Client) List(ctx context.Context, prefix, delim string, fn func(key string, size int64) error) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(c.Loc.Bucket), Prefix: aws.String(prefix)}
	if delim != "" {
		in.Delimiter = aws.String(delim)
	}
	if c.PageSize > 0 {
		in.MaxKeys = aws.Int32(c.PageSize)
	}
	p := s3.NewListObjectsV2Paginator(c.Client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return c.Err("ListObjectsV2", prefix, err)
		}
		for _, o := range page.Contents {
			if err := fn(aws.ToString(o.Key), aws.ToInt64(o.Size)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Get reads a small object whole. A body cut short (a connection reset after
// the headers, which the SDK's retryer does not see) is read again, up to the
// retry budget. found is false for a missing object.
func (c *Client) Get(ctx context.Context, key string) (data []byte, etag string, found bool, err error) {
	attempts := c.Options().RetryMaxAttempts
	if r := c.Options().Retryer; r != nil {
		attempts = r.MaxAttempts()
	}
	for try := 1; ; try++ {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.Loc.Bucket), Key: aws.String(key)})
		if IsNotFound(err) {
			return nil, "", false, nil
		}
		if err != nil {
			return nil, "", false, c.Err("GetObject", key, err)
		}
		data, err = io.ReadAll(out.Body)
		out.Body.Close()
		if err == nil {
			return data, aws.ToString(out.ETag), true, nil
		}
		if try >= attempts || ctx.Err() != nil {
			return nil, "", false, c.Err("GetObject (reading the body)", key, err)
		}
		counters.Retry()
	}
}

// stalled says how many attempts of a call got no answer.
func (c *Client) stalled(se *stall.Error) string {
	switch {
	case se.Stalled == 0: // a body read
		return "while reading the answer"
	case se.Single:
		return "on its one attempt (the server had stopped answering before)"
	case se.Stalled >= c.attempts:
		return fmt.Sprintf("on each of its %d attempts", c.attempts)
	}
	return fmt.Sprintf("on %d of its %d attempts, the last included", se.Stalled, c.attempts)
}
