// Package s3e2e holds the end-to-end tests of the S3 source and sink: the
// vpipe binary and in-process runs against a real S3 server (versitygw),
// compared with the local sink's output by an independent client.
package s3e2e
