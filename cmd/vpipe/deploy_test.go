package main

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vpipe/vpipe/config"
	"github.com/vpipe/vpipe/shard"
)

// container is what the test reads of a manifest's container.
type container struct {
	Name    string
	Command []string
	Args    []string
	Env     []struct {
		Name      string
		Value     string
		ValueFrom map[string]any `yaml:"valueFrom"`
	}
	VolumeMounts []struct {
		Name      string
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type manifest struct {
	Kind     string
	Metadata struct{ Name string }
	Data     map[string]string
	Spec     struct {
		CompletionMode string `yaml:"completionMode"`
		Completions    *int
		Parallelism    *int
		Template       struct {
			Spec struct {
				Containers []container
				Volumes    []struct {
					Name      string
					ConfigMap *struct{ Name string } `yaml:"configMap"`
				}
			}
		}
	}
}

func manifests(t *testing.T, path string) []manifest {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []manifest
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var m manifest
		if err := dec.Decode(&m); err != nil {
			if err.Error() == "EOF" {
				return out
			}
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, m)
	}
}

var envRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// checkArgv parses a container's command line with vpipe's real command tree:
// an unknown command or flag, a bad value, a missing required flag or a wrong
// number of arguments fails.
func checkArgv(argv []string) error {
	if len(argv) < 2 || argv[0] != "vpipe" {
		return fmt.Errorf("command line %q does not run vpipe", argv)
	}
	root := newRoot()
	cmd, rest, err := root.Find(argv[1:])
	if err != nil || cmd == root {
		return fmt.Errorf("%q: no such vpipe command (%v)", argv, err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		return fmt.Errorf("%q: %v", argv, err)
	}
	if err := cmd.ValidateRequiredFlags(); err != nil {
		return fmt.Errorf("%q: %v", argv, err)
	}
	if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
		return fmt.Errorf("%q: %v", argv, err)
	}
	var lf logFlags // values vpipe checks before running
	lf.format, _ = cmd.Flags().GetString("log-format")
	lf.interval, _ = cmd.Flags().GetDuration("progress-interval")
	if lf.format != "" {
		if err := lf.check(); err != nil {
			return err
		}
	}
	if cmd.Flags().Lookup("shard") != nil && cmd.Flags().Changed("shard") {
		if err := (&shardFlag{value: cmd.Flags().Lookup("shard").Value.String()}).check(cmd); err != nil {
			return err
		}
	}
	return nil
}

// checkArgv refuses what vpipe refuses.
func TestCheckArgv(t *testing.T) {
	if err := checkArgv([]string{"vpipe", "worker", "/c.yaml", "--nats", "nats://x:4222", "--until-empty"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{
		{"vpipe", "wrker", "/c.yaml"},
		{"vpipe", "worker", "/c.yaml"}, // --nats is required
		{"vpipe", "worker", "/c.yaml", "--nats", "nats://x", "--untill-empty"},
		{"vpipe", "run", "/c.yaml", "--shard", "4/4"},
		{"vpipe", "run", "/c.yaml", "--log-format", "xml"},
		{"vpipe", "run", "a.yaml", "b.yaml"},
		{"vpipe", "worker", "/c.yaml", "--nats", "nats://x", "--ack-wait", "soon"},
		{"sh", "-c", "vpipe run"},
	} {
		if err := checkArgv(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The Kubernetes manifests' command lines are real vpipe command lines: each
// container's command and args, with $(VAR) expanded from its env (the Job's
// completion index from 0 to completions-1), parse with the CLI's own flags;
// --shard's N is the Job's completions and parallelism; the config file the
// command names is mounted from a ConfigMap of the same file, and loads.
func TestManifests(t *testing.T) {
	files, _ := filepath.Glob("../../deploy/k8s/*.yaml")
	if len(files) != 2 {
		t.Fatalf("manifests: %v", files)
	}
	seen := map[string]bool{}
	for _, f := range files {
		ms := manifests(t, f)
		maps := map[string]map[string]string{}
		for _, m := range ms {
			if m.Kind == "ConfigMap" {
				maps[m.Metadata.Name] = m.Data
			}
		}
		for _, m := range ms {
			if m.Kind == "ConfigMap" {
				continue
			}
			seen[m.Kind+"/"+m.Metadata.Name] = true
			ps := m.Spec.Template.Spec
			if len(ps.Containers) == 0 {
				t.Fatalf("%s: %s %s has no containers", f, m.Kind, m.Metadata.Name)
			}
			for _, c := range ps.Containers {
				where := fmt.Sprintf("%s: %s %s container %s", filepath.Base(f), m.Kind, m.Metadata.Name, c.Name)
				env := map[string]string{}
				for _, e := range c.Env {
					env[e.Name] = e.Value
				}
				indexes := []string{""}
				if m.Kind == "Job" && m.Spec.CompletionMode == "Indexed" {
					if m.Spec.Completions == nil || m.Spec.Parallelism == nil {
						t.Fatalf("%s: an Indexed Job needs completions and parallelism", where)
					}
					if _, ok := env["JOB_COMPLETION_INDEX"]; !ok {
						t.Fatalf("%s: JOB_COMPLETION_INDEX is not in env", where)
					}
					indexes = nil
					for i := 0; i < *m.Spec.Completions; i++ {
						indexes = append(indexes, fmt.Sprint(i))
					}
				}
				for _, idx := range indexes {
					var argv []string
					for _, a := range append(append([]string{}, c.Command...), c.Args...) {
						argv = append(argv, envRef.ReplaceAllStringFunc(a, func(ref string) string {
							name := envRef.FindStringSubmatch(ref)[1]
							if name == "JOB_COMPLETION_INDEX" {
								return idx
							}
							v, ok := env[name]
							if !ok || v == "" {
								t.Fatalf("%s: %s is not set in env", where, ref)
							}
							return v
						}))
					}
					if err := checkArgv(argv); err != nil {
						t.Fatalf("%s: %v", where, err)
					}
					if i := indexOf(argv, "--shard"); i >= 0 {
						s, err := shard.Parse("--shard", argv[i+1])
						if err != nil {
							t.Fatalf("%s: %v", where, err)
						}
						if fmt.Sprint(s.I) != idx || s.N != *m.Spec.Completions || s.N != *m.Spec.Parallelism {
							t.Fatalf("%s: --shard %s with completion index %s of completions %d, parallelism %d",
								where, argv[i+1], idx, *m.Spec.Completions, *m.Spec.Parallelism)
						}
					} else if m.Spec.CompletionMode == "Indexed" {
						t.Fatalf("%s: an Indexed Job's pods must each take --shard $(JOB_COMPLETION_INDEX)/N", where)
					}
					checkConfig(t, where, argv[2], c, ps.Volumes, maps)
				}
			}
		}
	}
	for _, want := range []string{"Job/vpipe-shards", "Job/vpipe-enqueue", "Deployment/vpipe-workers"} {
		if !seen[want] {
			t.Errorf("no %s in deploy/k8s (have %v)", want, seen)
		}
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v && i+1 < len(s) {
			return i
		}
	}
	return -1
}

// checkConfig finds the config file a command names in a ConfigMap mounted in
// the container, and loads it as vpipe does.
func checkConfig(t *testing.T, where, path string, c container, vols []struct {
	Name      string
	ConfigMap *struct{ Name string } `yaml:"configMap"`
}, maps map[string]map[string]string) {
	t.Helper()
	for _, vm := range c.VolumeMounts {
		if filepath.Dir(path) != vm.MountPath {
			continue
		}
		for _, v := range vols {
			if v.Name != vm.Name || v.ConfigMap == nil {
				continue
			}
			body, ok := maps[v.ConfigMap.Name][filepath.Base(path)]
			if !ok {
				t.Fatalf("%s: ConfigMap %s has no %s", where, v.ConfigMap.Name, filepath.Base(path))
			}
			p := filepath.Join(t.TempDir(), "pipeline.yaml")
			os.WriteFile(p, []byte(body), 0o644)
			if _, err := config.Load(p, nil, nil); err != nil {
				t.Fatalf("%s: %s: %v", where, path, err)
			}
			return
		}
	}
	t.Fatalf("%s: the config %s is not in a mounted ConfigMap", where, path)
}

// The Dockerfile's runtime stage installs the Debian package of every shared
// library the vpipe binary links directly (FFmpeg's, GEOS; this test binary
// links the same), and no -dev package.
func TestDockerfileLibraries(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	stages := strings.Split(string(b), "\nFROM ")
	if len(stages) != 3 || !strings.HasPrefix(stages[1], "golang:") || !strings.Contains(stages[1], "bookworm") ||
		!strings.HasPrefix(stages[2], "debian:bookworm-slim") {
		t.Fatalf("want a golang bookworm build stage, then a debian:bookworm-slim runtime")
	}
	runtime := stages[2]
	self, _ := os.Executable()
	f, err := elf.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	libs, err := f.ImportedLibraries()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, lib := range libs {
		if lib != "libc.so.6" { // in the base image
			paths = append(paths, "/usr/lib/*/"+lib)
		}
	}
	n := len(paths)
	out, err := exec.Command("dpkg", append([]string{"-S"}, paths...)...).Output() // one call: dpkg -S is slow
	if err != nil {
		t.Fatalf("dpkg -S %v: %v", paths, err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg := strings.SplitN(line, ":", 2)[0]
		if !regexp.MustCompile(`\b` + regexp.QuoteMeta(pkg) + `\b`).MatchString(runtime) {
			t.Errorf("vpipe links a library of Debian package %s (%s), which the Dockerfile's runtime stage does not install", pkg, line)
		}
		if strings.HasPrefix(pkg, "libgeos") && !strings.Contains(stages[1], "libgeos-dev") {
			t.Errorf("the build stage lacks libgeos-dev")
		}
		if strings.Contains(runtime, pkg+"-dev") {
			t.Errorf("the runtime stage installs %s-dev", pkg)
		}
	}
	if n < 7 {
		t.Fatalf("found %d shared libraries to check in %v", n, libs)
	}
}
