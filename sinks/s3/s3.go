// Package s3 writes the Supervisely image project layout (layouts/project) to
// an S3 bucket under a prefix (stores/s3): meta.json, custom_data.json, and
// per dataset <dataset>/datasets/<child>/img|ann|meta/... . Every object is
// one PUT, so no reader ever sees part of one, and a frame's image is its last
// object, so an image that is listed always has its annotation and meta.
// meta.json is merged by conditional PUT, read and merged again when another
// writer (another shard) came first.
//
// Unlike sinks/local, the S3 sink takes no lease: two unsharded runs into one
// prefix are not refused. What keeps such a prefix repairable is that a Put
// that fails leaves none of its objects, and that Existing counts an image as
// there only with its annotation and meta, so a re-run rewrites whatever one
// run's roll-back took from under the other.
package s3

import (
	"context"

	"github.com/vpipe/vpipe/internal/s3conn"
	"github.com/vpipe/vpipe/layouts/project"
	s3store "github.com/vpipe/vpipe/stores/s3"
)

// Sink is the project layout on a bucket prefix.
type Sink struct {
	*project.Sink
	c *s3conn.Client
	// beforeMetaPut runs between reading and writing meta.json (tests make a
	// concurrent change there).
	beforeMetaPut func()
}

// New connects to the bucket named by o.URL. Nothing is read or written yet.
func New(ctx context.Context, o s3conn.Options) (*Sink, error) {
	c, err := s3conn.New(ctx, o)
	if err != nil {
		return nil, err
	}
	st := s3store.New(c)
	s := &Sink{Sink: project.New(st), c: c}
	st.BeforeUpdatePut = func() {
		if s.beforeMetaPut != nil {
			s.beforeMetaPut()
		}
	}
	return s, nil
}
