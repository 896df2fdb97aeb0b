package kernel

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
)

// ConnectionInfo is a Jupyter connection file: where the five sockets live and the signing key.
type ConnectionInfo struct {
	Transport       string `json:"transport"`
	IP              string `json:"ip"`
	ShellPort       int    `json:"shell_port"`
	ControlPort     int    `json:"control_port"`
	StdinPort       int    `json:"stdin_port"`
	IOPubPort       int    `json:"iopub_port"`
	HBPort          int    `json:"hb_port"`
	Key             string `json:"key"`
	SignatureScheme string `json:"signature_scheme"`
	KernelName      string `json:"kernel_name,omitempty"`
}

// ReadConnectionFile parses and checks a connection file.
func ReadConnectionFile(path string) (ConnectionInfo, error) {
	var c ConnectionInfo
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("read connection file: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("connection file %s is not valid JSON: %w", path, err)
	}
	if c.Transport == "" {
		c.Transport = "tcp"
	}
	if c.Transport != "tcp" && c.Transport != "ipc" {
		return c, fmt.Errorf("connection file %s: transport %q is not supported (use tcp or ipc)", path, c.Transport)
	}
	if c.SignatureScheme != "" && c.SignatureScheme != "hmac-sha256" {
		return c, fmt.Errorf("connection file %s: signature_scheme %q is not supported (use hmac-sha256)", path, c.SignatureScheme)
	}
	return c, nil
}

// Endpoint returns the ZeroMQ endpoint of a port, in the connection file's transport.
func (c ConnectionInfo) Endpoint(port int) string {
	if c.Transport == "ipc" {
		return "ipc://" + c.IP + "-" + strconv.Itoa(port)
	}
	return "tcp://" + net.JoinHostPort(c.IP, strconv.Itoa(port))
}

// zmqEndpoint is Endpoint for hops' own sockets, through the read-buffered transports.
func (c ConnectionInfo) zmqEndpoint(port int) string {
	if c.Transport == "ipc" {
		return bufferedIPC + "://" + c.IP + "-" + strconv.Itoa(port)
	}
	return bufferedTCP + "://" + net.JoinHostPort(c.IP, strconv.Itoa(port))
}

// NewIPCConnection places the five sockets of a kernel hops starts itself in dir, as Unix sockets:
// cheaper than loopback TCP and with no port to race for.
func NewIPCConnection(dir string) (ConnectionInfo, error) {
	key := make([]byte, 16)
	if _, err := rand.Read(key); err != nil {
		return ConnectionInfo{}, err
	}
	return ConnectionInfo{
		Transport: "ipc", IP: filepath.Join(dir, "engine"),
		ShellPort: 1, ControlPort: 2, StdinPort: 3, IOPubPort: 4, HBPort: 5,
		Key: hex.EncodeToString(key), SignatureScheme: "hmac-sha256",
	}, nil
}

// NewLocalConnection picks five free loopback ports and a random key, for a kernel hops starts itself.
func NewLocalConnection() (ConnectionInfo, error) {
	ports := make([]int, 5)
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return ConnectionInfo{}, fmt.Errorf("find a free port: %w", err)
		}
		listeners = append(listeners, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	key := make([]byte, 16)
	if _, err := rand.Read(key); err != nil {
		return ConnectionInfo{}, err
	}
	return ConnectionInfo{
		Transport: "tcp", IP: "127.0.0.1",
		ShellPort: ports[0], ControlPort: ports[1], StdinPort: ports[2], IOPubPort: ports[3], HBPort: ports[4],
		Key: hex.EncodeToString(key), SignatureScheme: "hmac-sha256",
	}, nil
}

// Write writes the connection file readable by the owner only.
func (c ConnectionInfo) Write(path string) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// WriteConnectionFile makes the connection of a kernel about to be started from spec and writes it
// to dir/kernel-<id>.json, named as jupyter_client names it (kernels read their id from the name).
// Kernels known to accept ipc get Unix sockets in dir; others loopback TCP, which every kernel
// supports. An empty key keeps the random one generated.
func WriteConnectionFile(dir, id string, spec EngineSpec, key string) (ConnectionInfo, string, error) {
	var conn ConnectionInfo
	var err error
	if spec.SpeaksIPC() {
		conn, err = NewIPCConnection(dir)
	} else {
		conn, err = NewLocalConnection()
	}
	if err != nil {
		return conn, "", err
	}
	if key != "" {
		conn.Key = key
	}
	conn.KernelName = spec.Name
	path := filepath.Join(dir, "kernel-"+id+".json")
	if err := conn.Write(path); err != nil {
		return conn, "", fmt.Errorf("write connection file: %w", err)
	}
	return conn, path, nil
}
