package azblob

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/vpipe/vpipe/internal/stall"
	"github.com/vpipe/vpipe/metrics"
)

// Options say where the blobs are and how to reach them.
type Options struct {
	URL string // azblob://CONTAINER[/PREFIX]
	// Endpoint is the account's service URL ("" = the one of the connection
	// string, or https://ACCOUNT.blob.core.windows.net), e.g. Azurite's
	// http://127.0.0.1:10000/devstoreaccount1.
	Endpoint string
	// MaxAttempts per request, first try included (0 = 8).
	MaxAttempts int
	// Timeout gives up an attempt that makes no progress for this long
	// (nothing of its body taken, no byte of the answer read while it is
	// read); the SDK's retry policy then tries again (0 = 30 s).
	Timeout time.Duration
	// Key is the config key that names the URL, for messages ("" = sink.url).
	Key string
}

// Location is a container and a blob name prefix (no leading or trailing
// slash; "" = the container's root).
type Location struct {
	Container string
	Prefix    string
}

// containerName is Azure's rule: 3–63 lowercase letters, digits and single
// hyphens, starting and ending with a letter or digit.
var containerName = regexp.MustCompile(`^[a-z0-9]([a-z0-9]|-[a-z0-9]){2,62}$`)

// ParseURL reads azblob://CONTAINER[/PREFIX].
func ParseURL(s string) (Location, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "azblob" || u.Host == "" {
		if strings.ContainsAny(s, "@?") { // maybe a secret: not echoed
			return Location{}, errors.New("want azblob://CONTAINER/PREFIX")
		}
		return Location{}, fmt.Errorf("%q: want azblob://CONTAINER/PREFIX", s)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Port() != "" {
		// Not echoed: a user:secret@ or a SAS query would show in logs.
		return Location{}, errors.New("want azblob://CONTAINER/PREFIX with no credentials, port, query or fragment (credentials come from the environment: AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY, or an Entra ID login)")
	}
	if len(u.Host) > 63 || !containerName.MatchString(u.Host) {
		return Location{}, fmt.Errorf("%q: container %q: want 3–63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit", s, u.Host)
	}
	p := strings.Trim(u.Path, "/")
	for _, seg := range strings.Split(p, "/") {
		if p != "" && (seg == "" || seg == "." || seg == "..") {
			return Location{}, fmt.Errorf("%q: the prefix may not hold empty, . or .. segments", s)
		}
	}
	return Location{Container: u.Host, Prefix: p}, nil
}

// Blob is the blob name of a key relative to the prefix.
func (l Location) Blob(key string) string {
	if l.Prefix == "" {
		return key
	}
	return l.Prefix + "/" + key
}

// Rel is a blob name relative to the prefix.
func (l Location) Rel(blob string) string {
	if l.Prefix == "" {
		return blob
	}
	return strings.TrimPrefix(blob, l.Prefix+"/")
}

// String is the location as a URL.
func (l Location) String() string {
	return strings.TrimSuffix("azblob://"+l.Container+"/"+l.Prefix, "/")
}

// Object names one blob in errors.
func (l Location) Object(blob string) string {
	return strings.TrimSuffix("azblob://"+l.Container+"/"+blob, "/")
}

// CheckEndpoint refuses an endpoint that is not an http(s) URL, or that holds
// credentials (user:secret@ or a SAS query), without echoing them.
func CheckEndpoint(e string) error {
	if e == "" {
		return nil
	}
	u, err := url.Parse(e)
	switch {
	case (err == nil && (u.User != nil || u.RawQuery != "")) || (err != nil && strings.ContainsAny(e, "@?")):
		return errors.New("credentials are not taken from the endpoint (they would show in logs): remove the user:secret@ part or the query, and give them by AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return errors.New("want http(s)://HOST[:PORT][/ACCOUNT], the account's blob service URL")
	}
	return nil
}

// chainHelp is the credential chain, for errors.
const chainHelp = "AZURE_STORAGE_CONNECTION_STRING; else AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY; " +
	"else AZURE_STORAGE_ACCOUNT with an Entra ID credential DefaultAzureCredential finds (AZURE_CLIENT_ID and AZURE_TENANT_ID with a secret or certificate, workload or managed identity, az login)"

// newClient builds the container client from the credential chain; nothing
// here prints, or keeps apart from the SDK's credential, a secret. It returns
// the server, for messages, and whether the credential is Entra ID's.
func newClient(loc Location, endpoint string, opts *container.ClientOptions) (c *container.Client, server string, entra bool, err error) {
	if cs := os.Getenv("AZURE_STORAGE_CONNECTION_STRING"); cs != "" {
		c, server, err := fromConnString(loc, endpoint, cs, opts)
		return c, server, false, err
	}
	account, key := os.Getenv("AZURE_STORAGE_ACCOUNT"), os.Getenv("AZURE_STORAGE_KEY")
	svc := endpoint
	if svc == "" {
		if account == "" {
			return nil, "", false, fmt.Errorf("%s: no Azure storage account: set %s", loc, chainHelp)
		}
		svc = "https://" + account + ".blob.core.windows.net"
	}
	if key != "" {
		if account == "" {
			return nil, "", false, fmt.Errorf("%s: AZURE_STORAGE_KEY is set without AZURE_STORAGE_ACCOUNT", loc)
		}
		cred, err := container.NewSharedKeyCredential(account, key)
		if err != nil {
			return nil, "", false, fmt.Errorf("%s: AZURE_STORAGE_KEY: %w", loc, err)
		}
		c, err := container.NewClientWithSharedKeyCredential(containerURL(svc, loc), cred, opts)
		return c, svc, false, err
	}
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, "", false, fmt.Errorf("%s: no usable Azure credentials; tried %s: %w", loc, chainHelp, err)
	}
	c, err = container.NewClient(containerURL(svc, loc), cred, opts)
	return c, svc, true, err
}

// fromConnString builds the client of a connection string. An endpoint
// overrides the string's own: the string's account and key (or SAS) are used
// against it.
func fromConnString(loc Location, endpoint, cs string, opts *container.ClientOptions) (*container.Client, string, error) {
	if endpoint == "" {
		c, err := container.NewClientFromConnectionString(cs, loc.Container, opts)
		if err != nil {
			return nil, "", fmt.Errorf("%s: AZURE_STORAGE_CONNECTION_STRING: %w", loc, err)
		}
		return c, serviceOf(c.URL()), nil
	}
	kv := parseConnString(cs)
	switch {
	case kv["AccountName"] != "" && kv["AccountKey"] != "":
		cred, err := container.NewSharedKeyCredential(kv["AccountName"], kv["AccountKey"])
		if err != nil {
			return nil, "", fmt.Errorf("%s: the account key of AZURE_STORAGE_CONNECTION_STRING: %w", loc, err)
		}
		c, err := container.NewClientWithSharedKeyCredential(containerURL(endpoint, loc), cred, opts)
		return c, endpoint, err
	case kv["SharedAccessSignature"] != "":
		c, err := container.NewClientWithNoCredential(containerURL(endpoint, loc)+"?"+kv["SharedAccessSignature"], opts)
		return c, endpoint, err
	}
	return nil, "", fmt.Errorf("%s: AZURE_STORAGE_CONNECTION_STRING holds neither AccountName with AccountKey nor SharedAccessSignature, which the endpoint %s needs", loc, endpoint)
}

// containerURL is the URL of loc's container on a service URL.
func containerURL(service string, loc Location) string {
	return strings.TrimSuffix(service, "/") + "/" + loc.Container
}

// parseConnString reads KEY=VALUE;... (a value may hold '=', as base64 keys do).
func parseConnString(cs string) map[string]string {
	kv := map[string]string{}
	for _, part := range strings.Split(cs, ";") {
		if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok {
			kv[k] = v
		}
	}
	return kv
}

// serviceOf is a container URL less its container (and any query).
func serviceOf(containerURL string) string {
	u, err := url.Parse(containerURL)
	if err != nil {
		return "the blob service"
	}
	u.RawQuery, u.User = "", nil
	u.Path = u.Path[:max(0, strings.LastIndex(strings.TrimSuffix(u.Path, "/"), "/"))]
	return u.String()
}

// clientOptions are the retry budget and the watch on stalled attempts.
func clientOptions(attempts int, timeout time.Duration) *container.ClientOptions {
	retries := attempts - 1
	if retries == 0 {
		retries = -1 // the SDK reads 0 as its default, 3
	}
	return &container.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry: policy.RetryOptions{MaxRetries: int32(retries), RetryDelay: 200 * time.Millisecond, MaxRetryDelay: 10 * time.Second},
		// Each attempt watched for progress.
		Transport:        stall.Client(&http.Client{Transport: transport()}, timeout),
		PerCallPolicies:  []policy.Policy{newTries{}},
		PerRetryPolicies: []policy.Policy{countTries{}},
	}}
}

// transport is http.DefaultTransport's (a proxy from the environment), with
// enough idle connections kept for the uploads of many writers at once.
func transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 32
	return t
}

// tries counts a call's attempts (a per-call policy gives it each call, a
// per-retry one counts), every one after the first in vpipe_retries_total.
type tries struct{ n *int }

type newTries struct{}

func (newTries) Do(req *policy.Request) (*http.Response, error) {
	req.SetOperationValue(tries{n: new(int)})
	return req.Next()
}

// counters are the Azure client's retries and failed calls (label "azure").
var counters = metrics.NewClient("azure")

type countTries struct{}

func (countTries) Do(req *policy.Request) (*http.Response, error) {
	var t tries
	if req.OperationValue(&t) && t.n != nil {
		if *t.n++; *t.n > 1 {
			counters.Retry()
		}
	}
	return req.Next()
}

// Err wraps a failed call with the call and the blob, and explains the errors
// that mean missing or wrong credentials, a missing container, or a server
// not answering. The service's answer is told in one line (status and error
// code), not the SDK's dump of the request and the XML body.
func (s *Store) Err(call, blob string, err error) error {
	counters.Error()
	what := s.loc.Object(blob)
	var se *stall.Error
	var re *azcore.ResponseError
	answer := err.Error()
	if errors.As(err, &re) {
		answer = fmt.Sprintf("%d %s", re.StatusCode, re.ErrorCode)
		if re.ErrorCode == "" {
			answer = fmt.Sprintf("%d %s", re.StatusCode, http.StatusText(re.StatusCode))
		}
	}
	var msg string
	switch {
	case errors.As(err, &se):
		msg = fmt.Sprintf("%s %s: no answer from %s: nothing sent or received for %s on the last of %d attempts (timeout_s, max_attempts)",
			call, what, s.server, se.For, s.attempts)
	case bloberror.HasCode(err, bloberror.ContainerNotFound):
		msg = fmt.Sprintf("%s %s: container %s does not exist at %s (%s)", call, what, s.loc.Container, s.server, answer)
	case bloberror.HasCode(err, bloberror.AuthenticationFailed, bloberror.AuthorizationFailure, bloberror.AuthorizationPermissionMismatch,
		bloberror.InvalidAuthenticationInfo, bloberror.NoAuthenticationInformation) || (re != nil && re.StatusCode == http.StatusForbidden):
		msg = fmt.Sprintf("%s %s: access refused (%s): check the credentials (%s) and their rights on container %s", call, what, answer, chainHelp, s.loc.Container)
	case s.entra && re == nil:
		// Not an answer of the service: most likely no token could be had.
		msg = fmt.Sprintf("%s %s: no usable Azure credentials? tried %s: %s", call, what, chainHelp, answer)
	default:
		msg = fmt.Sprintf("%s %s: %s", call, what, answer)
	}
	return &callError{msg: msg, err: err}
}

// callError is a failed call told in its own words, wrapping the SDK's error.
type callError struct {
	msg string
	err error
}

func (e *callError) Error() string { return e.msg }
func (e *callError) Unwrap() error { return e.err }
