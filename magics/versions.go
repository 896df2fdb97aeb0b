package magics

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// notebookPath is the notebook a versions command is about: --path, else the one this kernel runs for.
func notebookPath(ctx context.Context, inv *Invocation) (string, error) {
	if p := inv.String("path"); p != "" {
		return strings.TrimPrefix(p, "/"), nil
	}
	p, err := currentNotebook(ctx, inv.Env)
	if err == nil && p == "" {
		err = fmt.Errorf("which notebook? this kernel runs for none: pass --path NOTEBOOK")
	}
	return p, err
}

// currentNotebook is the notebook this kernel runs for, as the server's sessions say, else as
// HOPS_NOTEBOOK_PATH says, by which a kernel hops lab did not start (nbclient, papermill) may be
// told; "" for none.
func currentNotebook(ctx context.Context, env *Env) (string, error) {
	if env.API != nil && env.KernelID != "" {
		p, err := env.API.NotebookOf(ctx, env.KernelID)
		if err != nil || p != "" {
			return p, err
		}
	}
	return strings.TrimPrefix(os.Getenv("HOPS_NOTEBOOK_PATH"), "/"), nil
}

var pathFlag = Flag{Name: "path", Value: "NOTEBOOK", Help: "the notebook (workspace path); default: this one"}

// fileVersion is a version as /api/hops/versions lists it.
type fileVersion struct {
	Commit  string    `json:"commit"`
	Short   string    `json:"short"`
	Time    time.Time `json:"time"`
	Author  string    `json:"author"`
	Message string    `json:"message"`
	Path    string    `json:"path"`
	Deleted bool      `json:"deleted"`
	Cells   *struct {
		Added, Removed, Changed int
	} `json:"cells"`
}

func versionsCommand() *Command {
	return &Command{
		Name:    "versions",
		Summary: "List the saved versions of this notebook (every save is a git commit), newest first.",
		Flags: []Flag{pathFlag,
			{Name: "limit", Value: "N", Default: "20", Help: "show at most N versions"}},
		Example: "%hops versions --limit 5",
		Run: func(ctx context.Context, inv *Invocation) error {
			p, err := notebookPath(ctx, inv)
			if err != nil {
				return err
			}
			limit, err := strconv.Atoi(inv.String("limit"))
			if err != nil || limit < 1 || limit > 1000 {
				return usagef("--limit %q: give a number from 1 to 1000", inv.String("limit"))
			}
			body, _, err := inv.Env.API.Get(ctx, "versions/"+p, url.Values{"limit": {strconv.Itoa(limit)}})
			if err != nil {
				return err
			}
			var page struct {
				Versions []fileVersion `json:"versions"`
				More     bool          `json:"more"`
				Error    string        `json:"error"`
			}
			if err := json.Unmarshal(body, &page); err != nil {
				return fmt.Errorf("unexpected answer from hops lab: %w", err)
			}
			return inv.Env.Out.Display(renderVersions(p, page.Versions, page.More, page.Error))
		},
	}
}

func renderVersions(p string, vs []fileVersion, more bool, warning string) Bundle {
	var txt, h strings.Builder
	fmt.Fprintf(&txt, "versions of %s (newest first)\n", p)
	fmt.Fprintf(&h, `<div class="hops-versions"><p><b>%s</b>: %d version(s), newest first</p>`, html.EscapeString(p), len(vs))
	if warning != "" {
		fmt.Fprintf(&txt, "warning: %s\n", warning)
		fmt.Fprintf(&h, `<p style="color:var(--jp-warn-color0,#b26b00)">⚠ %s</p>`, html.EscapeString(warning))
	}
	h.WriteString(`<table><thead><tr><th style="text-align:left">version</th><th style="text-align:left">saved</th>` +
		`<th style="text-align:left">cells</th><th style="text-align:left">change</th><th style="text-align:left">by</th></tr></thead><tbody>`)
	for _, v := range vs {
		when := v.Time.Local().Format("2006-01-02 15:04:05")
		cells := ""
		if v.Cells != nil {
			cells = fmt.Sprintf("+%d −%d ~%d", v.Cells.Added, v.Cells.Removed, v.Cells.Changed)
		}
		msg := v.Message
		if v.Path != "" && v.Path != p {
			msg += " (as " + v.Path + ")"
		}
		fmt.Fprintf(&txt, "%s  %s  %-12s %s\n", v.Short, when, cells, msg)
		fmt.Fprintf(&h, `<tr><td style="text-align:left"><code>%s</code></td><td style="text-align:left">%s</td><td style="text-align:left">%s</td><td style="text-align:left">%s</td><td style="text-align:left">%s</td></tr>`,
			html.EscapeString(v.Short), html.EscapeString(when), html.EscapeString(cells), html.EscapeString(msg), html.EscapeString(v.Author))
	}
	h.WriteString(`</tbody></table>`)
	hint := "compare two with %hops diff OLD NEW (NEW may be current)"
	if more {
		hint = "older versions not shown: raise --limit; " + hint
	}
	fmt.Fprintf(&txt, "%s", hint)
	fmt.Fprintf(&h, `<p><small>%s</small></p></div>`, html.EscapeString(hint))
	return Bundle{"text/plain": txt.String(), "text/html": h.String()}
}

func diffCommand() *Command {
	return &Command{
		Name: "diff",
		Summary: "Show what changed in this notebook between two versions, cell by cell: sources, outputs " +
			"(images side by side) and metadata.",
		Args:    "OLD [NEW]",
		MinArgs: 1,
		MaxArgs: 2,
		Flags: []Flag{pathFlag,
			{Name: "ignore-execution-counts", Kind: Bool, Help: "do not count changed execution counts as changes"},
			{Name: "ignore-outputs", Kind: Bool, Help: "compare sources and metadata only"}},
		Example: "%hops diff 3f2a1bc current",
		Run: func(ctx context.Context, inv *Invocation) error {
			p, err := notebookPath(ctx, inv)
			if err != nil {
				return err
			}
			q := url.Values{"from": {inv.Args[0]}, "to": {"current"}, "format": {"html"}}
			if len(inv.Args) == 2 {
				q.Set("to", inv.Args[1])
			}
			if inv.Bool("ignore-execution-counts") {
				q.Set("ignore_execution_counts", "true")
			}
			if inv.Bool("ignore-outputs") {
				q.Set("ignore_outputs", "true")
			}
			body, header, err := inv.Env.API.Get(ctx, "diff/"+p, q)
			if err != nil {
				return err
			}
			summary := header.Get("X-Hops-Diff-Summary")
			if summary == "" {
				summary = "the diff is shown as HTML"
			}
			text := fmt.Sprintf("%s: %s → %s: %s", p, q.Get("from"), q.Get("to"), summary)
			return inv.Env.Out.Display(Bundle{"text/plain": text, "text/html": string(body)})
		},
	}
}
