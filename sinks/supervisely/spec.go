package supervisely

import (
	"context"
	"fmt"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/supervisely/api"
	"github.com/vpipe/vpipe/supervisely/platform"
)

// Config is the Supervisely sink's section (sink: or sinks[i], type supervisely).
type Config struct {
	// ProjectID writes into an existing image project.
	ProjectID int `mapstructure:"project_id" doc:"write into this existing image project (its custom data is left alone); 0 = find or make \"<source project>(images)\""`
	// WorkspaceID is where a new project goes when the source is not on the server.
	WorkspaceID int `mapstructure:"workspace_id" doc:"where a new project goes; 0 = the source project's workspace (required for a source not on the server, unless project_id)"`
	// OverwriteAnnotations re-sends the annotations of images already there.
	OverwriteAnnotations bool `mapstructure:"overwrite_annotations" doc:"send the annotations of images already there again"`
}

// name is the type, as the source's type is compared with it.
const name = "supervisely"

func init() {
	registry.Register(registry.Spec{
		Kind:    registry.Sink,
		Name:    name,
		Summary: "An image project on a Supervisely server: images uploaded in batches, then their annotations (see Supervisely).",
		Config:  func(registry.Kind) any { return &Config{} },
		Check:   check,
		Uses:    []string{platform.Name},
		Where: func(conf any) string {
			if c := conf.(*Config); c.ProjectID != 0 {
				return fmt.Sprintf("project %d", c.ProjectID)
			}
			return fmt.Sprintf("new project in workspace %d", conf.(*Config).WorkspaceID)
		},
		NewSink: newSink,
	})
}

// projectSource is a source on the server that tells its project (its
// workspace is where a new image project goes by default).
type projectSource interface {
	Info(ctx context.Context) (*api.ProjectInfo, error)
}

func newSink(_ context.Context, conf any, d registry.Deps) (core.Sink, error) {
	c := conf.(*Config)
	client, err := platform.Client(d)
	if err != nil {
		return nil, err
	}
	sk := &Sink{C: client, ProjectID: int64(c.ProjectID), WorkspaceID: int64(c.WorkspaceID), Overwrite: c.OverwriteAnnotations}
	if d.Source != nil {
		sk.SourceProject = d.Source.Project
	}
	if ps, ok := d.Source.(projectSource); ok {
		sk.SourceWorkspace = func(ctx context.Context) (int64, error) {
			p, err := ps.Info(ctx)
			if err != nil {
				return 0, err
			}
			return p.WorkspaceID, nil
		}
	}
	return sk, nil
}

// check: ids are not negative; a new project fed by a source that is not on
// the server has no source workspace to go to.
func check(conf any, env registry.CheckEnv) []registry.Problem {
	c := conf.(*Config)
	var ps []registry.Problem
	switch {
	case env.SourceType != name && c.ProjectID == 0 && c.WorkspaceID == 0:
		ps = append(ps, registry.Problem{Key: "workspace_id", Msg: fmt.Sprintf("required for a supervisely sink fed by a %s source (or set %s.project_id)", env.SourceType, env.Prefix)})
	case c.WorkspaceID < 0:
		ps = append(ps, registry.Problem{Key: "workspace_id", Msg: fmt.Sprintf("must be >= 0, got %d", c.WorkspaceID)})
	}
	if c.ProjectID < 0 {
		ps = append(ps, registry.Problem{Key: "project_id", Msg: fmt.Sprintf("must be >= 0, got %d", c.ProjectID)})
	}
	return ps
}
