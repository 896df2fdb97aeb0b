package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCommandLine(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed for kernelspec install")
	}
	prefix := t.TempDir()
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string // "" for success
		stdout  string // a substring of what is printed
	}{
		{"version", []string{"version"}, "", "hops "},
		{"help", []string{"help"}, "", "hops kernelspec install"},
		{"no command", nil, "no command given", ""},
		{"unknown command", []string{"lab-x"}, `unknown command "lab-x"`, ""},
		{"kernel without a connection file", []string{"kernel"}, "needs -f CONNECTION_FILE", ""},
		{"kernel with a missing connection file", []string{"kernel", "-f", "/nonexistent.json"}, "read connection file", ""},
		{"kernelspec without install", []string{"kernelspec"}, "usage: hops kernelspec install", ""},
		{"kernelspec install --user and --prefix", []string{"kernelspec", "install", "--user", "--prefix", prefix, "--python", python}, "exclusive", ""},
		{"kernelspec install into a prefix", []string{"kernelspec", "install", "--prefix", prefix, "--python", python}, "", "Installed kernelspec hops"},
		{"kernelspec install with a missing python", []string{"kernelspec", "install", "--prefix", prefix, "--python", "/nonexistent/python"}, "not found", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(tc.args, &stdout, &stderr)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error %v (stderr %s)", err, stderr.String())
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tc.stdout)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(prefix, "share", "jupyter", "kernels", "hops", "kernel.json")); err != nil {
		t.Errorf("kernelspec not installed: %v", err)
	}
}
