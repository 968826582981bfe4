// Package pyenv finds the Python the format tests read vpipe's output with:
// a python3 with json, numpy, OpenCV (cv2) and PyYAML, readers vpipe did not
// write (scripts/setup-tests.sh installs Debian's python3-numpy,
// python3-opencv and python3-yaml). Without one a test is skipped, or fails
// under CI (CI set), as the other test servers do.
package pyenv

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// Python is the path of a python3 that has the modules.
func Python(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", "import json, numpy, cv2, yaml").Run() == nil {
			return path
		}
	}
	msg := "no python3 with numpy, cv2 and yaml: run scripts/setup-tests.sh (python3-numpy python3-opencv python3-yaml)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Run runs a script with args and returns its standard output; a failure
// shows what it printed.
func Run(t testing.TB, script string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(Python(t), append([]string{script}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s%s", script, err, out, stderr.Bytes())
	}
	return out
}
