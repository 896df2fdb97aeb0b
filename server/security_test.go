package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// rawRequest sends a request line exactly as written (clients would clean the path), with the
// token, and returns the status and body.
func (ts *testServer) rawRequest(t *testing.T, method, target, body string) (int, string) {
	t.Helper()
	u, _ := url.Parse(ts.url)
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := method + " " + target + " HTTP/1.1\r\nHost: " + u.Host + "\r\nAuthorization: token " + ts.token +
		"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n" + body
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestEveryEndpointRefusesRequestsWithoutCredentials(t *testing.T) {
	ts := startServer(t)
	k := ts.startKernel(t, "python3")
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/status"}, {"GET", "/api/me"}, {"GET", "/api/contents"}, {"GET", "/api/contents/a.ipynb"},
		{"POST", "/api/contents"}, {"PUT", "/api/contents/a.txt"}, {"PATCH", "/api/contents/a.txt"},
		{"DELETE", "/api/contents/a.txt"}, {"GET", "/api/contents/a.ipynb/checkpoints"}, {"GET", "/files/a.txt"},
		{"GET", "/api/sessions"}, {"POST", "/api/sessions"}, {"GET", "/api/kernels"}, {"POST", "/api/kernels"},
		{"GET", "/api/kernels/" + k.ID}, {"DELETE", "/api/kernels/" + k.ID}, {"POST", "/api/kernels/" + k.ID + "/interrupt"},
		{"POST", "/api/kernels/" + k.ID + "/restart"}, {"GET", "/api/kernels/" + k.ID + "/channels"},
		{"GET", "/api/kernelspecs"}, {"GET", "/api/kernelspecs/hops"}, {"GET", "/kernelspecs/hops/logo-64x64.png"},
		{"GET", "/api/config/notebook"}, {"PATCH", "/api/config/notebook"}, {"GET", "/api/events/subscribe"},
		{"POST", "/api/shutdown"}, {"GET", "/api/hops/version"}, {"GET", "/api/hops/gpus"},
		{"GET", "/api/hops/versions/nb.ipynb"}, {"GET", "/api/hops/versions/nb.ipynb/abcdef1"}, {"GET", "/api/hops/diff/nb.ipynb?from=abcdef1"},
		{"GET", "/api/hops/store"}, {"GET", "/api/hops/store/Resources"}, {"PUT", "/api/hops/store/Resources/x"},
		{"PATCH", "/api/hops/store/Resources/x"}, {"DELETE", "/api/hops/store/Resources/x"},
		{"GET", "/lab"}, {"GET", "/lab/tree/a.ipynb"}, {"GET", "/doc"}, {"GET", "/lab/api/settings"},
		{"PUT", "/lab/api/settings/@jupyterlab/notebook-extension:tracker"}, {"GET", "/lab/api/workspaces"},
		{"PUT", "/lab/api/workspaces/default"}, {"GET", "/lab/api/translations"}, {"GET", "/api/nbconvert"},
	} {
		req, _ := http.NewRequest(c.method, ts.url+strings.TrimPrefix(c.path, "/"), strings.NewReader("{}"))
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusForbidden:
		case resp.StatusCode == http.StatusFound && strings.HasPrefix(resp.Header.Get("Location"), "/login"):
		default:
			t.Errorf("%s %s without credentials: %d, want 403 or a redirect to /login", c.method, c.path, resp.StatusCode)
		}
	}
	if code := ts.call(t, "GET", "/api/kernels/"+k.ID, nil, nil); code != http.StatusOK {
		t.Errorf("the kernel was touched by unauthenticated requests: %d", code)
	}
	// A wrong token is no token.
	req, _ := http.NewRequest("GET", ts.url+"api/status", nil)
	req.Header.Set("Authorization", "token "+ts.token+"x")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("wrong token: %v %v", resp.StatusCode, err)
	}
}

func TestOnlyTheVersionProbeAndStaticAssetsArePublic(t *testing.T) {
	ts := startServer(t)
	for _, path := range []string{"/api", "/login", "/api/hops/openapi.yaml"} {
		resp, err := http.Get(ts.url + strings.TrimPrefix(path, "/"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s without credentials: %d, want 200", path, resp.StatusCode)
		}
	}
}

func TestPathEscapesAreRefused(t *testing.T) {
	ts := startServer(t)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("TOPSECRET"), 0o644)
	os.Symlink(outside, filepath.Join(ts.cfg.Root, "link"))
	os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(ts.cfg.Root, "secret-link.txt"))
	os.WriteFile(filepath.Join(ts.cfg.Root, ".env"), []byte("TOPSECRET"), 0o644)
	rel, _ := filepath.Rel(ts.cfg.Root, filepath.Join(outside, "secret.txt"))

	escapes := []struct{ method, target, body string }{
		{"GET", "/api/contents/../../../etc/passwd", ""},
		{"GET", "/api/contents/" + rel, ""},
		{"GET", "/api/contents/%2e%2e/%2e%2e/etc/passwd", ""},
		{"GET", "/api/contents/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", ""},
		{"GET", "/api/contents/%252e%252e/%252e%252e/etc/passwd", ""},
		{"GET", "/api/contents/..%5c..%5cetc%5cpasswd", ""},
		{"GET", "/api/contents//etc/passwd", ""},
		{"GET", "/api/contents/%2Fetc%2Fpasswd", ""},
		{"GET", "/api/contents/link/secret.txt", ""},
		{"GET", "/api/contents/secret-link.txt", ""},
		{"GET", "/api/contents/.env", ""},
		{"GET", "/api/contents/.hops/config", ""},
		{"GET", "/api/contents/a%00.txt", ""},
		{"GET", "/files/../../etc/passwd", ""},
		{"GET", "/files/%2e%2e/%2e%2e/etc/passwd", ""},
		{"GET", "/files/link/secret.txt", ""},
		{"GET", "/files/secret-link.txt", ""},
		{"GET", "/files/.env", ""},
		{"PUT", "/api/contents/..%2f..%2fescaped.txt", `{"type":"file","format":"text","content":"x"}`},
		{"PUT", "/api/contents/link/planted.txt", `{"type":"file","format":"text","content":"x"}`},
		{"PATCH", "/api/contents/a.txt", `{"path":"../escaped.txt"}`},
		{"PATCH", "/api/contents/a.txt", `{"path":"/tmp/escaped.txt"}`},
		{"PATCH", "/api/contents/a.txt", `{"path":"link/escaped.txt"}`},
		{"POST", "/api/contents", `{"copy_from":"../../etc/passwd"}`},
		{"POST", "/api/contents", `{"copy_from":"link/secret.txt"}`},
		{"POST", "/api/contents/link", `{"type":"file"}`},
		{"DELETE", "/api/contents/link/secret.txt", ""},
		{"GET", "/kernelspecs/hops/..%2fkernel.json", ""},
		{"GET", "/kernelspecs/..%2f..%2fetc/passwd", ""},
		{"GET", "/static/lab/..%2f..%2f..%2fetc%2fpasswd", ""},
		{"GET", "/lab/api/themes/..%2f..%2f..%2fetc%2fpasswd", ""},
		{"GET", "/lab/extensions/..%2f..%2f..%2fetc%2fpasswd", ""},
		{"PUT", "/lab/api/workspaces/..%2f..%2fescaped", `{"data":{},"metadata":{"id":"../../escaped"}}`},
	}
	ts.call(t, "PUT", "/api/contents/a.txt", map[string]string{"type": "file", "format": "text", "content": "a"}, nil)
	for _, e := range escapes {
		code, body := ts.rawRequest(t, e.method, e.target, e.body)
		if code < 400 || code >= 500 || strings.Contains(body, "TOPSECRET") || strings.Contains(body, "root:") {
			t.Errorf("%s %s: %d %.200s; want a 4xx without the file", e.method, e.target, code, body)
		}
	}
	for _, p := range []string{filepath.Join(filepath.Dir(ts.cfg.Root), "escaped.txt"), "/tmp/escaped.txt",
		filepath.Join(outside, "planted.txt"), filepath.Join(outside, "escaped.txt")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was written outside the workspace", p)
			os.Remove(p)
		}
	}
	if _, err := os.Stat(filepath.Join(outside, "secret.txt")); err != nil {
		t.Errorf("the file behind the symlink was removed: %v", err)
	}
}

func TestCrossOriginWebsocketsAreRefused(t *testing.T) {
	ts := startServer(t)
	k := ts.startKernel(t, "python3")
	u := strings.Replace(ts.url, "http://", "ws://", 1) + "api/kernels/" + k.ID + "/channels?session_id=x&token=" + ts.token
	for origin, ok := range map[string]bool{"http://evil.example": false, "null": false,
		strings.TrimSuffix(ts.url, "/"): true} {
		ws, resp, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {origin}})
		if ok && err != nil {
			t.Errorf("same origin %s refused: %v", origin, err)
		}
		if !ok && (err == nil || resp == nil || resp.StatusCode != http.StatusForbidden) {
			t.Errorf("origin %s: %v, want 403", origin, err)
		}
		if ws != nil {
			ws.Close()
		}
	}
}

func TestMalformedJSONBodiesGetA400WithAMessage(t *testing.T) {
	ts := startServer(t)
	ts.call(t, "PUT", "/api/contents/a.txt", map[string]string{"type": "file", "format": "text", "content": "a"}, nil)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/api/kernels", "{"},
		{"POST", "/api/kernels", `{"name": 3}`},
		{"POST", "/api/sessions", "{"},
		{"POST", "/api/sessions", `{"path": ["a"]}`},
		{"POST", "/api/sessions", `{}`},
		{"PUT", "/api/contents/b.txt", "["},
		{"PUT", "/api/contents/b.ipynb", `{"type":"notebook","format":"json","content":"not a notebook"}`},
		{"PATCH", "/api/contents/a.txt", "{"},
		{"POST", "/api/contents", "nope"},
		{"PATCH", "/api/config/notebook", "nope"},
		{"PUT", "/lab/api/workspaces/default", "{"},
		{"PUT", "/lab/api/settings/@jupyterlab/notebook-extension:tracker", "{"},
		{"GET", "/api/me?permissions=%7Bbad", ""},
	} {
		code, body := ts.rawRequest(t, c.method, c.path, c.body)
		if code != http.StatusBadRequest || !strings.Contains(body, `"message"`) {
			t.Errorf("%s %s %q: %d %s; want 400 with a message", c.method, c.path, c.body, code, body)
		}
	}
}

func TestCookieAuthenticatedMutationsNeedTheXSRFToken(t *testing.T) {
	ts := startServer(t)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Get(ts.url + "lab?token=" + ts.token) // earns the login and _xsrf cookies
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	u, _ := url.Parse(ts.url)
	var xsrf string
	for _, c := range jar.Cookies(u) {
		if c.Name == "_xsrf" {
			xsrf = c.Value
		}
	}
	if xsrf == "" {
		t.Fatal("no _xsrf cookie after the token login")
	}
	get, _ := http.NewRequest("GET", ts.url+"api/status", nil)
	if resp, _ := client.Do(get); resp.StatusCode != http.StatusOK {
		t.Errorf("cookie GET: %d", resp.StatusCode)
	}
	post, _ := http.NewRequest("POST", ts.url+"api/contents", strings.NewReader("{}"))
	if resp, _ := client.Do(post); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cookie POST without X-XSRFToken: %d, want 403", resp.StatusCode)
	}
	post, _ = http.NewRequest("POST", ts.url+"api/contents", strings.NewReader("{}"))
	post.Header.Set("X-XSRFToken", xsrf)
	if resp, _ := client.Do(post); resp.StatusCode != http.StatusCreated {
		t.Errorf("cookie POST with X-XSRFToken: %d, want 201", resp.StatusCode)
	}
}

func TestForeignHostNamesAreRefusedOnLoopback(t *testing.T) {
	ts := startServer(t)
	req, _ := http.NewRequest("GET", ts.url+"api", nil)
	req.Host = "attacker.example:8888" // DNS rebinding: a public name resolving to 127.0.0.1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("Host attacker.example: %d, want 403", resp.StatusCode)
	}
}
