// Package endpoint checks an S3 endpoint URL; it is apart from s3conn so the
// config (cgo-free, without the AWS SDK) and the client make the same check.
package endpoint

import (
	"net/url"
	"strings"
)

// Problem is what is wrong with an endpoint ("" = AWS, or a good one): not an
// http(s) URL, or credentials in it (user:secret@), which would show in logs;
// those are refused without being echoed.
func Problem(e string) string {
	if e == "" {
		return ""
	}
	u, err := url.Parse(e)
	switch {
	case (err == nil && u.User != nil) || (err != nil && strings.Contains(e, "@")):
		return "credentials are not taken from the endpoint (they would show in logs): remove the user:secret@ part and give them by the AWS chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)"
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return "want http://HOST[:PORT] or https://HOST[:PORT]"
	}
	return ""
}
