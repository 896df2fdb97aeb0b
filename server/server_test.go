package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/hopsml/hops/executors/gpu"
	"github.com/hopsml/hops/kernel"
)

// hopsBinary is built once by TestMain: the built-in "hops" kernelspec runs it.
var hopsBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hops-server-test-")
	if err != nil {
		panic(err)
	}
	hopsBinary = filepath.Join(dir, "hops")
	if out, err := exec.Command("go", "build", "-o", hopsBinary, "../cmd/hops").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build hops: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// projectPython is the venv interpreter with ipykernel and jupyterlab-js. Without it the tests that
// run kernels or the lab page cannot run: they fail under CI and skip elsewhere.
func projectPython(t *testing.T) string {
	t.Helper()
	py, err := filepath.Abs("../.venv/bin/python")
	if err == nil {
		if _, err = os.Stat(py); err == nil {
			return py
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("the project venv is missing (%v): run make venv", err)
	}
	t.Skip("no project venv; run make venv")
	return ""
}

type testServer struct {
	*Server
	url   string
	token string
	done  chan error
}

// startServer runs a real hops lab on a free loopback port with a fresh workspace.
func startServer(t *testing.T, extraSpecDirs ...string) *testServer {
	t.Helper()
	return startServerWith(t, func(c *Config) { c.KernelspecDirs = append(extraSpecDirs, c.KernelspecDirs...) })
}

// startServerWith is startServer with the configuration changed by configure first.
func startServerWith(t *testing.T, configure func(*Config)) *testServer {
	t.Helper()
	py := projectPython(t)
	cfg := Config{Root: t.TempDir(), Port: 0, Python: py, Binary: hopsBinary, KernelspecDirs: kernel.KernelspecDirs(py),
		GPUs: func() (gpu.Inventory, error) { return gpu.Inventory{}, gpu.ErrNoDriver }}
	configure(&cfg)
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: srv, url: srv.baseURL(), token: srv.Token(), done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { ts.done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-ts.done:
		case <-time.After(20 * time.Second):
			t.Error("server did not stop within 20s")
		}
	})
	return ts
}

// call makes an authenticated API request and decodes a JSON answer into out (if not nil).
func (ts *testServer) call(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	code, b := ts.request(t, method, path, r)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %v\n%s", method, path, err, b)
		}
	}
	return code
}

// raw makes an authenticated request without a body and returns the status and the answer.
func (ts *testServer) raw(t *testing.T, method, path string) (int, string) {
	t.Helper()
	code, b := ts.request(t, method, path, nil)
	return code, string(b)
}

func (ts *testServer) request(t *testing.T, method, path string, body io.Reader) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, ts.url+strings.TrimPrefix(path, "/"), body)
	req.Header.Set("Authorization", "token "+ts.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (ts *testServer) startKernel(t *testing.T, name string) kernelModel {
	t.Helper()
	var k kernelModel
	if code := ts.call(t, "POST", "/api/kernels", map[string]string{"name": name}, &k); code != http.StatusCreated {
		t.Fatalf("start kernel %s: status %d", name, code)
	}
	return k
}

// wsClient is a frontend's websocket to a kernel, in one of the two framings.
type wsClient struct {
	t       *testing.T
	ws      *websocket.Conn
	v1      bool
	session string
}

func (ts *testServer) connect(t *testing.T, kernelID, session string, v1 bool) *wsClient {
	t.Helper()
	u := strings.Replace(ts.url, "http://", "ws://", 1) + "api/kernels/" + kernelID + "/channels?session_id=" +
		url.QueryEscape(session) + "&token=" + ts.token
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	if v1 {
		d.Subprotocols = []string{v1Protocol}
	}
	ws, resp, err := d.Dial(u, nil)
	if err != nil {
		t.Fatalf("websocket: %v (%v)", err, resp)
	}
	if got := ws.Subprotocol() == v1Protocol; got != v1 {
		t.Fatalf("negotiated v1 = %v, want %v", got, v1)
	}
	c := &wsClient{t: t, ws: ws, v1: v1, session: session}
	t.Cleanup(func() { ws.Close() })
	return c
}

// send sends a request and returns its msg_id.
func (c *wsClient) send(channel, msgType string, content any) string {
	c.t.Helper()
	id := uuid.NewString()
	hdr, _ := json.Marshal(map[string]string{"msg_id": id, "msg_type": msgType, "session": c.session,
		"username": "test", "date": time.Now().UTC().Format(time.RFC3339Nano), "version": "5.3"})
	body, _ := json.Marshal(content)
	m := &kernel.Message{Header: hdr, Parent: []byte("{}"), Metadata: []byte("{}"), Content: body}
	var err error
	if c.v1 {
		err = c.ws.WriteMessage(websocket.BinaryMessage, encodeV1(channel, m))
	} else {
		err = c.ws.WriteMessage(websocket.TextMessage, encodeLegacy(channel, m))
	}
	if err != nil {
		c.t.Fatal(err)
	}
	return id
}

// received is a decoded message from the kernel.
type received struct {
	Channel  string
	MsgType  string
	ParentID string
	Content  map[string]any
}

func (c *wsClient) next(timeout time.Duration) (received, error) {
	c.ws.SetReadDeadline(time.Now().Add(timeout))
	typ, data, err := c.ws.ReadMessage()
	if err != nil {
		return received{}, err
	}
	var ch string
	var m *kernel.Message
	if c.v1 {
		if typ != websocket.BinaryMessage {
			c.t.Fatalf("a text frame on a v1 websocket: %s", data)
		}
		ch, m, err = decodeV1(data)
	} else {
		ch, m, err = decodeLegacy(typ, data)
	}
	if err != nil {
		c.t.Fatalf("undecodable frame from the server: %v", err)
	}
	r := received{Channel: ch, MsgType: m.MsgType(), ParentID: m.ParentID()}
	_ = json.Unmarshal(m.Content, &r.Content)
	return r, nil
}

// execute runs code and collects what the request produced until both its reply and its idle came.
func (c *wsClient) execute(code string, timeout time.Duration) (reply map[string]any, outputs []received) {
	c.t.Helper()
	id := c.send("shell", "execute_request", map[string]any{"code": code, "silent": false, "store_history": true,
		"user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true})
	deadline := time.Now().Add(timeout)
	idle := false
	for reply == nil || !idle {
		m, err := c.next(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("executing %q: %v (reply %v, idle %v, outputs %v)", code, err, reply, idle, outputs)
		}
		if m.ParentID != id {
			continue
		}
		switch {
		case m.MsgType == "execute_reply":
			reply = m.Content
		case m.MsgType == "status" && m.Content["execution_state"] == "idle":
			idle = true
		case m.Channel == "iopub" && m.MsgType != "status":
			outputs = append(outputs, m)
		}
	}
	return reply, outputs
}

// textOf joins the text of stream outputs and the text/plain of results.
func textOf(outputs []received) string {
	var b strings.Builder
	for _, o := range outputs {
		if s, ok := o.Content["text"].(string); ok {
			b.WriteString(s)
		}
		if d, ok := o.Content["data"].(map[string]any); ok {
			if s, ok := d["text/plain"].(string); ok {
				b.WriteString(s)
			}
		}
	}
	return b.String()
}

func TestKernelsExecuteOverBothWebsocketProtocols(t *testing.T) {
	ts := startServer(t)
	for _, spec := range []string{"python3", "hops"} {
		k := ts.startKernel(t, spec)
		for _, v1 := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/v1=%v", spec, v1), func(t *testing.T) {
				c := ts.connect(t, k.ID, uuid.NewString(), v1)
				reply, out := c.execute("print('hello'); 1+1", 60*time.Second)
				if reply["status"] != "ok" {
					t.Fatalf("reply %v", reply)
				}
				if got := textOf(out); got != "hello\n2" {
					t.Errorf("outputs %q, want %q", got, "hello\n2")
				}
			})
		}
	}
	var list []kernelModel
	ts.call(t, "GET", "/api/kernels", nil, &list)
	if len(list) != 2 {
		t.Fatalf("%d kernels listed, want 2", len(list))
	}
	for _, k := range list {
		if k.ExecutionState != "idle" || k.LastActivity == "" {
			t.Errorf("kernel %s: state %q, last_activity %q; want idle and a time", k.Name, k.ExecutionState, k.LastActivity)
		}
	}
}

func TestHopsKernelAnswersHopsMagicsThroughTheServer(t *testing.T) {
	ts := startServer(t)
	k := ts.startKernel(t, "hops")
	c := ts.connect(t, k.ID, uuid.NewString(), true)
	reply, out := c.execute("%hops version", 60*time.Second)
	if reply["status"] != "ok" || !strings.Contains(textOf(out), "hops") {
		t.Fatalf("reply %v, output %q", reply, textOf(out))
	}
}

func TestClientThatReconnectsReceivesTheOutputItMissed(t *testing.T) {
	ts := startServer(t)
	k := ts.startKernel(t, "python3")
	session := uuid.NewString()
	c := ts.connect(t, k.ID, session, true)
	c.execute("import time", 60*time.Second)
	id := c.send("shell", "execute_request", map[string]any{"code": "for i in range(3):\n    print(i, flush=True); time.sleep(0.3)",
		"silent": false, "store_history": true, "user_expressions": map[string]any{}, "allow_stdin": false})
	c.ws.Close()
	time.Sleep(1500 * time.Millisecond) // the cell runs and finishes while nobody is connected

	back := ts.connect(t, k.ID, session, true)
	var text strings.Builder
	replied, idle := false, false
	for !replied || !idle {
		m, err := back.next(10 * time.Second)
		if err != nil {
			t.Fatalf("after reconnecting: %v (so far %q, reply %v, idle %v)", err, text.String(), replied, idle)
		}
		if m.ParentID != id {
			continue
		}
		switch {
		case m.MsgType == "execute_reply":
			replied = true
		case m.MsgType == "status" && m.Content["execution_state"] == "idle":
			idle = true
		case m.MsgType == "stream":
			text.WriteString(m.Content["text"].(string))
		}
	}
	if text.String() != "0\n1\n2\n" {
		t.Errorf("replayed output %q, want the three lines", text.String())
	}
}

func TestInterruptStopsARunningCell(t *testing.T) {
	ts := startServer(t)
	for _, spec := range []string{"python3", "hops"} {
		t.Run(spec, func(t *testing.T) {
			k := ts.startKernel(t, spec)
			c := ts.connect(t, k.ID, uuid.NewString(), true)
			c.execute("import time", 60*time.Second)
			go func() {
				time.Sleep(time.Second)
				ts.call(t, "POST", "/api/kernels/"+k.ID+"/interrupt", nil, nil)
			}()
			reply, _ := c.execute("time.sleep(60)", 30*time.Second)
			if reply["ename"] != "KeyboardInterrupt" {
				t.Fatalf("reply %v, want KeyboardInterrupt", reply)
			}
		})
	}
}

func TestKilledKernelIsRestartedAndItsClientsAreTold(t *testing.T) {
	ts := startServer(t)
	k := ts.startKernel(t, "hops")
	c := ts.connect(t, k.ID, uuid.NewString(), true)
	c.execute("x = 41", 60*time.Second)
	kern, _ := ts.kernels.get(k.ID)
	kern.mu.Lock()
	pid := kern.proc.Pid()
	kern.mu.Unlock()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := c.next(15 * time.Second)
		if err != nil {
			t.Fatalf("no status restarting after kill -9: %v", err)
		}
		if m.MsgType == "status" && m.Content["execution_state"] == "restarting" {
			break
		}
	}
	reply, out := c.execute("'x' in globals()", 60*time.Second)
	if reply["status"] != "ok" || textOf(out) != "False" {
		t.Fatalf("after the restart: reply %v, output %q (want a fresh kernel)", reply, textOf(out))
	}
	var model kernelModel
	ts.call(t, "GET", "/api/kernels/"+k.ID, nil, &model)
	if model.ExecutionState != "idle" {
		t.Errorf("state after restart = %q, want idle", model.ExecutionState)
	}
}

func TestKernelThatKeepsCrashingIsDeclaredDead(t *testing.T) {
	specs := t.TempDir()
	os.MkdirAll(filepath.Join(specs, "crasher"), 0o755)
	os.WriteFile(filepath.Join(specs, "crasher", "kernel.json"),
		[]byte(`{"argv":["sh","-c","echo boom >&2; exit 3"],"display_name":"Crasher","language":"none"}`), 0o644)
	ts := startServer(t, specs)
	k := ts.startKernel(t, "crasher")
	deadline := time.Now().Add(30 * time.Second)
	for {
		var model kernelModel
		ts.call(t, "GET", "/api/kernels/"+k.ID, nil, &model)
		if model.ExecutionState == "dead" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("state %q after 30s, want dead", model.ExecutionState)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code := ts.call(t, "POST", "/api/kernels/"+k.ID+"/interrupt", nil, nil); code != http.StatusConflict {
		t.Errorf("interrupt of a dead kernel: %d, want 409", code)
	}
}

func TestRestartGivesAFreshKernelWithTheSameID(t *testing.T) {
	ts := startServer(t)
	k := ts.startKernel(t, "python3")
	c := ts.connect(t, k.ID, uuid.NewString(), false)
	c.execute("x = 1", 60*time.Second)
	var model kernelModel
	if code := ts.call(t, "POST", "/api/kernels/"+k.ID+"/restart", nil, &model); code != http.StatusOK || model.ID != k.ID {
		t.Fatalf("restart: %d %+v", code, model)
	}
	reply, out := c.execute("'x' in globals()", 60*time.Second)
	if reply["status"] != "ok" || textOf(out) != "False" {
		t.Fatalf("after restart: %v %q", reply, textOf(out))
	}
	if code := ts.call(t, "DELETE", "/api/kernels/"+k.ID, nil, nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	if code := ts.call(t, "GET", "/api/kernels/"+k.ID, nil, nil); code != http.StatusNotFound {
		t.Errorf("deleted kernel still there: %d", code)
	}
}

func TestSessionsBindNotebooksToKernels(t *testing.T) {
	ts := startServer(t)
	var first, again map[string]any
	body := map[string]any{"path": "a.ipynb", "type": "notebook", "name": "", "kernel": map[string]string{"name": "python3"}}
	if code := ts.call(t, "POST", "/api/sessions", body, &first); code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, first)
	}
	ts.call(t, "POST", "/api/sessions", body, &again)
	if again["id"] != first["id"] {
		t.Errorf("a second session for the same path: %v vs %v", again["id"], first["id"])
	}
	id := first["id"].(string)
	oldKernel := first["kernel"].(map[string]any)["id"]
	var patched map[string]any
	ts.call(t, "PATCH", "/api/sessions/"+id, map[string]any{"path": "b.ipynb", "kernel": map[string]string{"name": "hops"}}, &patched)
	if patched["path"] != "b.ipynb" || patched["kernel"].(map[string]any)["name"] != "hops" {
		t.Errorf("patched session %v", patched)
	}
	if code := ts.call(t, "GET", fmt.Sprintf("/api/kernels/%s", oldKernel), nil, nil); code != http.StatusNotFound {
		// the old kernel shuts down in the background
		time.Sleep(4 * time.Second)
		if code := ts.call(t, "GET", fmt.Sprintf("/api/kernels/%s", oldKernel), nil, nil); code != http.StatusNotFound {
			t.Errorf("the replaced kernel still runs")
		}
	}
	var bad map[string]any
	if code := ts.call(t, "POST", "/api/sessions", map[string]any{"path": "c.ipynb", "kernel": map[string]string{"name": "nope"}}, &bad); code != http.StatusNotFound ||
		!strings.Contains(bad["message"].(string), "python3") {
		t.Errorf("unknown kernelspec: %d %v; want 404 naming the installed ones", code, bad)
	}
	if code := ts.call(t, "DELETE", "/api/sessions/"+id, nil, nil); code != http.StatusNoContent {
		t.Errorf("delete session: %d", code)
	}
}

func TestKernelspecsOfferHopsFirstWithItsLogos(t *testing.T) {
	ts := startServer(t)
	var specs struct {
		Default     string                    `json:"default"`
		Kernelspecs map[string]map[string]any `json:"kernelspecs"`
	}
	ts.call(t, "GET", "/api/kernelspecs", nil, &specs)
	if specs.Default != "hops" {
		t.Errorf("default = %q", specs.Default)
	}
	hops := specs.Kernelspecs["hops"]
	if hops == nil || specs.Kernelspecs["python3"] == nil {
		t.Fatalf("kernelspecs %v", specs.Kernelspecs)
	}
	spec := hops["spec"].(map[string]any)
	if spec["display_name"] != "Python 3 (hops)" || spec["language"] != "python" {
		t.Errorf("hops spec %v", spec)
	}
	resources := hops["resources"].(map[string]any)
	for _, key := range []string{"logo-svg", "logo-64x64"} {
		u, _ := resources[key].(string)
		if u == "" || ts.call(t, "GET", u, nil, nil) != http.StatusOK {
			t.Errorf("resource %s = %q not served", key, u)
		}
	}
}

func TestHopsAPIReportsVersionAndGPUs(t *testing.T) {
	ts := startServer(t)
	var v map[string]any
	if code := ts.call(t, "GET", "/api/hops/version", nil, &v); code != http.StatusOK || v["version"] == "" {
		t.Fatalf("version: %d %v", code, v)
	}
	var g map[string]any
	ts.call(t, "GET", "/api/hops/gpus", nil, &g)
	if devices, ok := g["devices"].([]any); !ok || len(devices) != 0 || !strings.Contains(fmt.Sprint(g["error"]), "driver") {
		t.Errorf("gpus without a driver: %v", g)
	}
}
