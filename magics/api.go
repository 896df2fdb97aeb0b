package magics

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Client calls the project API (/api/hops) of the hops lab that started this kernel: magics
// read and change the server's state only through it.
type Client struct {
	BaseURL string // e.g. http://127.0.0.1:8888/
	Token   string
	HTTP    *http.Client
}

// ClientFromEnv is the client for the server named by HOPS_SERVER_URL and HOPS_TOKEN, which hops
// lab sets for its kernels; nil when the kernel was not started by hops lab.
func ClientFromEnv() *Client {
	base := os.Getenv("HOPS_SERVER_URL")
	if base == "" {
		return nil
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	return &Client{BaseURL: base, Token: os.Getenv("HOPS_TOKEN"), HTTP: &http.Client{Timeout: 2 * time.Minute}}
}

// errNoServer says what to do when a command needs hops lab and the kernel runs without it.
var errNoServer = errors.New("this kernel was not started by hops lab, so there is no project to ask: open the notebook in `hops lab`")

// Get fetches /api/hops/<p> (p's segments are escaped here) with query q and returns the body
// and its headers. A 4xx/5xx is an error carrying the server's message.
func (c *Client) Get(ctx context.Context, p string, q url.Values) ([]byte, http.Header, error) {
	return c.get(ctx, "api/hops/"+escapePath(p), q)
}

// NotebookOf returns the workspace path of the notebook whose session runs kernel id, from the
// Jupyter sessions API: the path a kernel was started with can be a placeholder (JupyterLab starts
// a notebook's session under a temporary path) and goes stale when the notebook is renamed.
func (c *Client) NotebookOf(ctx context.Context, kernelID string) (string, error) {
	body, _, err := c.get(ctx, "api/sessions", nil)
	if err != nil {
		return "", err
	}
	var sessions []struct {
		Path   string `json:"path"`
		Type   string `json:"type"`
		Kernel struct {
			ID string `json:"id"`
		} `json:"kernel"`
	}
	if err := json.Unmarshal(body, &sessions); err != nil {
		return "", fmt.Errorf("unexpected sessions from hops lab: %w", err)
	}
	for _, s := range sessions {
		if s.Kernel.ID == kernelID && s.Type == "notebook" {
			return s.Path, nil
		}
	}
	return "", nil
}

func (c *Client) get(ctx context.Context, rel string, q url.Values) ([]byte, http.Header, error) {
	if c == nil {
		return nil, nil, errNoServer
	}
	u := c.BaseURL + rel
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "token "+c.Token)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot reach hops lab at %s: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode >= 400 {
		var e struct{ Message string }
		if json.Unmarshal(body, &e) == nil && e.Message != "" {
			return nil, nil, errors.New(e.Message)
		}
		return nil, nil, fmt.Errorf("hops lab answered %s", resp.Status)
	}
	return body, resp.Header, nil
}

// escapePath escapes each segment of a "/"-separated path.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// Post sends body as JSON to /api/hops/<p> and decodes the answer into out (when not nil).
func (c *Client) Post(ctx context.Context, p string, body, out any) error {
	if c == nil {
		return errNoServer
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+"api/hops/"+escapePath(p), bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Lines streams /api/hops/<p>, a JSON-lines response, calling fn with each line until the response
// ends, ctx ends or fn fails. It has no overall timeout: a stream lasts as long as what it follows.
func (c *Client) Lines(ctx context.Context, p string, q url.Values, fn func([]byte) error) error {
	return c.stream(ctx, http.MethodGet, p, q, nil, fn)
}

// PostLines posts body as JSON to /api/hops/<p> and streams the JSON-lines answer as Lines does.
func (c *Client) PostLines(ctx context.Context, p string, body any, fn func([]byte) error) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return c.stream(ctx, http.MethodPost, p, nil, b, fn)
}

func (c *Client) stream(ctx context.Context, method, p string, q url.Values, body []byte, fn func([]byte) error) error {
	if c == nil {
		return errNoServer
	}
	u := c.BaseURL + "api/hops/" + escapePath(p)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.doWith(&http.Client{Transport: c.HTTP.Transport}, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 256<<20)
	for sc.Scan() {
		if err := fn(sc.Bytes()); err != nil {
			return err
		}
	}
	return sc.Err()
}

func (c *Client) do(req *http.Request) (*http.Response, error) { return c.doWith(c.HTTP, req) }

// doWith sends an authenticated request; a 4xx/5xx answer is an error carrying the server's message.
func (c *Client) doWith(hc *http.Client, req *http.Request) (*http.Response, error) {
	req.Header.Set("Authorization", "token "+c.Token)
	resp, err := hc.Do(req)
	if err != nil {
		if req.Context().Err() != nil {
			return nil, req.Context().Err()
		}
		return nil, fmt.Errorf("cannot reach hops lab at %s: %w", c.BaseURL, err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var e struct{ Message string }
		if json.Unmarshal(body, &e) == nil && e.Message != "" {
			return nil, &APIError{Status: resp.StatusCode, Msg: e.Message}
		}
		return nil, &APIError{Status: resp.StatusCode, Msg: "hops lab answered " + resp.Status}
	}
	return resp, nil
}

// APIError is an answer of hops lab that is not a success; Msg is its message.
type APIError struct {
	Status int
	Msg    string
}

func (e *APIError) Error() string { return e.Msg }
