package main

import (
	"bytes"
	"os"
	"testing"

	"go.yaml.in/yaml/v3"
)

// An Indexed Job's pod failures count per index: a shard that fails (exit 1:
// a video that cannot succeed, retried by every new pod) uses up its own
// retries, not a budget shared with the other shards, whose pods Kubernetes
// would kill once a Job-wide backoffLimit is spent. Evictions and node
// drains (DisruptionTarget) are not failures of the shard at all.
func TestIndexedJobFailuresStayInTheirShard(t *testing.T) {
	b, err := os.ReadFile("../../deploy/k8s/indexed-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	found := false
	for {
		var m struct {
			Kind string
			Spec struct {
				CompletionMode       string `yaml:"completionMode"`
				BackoffLimit         *int   `yaml:"backoffLimit"`
				BackoffLimitPerIndex *int   `yaml:"backoffLimitPerIndex"`
				PodFailurePolicy     struct {
					Rules []struct {
						Action          string
						OnPodConditions []struct{ Type string } `yaml:"onPodConditions"`
					}
				} `yaml:"podFailurePolicy"`
				Template struct {
					Spec struct {
						RestartPolicy string `yaml:"restartPolicy"`
					}
				}
			}
		}
		if err := dec.Decode(&m); err != nil {
			break
		}
		if m.Kind != "Job" || m.Spec.CompletionMode != "Indexed" {
			continue
		}
		found = true
		if m.Spec.BackoffLimitPerIndex == nil || *m.Spec.BackoffLimitPerIndex < 1 {
			t.Error("the Indexed Job has no backoffLimitPerIndex: one failing shard spends the Job's backoffLimit and the other shards are killed")
		}
		if m.Spec.BackoffLimit != nil {
			t.Errorf("the Indexed Job sets a Job-wide backoffLimit (%d) besides the per-index one", *m.Spec.BackoffLimit)
		}
		if m.Spec.Template.Spec.RestartPolicy != "Never" {
			t.Errorf("restartPolicy %q: backoffLimitPerIndex needs Never", m.Spec.Template.Spec.RestartPolicy)
		}
		ignored := false
		for _, r := range m.Spec.PodFailurePolicy.Rules {
			for _, c := range r.OnPodConditions {
				ignored = ignored || r.Action == "Ignore" && c.Type == "DisruptionTarget"
			}
		}
		if !ignored {
			t.Error("an eviction or node drain (DisruptionTarget) counts as a failure of the shard: add a podFailurePolicy rule that ignores it")
		}
	}
	if !found {
		t.Fatal("no Indexed Job in indexed-job.yaml")
	}
}
