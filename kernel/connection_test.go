package kernel

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func writeTestFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadConnectionFileParsesAJupyterConnectionFile(t *testing.T) {
	path := writeTestFile(t, "kernel-1.json", `{
  "shell_port": 53001, "iopub_port": 53002, "stdin_port": 53003, "control_port": 53004, "hb_port": 53005,
  "ip": "127.0.0.1", "key": "b1c0ffee-0000-4000-8000-000000000000", "transport": "tcp",
  "signature_scheme": "hmac-sha256", "kernel_name": "hops", "jupyter_session": "/home/u/nb.ipynb"
}`)
	got, err := ReadConnectionFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := ConnectionInfo{
		Transport: "tcp", IP: "127.0.0.1",
		ShellPort: 53001, IOPubPort: 53002, StdinPort: 53003, ControlPort: 53004, HBPort: 53005,
		Key: "b1c0ffee-0000-4000-8000-000000000000", SignatureScheme: "hmac-sha256", KernelName: "hops",
	}
	if got != want {
		t.Errorf("ReadConnectionFile =\n%+v\nwant\n%+v", got, want)
	}
}

func TestReadConnectionFileDefaultsTheTransportToTCP(t *testing.T) {
	path := writeTestFile(t, "k.json", `{"ip":"127.0.0.1","shell_port":1,"key":""}`)
	c, err := ReadConnectionFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Transport != "tcp" {
		t.Errorf("transport %q, want tcp", c.Transport)
	}
}

func TestReadConnectionFileRejectsBadFiles(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
		want    string // in the error
	}{
		{"bad JSON", `{"shell_port": 1,`, "not valid JSON"},
		{"not an object", `[1, 2, 3]`, "not valid JSON"},
		{"port as a string", `{"shell_port": "1"}`, "not valid JSON"},
		{"unsupported transport", `{"transport": "udp", "ip": "127.0.0.1"}`, `transport "udp" is not supported`},
		{"unsupported signature scheme", `{"transport": "tcp", "signature_scheme": "hmac-md5"}`, `signature_scheme "hmac-md5" is not supported`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTestFile(t, "k.json", tc.content)
			_, err := ReadConnectionFile(path)
			if err == nil {
				t.Fatal("ReadConnectionFile succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file and say %q", err, tc.want)
			}
		})
	}
}

func TestReadConnectionFileOfAMissingFileFails(t *testing.T) {
	_, err := ReadConnectionFile(filepath.Join(t.TempDir(), "missing.json"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadConnectionFile = %v, want an error wrapping fs.ErrNotExist", err)
	}
}

func TestEndpoint(t *testing.T) {
	for _, tc := range []struct {
		transport, ip string
		port          int
		want          string
	}{
		{"tcp", "127.0.0.1", 5555, "tcp://127.0.0.1:5555"},
		{"tcp", "0.0.0.0", 1, "tcp://0.0.0.0:1"},
		{"tcp", "::1", 5555, "tcp://[::1]:5555"},
		{"ipc", "/tmp/kernel-abc", 5555, "ipc:///tmp/kernel-abc-5555"},
		{"ipc", "kernel", 1, "ipc://kernel-1"},
	} {
		c := ConnectionInfo{Transport: tc.transport, IP: tc.ip}
		if got := c.Endpoint(tc.port); got != tc.want {
			t.Errorf("%s %s Endpoint(%d) = %q, want %q", tc.transport, tc.ip, tc.port, got, tc.want)
		}
	}
}

func TestNewLocalConnectionPicksFiveDistinctPortsAndAKey(t *testing.T) {
	c, err := NewLocalConnection()
	if err != nil {
		t.Fatal(err)
	}
	if c.Transport != "tcp" || c.IP != "127.0.0.1" || c.SignatureScheme != "hmac-sha256" {
		t.Errorf("transport %q ip %q scheme %q, want tcp 127.0.0.1 hmac-sha256", c.Transport, c.IP, c.SignatureScheme)
	}
	ports := []int{c.ShellPort, c.ControlPort, c.StdinPort, c.IOPubPort, c.HBPort}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || p > 65535 {
			t.Errorf("port %d out of range", p)
		}
		if seen[p] {
			t.Errorf("port %d used twice in %v", p, ports)
		}
		seen[p] = true
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(c.Key) {
		t.Errorf("key %q is not 32 hex characters", c.Key)
	}
	other, err := NewLocalConnection()
	if err != nil {
		t.Fatal(err)
	}
	if other.Key == c.Key {
		t.Error("two connections got the same key")
	}
}

func TestWriteThenReadConnectionFileRoundTrips(t *testing.T) {
	c, err := NewLocalConnection()
	if err != nil {
		t.Fatal(err)
	}
	c.KernelName = "python3"
	path := filepath.Join(t.TempDir(), "kernel-engine.json")
	if err := c.Write(path); err != nil {
		t.Fatal(err)
	}
	got, err := ReadConnectionFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != c {
		t.Errorf("read back\n%+v\nwrote\n%+v", got, c)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("connection file mode %v, want 0600: it holds the signing key", perm)
	}
}

func TestNewIPCConnectionPutsUnixSocketsInTheDirectory(t *testing.T) {
	dir := t.TempDir()
	c, err := NewIPCConnection(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Transport != "ipc" || len(c.Key) != 32 {
		t.Fatalf("got %+v", c)
	}
	if got, want := c.Endpoint(c.ShellPort), "ipc://"+dir+"/engine-1"; got != want {
		t.Errorf("shell endpoint %q, want %q", got, want)
	}
	if got, want := c.zmqEndpoint(c.IOPubPort), "hops+ipc://"+dir+"/engine-4"; got != want {
		t.Errorf("hops' own iopub endpoint %q, want %q", got, want)
	}
}
