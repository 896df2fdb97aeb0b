package server

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/hopsml/hops/server/httpjson"
)

// auth guards every endpoint as jupyter_server's defaults do, or stricter: a token (header, query
// or the login form) or the cookie it earns; an XSRF token for mutations authenticated by cookie;
// same-origin websockets; and, when bound to loopback, only loopback Host names (DNS rebinding).
type auth struct {
	token    string
	cookie   string // cookie name, per port so two servers on one host do not collide
	session  string // the cookie's value: random per server run
	loopback bool
}

func newAuth(token string, port int, loopback bool) *auth {
	return &auth{token: token, cookie: "hops-auth-" + strconv.Itoa(port), session: randomHex(32), loopback: loopback}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// public says whether a path is served without credentials: the API version probe, the login page
// and static application files, which hold nothing of the user's.
func public(path string) bool {
	switch {
	case path == "/api" || path == "/login" || path == "/favicon.ico" || path == "/api/hops/openapi.yaml":
		return true
	case strings.HasPrefix(path, "/static/"), strings.HasPrefix(path, "/lab/extensions/"):
		return true
	}
	return false
}

// safeMethod reports methods that change nothing and so need no XSRF token.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func (a *auth) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "frame-ancestors 'self'")
		h.Set("Referrer-Policy", "same-origin")
		if a.loopback && !loopbackHost(r.Host) {
			httpjson.WriteError(w, httpjson.Errorf(http.StatusForbidden,
				"host %q is not this server's: it listens on loopback only (start it with --ip to serve other names)", r.Host))
			return
		}
		if public(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		tok := a.tokenOf(r)
		byToken := tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(a.token)) == 1
		byCookie := false
		if c, err := r.Cookie(a.cookie); err == nil {
			byCookie = subtle.ConstantTimeCompare([]byte(c.Value), []byte(a.session)) == 1
		}
		switch {
		case byToken:
			// A token in the URL earns the cookie, so the page's own requests and websockets (which
			// JupyterLab sends without the token on same origin) are authenticated too.
			if r.URL.Query().Get("token") != "" {
				a.setCookies(w, r)
			}
		case byCookie:
			if !safeMethod(r.Method) && !a.xsrfOK(r) && !websocketUpgrade(r) {
				httpjson.WriteError(w, httpjson.Errorf(http.StatusForbidden,
					"'_xsrf' argument missing from %s: send the _xsrf cookie's value in the X-XSRFToken header", r.Method))
				return
			}
		default:
			if r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/api/") && !websocketUpgrade(r) {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
				return
			}
			httpjson.WriteError(w, httpjson.Errorf(http.StatusForbidden,
				"authentication required: send 'Authorization: token <token>' (the token is in the URL hops lab printed at startup)"))
			return
		}
		if safeMethod(r.Method) && !strings.HasPrefix(r.URL.Path, "/api/") {
			a.ensureXSRF(w, r)
		}
		next.ServeHTTP(w, r)
	})
}

// tokenOf returns the token a request carries in its Authorization header or its query.
func (a *auth) tokenOf(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "token") || strings.EqualFold(scheme, "bearer") {
			return strings.TrimSpace(tok)
		}
	}
	return r.URL.Query().Get("token")
}

func (a *auth) setCookies(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: a.cookie, Value: a.session, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	a.ensureXSRF(w, r)
}

// ensureXSRF gives the browser an _xsrf cookie, which JupyterLab echoes in X-XSRFToken.
func (a *auth) ensureXSRF(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie("_xsrf"); err == nil && len(c.Value) >= 32 {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: "_xsrf", Value: randomHex(16), Path: "/", SameSite: http.SameSiteLaxMode,
		Secure: r.TLS != nil})
}

func (a *auth) xsrfOK(r *http.Request) bool {
	c, err := r.Cookie("_xsrf")
	if err != nil || c.Value == "" {
		return false
	}
	sent := r.Header.Get("X-XSRFToken")
	if sent == "" {
		sent = r.Header.Get("X-Xsrftoken")
	}
	if sent == "" && r.Method == http.MethodPost {
		sent = r.PostFormValue("_xsrf")
	}
	return sent != "" && subtle.ConstantTimeCompare([]byte(sent), []byte(c.Value)) == 1
}

// checkOrigin admits a websocket from the server's own origin, or from a client that sends no Origin
// (not a browser: it has authenticated with the token). A page elsewhere cannot ride the cookie.
func (a *auth) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

func websocketUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// loopbackHost reports whether a Host header names this machine's loopback.
func loopbackHost(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	h = strings.Trim(h, "[]")
	if strings.EqualFold(h, "localhost") || strings.HasSuffix(strings.ToLower(h), ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>hops lab: log in</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}
input{font:inherit;padding:.4rem;width:100%;box-sizing:border-box;margin:.5rem 0}button{font:inherit;padding:.4rem 1rem}
.err{color:#b00}</style></head>
<body><h1>hops lab</h1>
<p>Paste the token from the URL <code>hops lab</code> printed when it started
(<code>…/lab?token=<b>this part</b></code>).</p>
{{if .Failed}}<p class="err">That token is not this server's.</p>{{end}}
<form method="post" action="/login"><input type="hidden" name="_xsrf" value="{{.XSRF}}">
<input type="hidden" name="next" value="{{.Next}}">
<input type="password" name="token" autofocus placeholder="token" aria-label="token">
<button type="submit">Log in</button></form></body></html>`))

// handleLogin shows the token form and, on a right token, sets the cookie and goes where the user
// was headed (only to a path on this server).
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	a := s.auth
	next := r.FormValue("next")
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		next = "/lab"
	}
	failed := false
	if r.Method == http.MethodPost {
		if !a.xsrfOK(r) {
			httpjson.WriteError(w, httpjson.Errorf(http.StatusForbidden, "login form without its _xsrf field: reload the login page"))
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.PostFormValue("token")), []byte(a.token)) == 1 {
			a.setCookies(w, r)
			http.Redirect(w, r, next, http.StatusFound)
			return
		}
		failed = true
		w.WriteHeader(http.StatusUnauthorized)
	}
	xsrf := randomHex(16)
	if c, err := r.Cookie("_xsrf"); err == nil && len(c.Value) >= 32 {
		xsrf = c.Value
	} else {
		http.SetCookie(w, &http.Cookie{Name: "_xsrf", Value: xsrf, Path: "/", SameSite: http.SameSiteLaxMode})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = loginPage.Execute(w, map[string]any{"XSRF": xsrf, "Next": next, "Failed": failed})
}
