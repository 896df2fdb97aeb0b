package magics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hopsml/hops/experiments"
)

func experimentsCommand() *Command {
	return &Command{
		Name: "experiments",
		Summary: "Browse experiments: `list` the runs (newest first), `show ID` one run (trials, metric plots, " +
			"environment), `compare ID ID...` runs side by side (params, metric timelines, environment differences).",
		Args:    "[list | show ID | compare ID ID...]",
		MaxArgs: -1,
		Flags: []Flag{
			{Name: "name", Value: "NAME", Help: "list: only runs with this name"},
			{Name: "limit", Value: "N", Default: "20", Help: "list: at most N runs"},
		},
		Example: "%hops experiments compare 20261125-103012-3f9a 20261125-104500-77c1",
		Run: func(ctx context.Context, inv *Invocation) error {
			sub, args := "list", inv.Args
			if len(args) > 0 {
				sub, args = args[0], args[1:]
			}
			api := ExperimentsAPI{inv.Env.API}
			var out []Bundle
			var err error
			switch sub {
			case "list":
				if len(args) > 0 {
					return usagef("%%hops experiments list takes no arguments, got %q; filter with --name", args)
				}
				limit, cerr := strconv.Atoi(inv.String("limit"))
				if cerr != nil || limit < 1 || limit > 1000 {
					return usagef("--limit %s: give a number from 1 to 1000", inv.String("limit"))
				}
				out, err = api.List(ctx, inv.String("name"), limit)
			case "show":
				if len(args) != 1 {
					return usagef("%%hops experiments show takes one experiment id (see %%hops experiments list)")
				}
				out, err = api.Show(ctx, args[0])
			case "compare":
				if len(args) < 2 {
					return usagef("%%hops experiments compare takes two or more experiment ids, got %d (see %%hops experiments list)", len(args))
				}
				out, err = api.Compare(ctx, args)
			default:
				return usagef("unknown %%hops experiments command %q: use list, show ID or compare ID ID...", sub)
			}
			if err != nil {
				return err
			}
			for _, b := range out {
				if err := inv.Env.Out.Display(b); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func checkoutCommand() *Command {
	return &Command{
		Name: "checkout",
		Summary: "Reproduce an experiment's starting point: write its notebook as it was at the recorded version " +
			"next to the current one (<name>@<id>.ipynb) with the Python packages it ran with (<name>@<id>.requirements.txt).",
		Args:    "ID",
		MinArgs: 1,
		MaxArgs: 1,
		Flags:   []Flag{{Name: "branch", Kind: Bool, Help: "put the notebook's version on the git branch experiments/ID instead of a file"}},
		Example: "%hops checkout 20261125-103012-3f9a",
		Run: func(ctx context.Context, inv *Invocation) error {
			b, _, err := ExperimentsAPI{inv.Env.API}.Checkout(ctx, inv.Args[0], inv.Bool("branch"))
			if err != nil {
				return err
			}
			return inv.Env.Out.Display(b)
		},
	}
}

// CheckoutResult is where a checkout put an experiment's notebook and environment.
type CheckoutResult struct {
	Notebook, Branch, Environment, Commit, Note string
	PythonVersion                               string `json:"python_version"`
}

// Checkout asks hops lab to write an experiment's notebook version (or, with branch, to make a git
// branch at it) and environment into the workspace, and says where they are.
func (a ExperimentsAPI) Checkout(ctx context.Context, id string, branch bool) (Bundle, CheckoutResult, error) {
	var res CheckoutResult
	if err := a.Client.Post(ctx, "experiments/"+id+"/checkout", map[string]bool{"branch": branch}, &res); err != nil {
		return nil, res, err
	}
	short := res.Commit[:min(7, len(res.Commit))]
	var txt, h string
	if res.Branch != "" {
		txt = fmt.Sprintf("Checked out experiment %s on the git branch %s (the notebook at version %s; git switch %s to work on it)",
			id, res.Branch, short, res.Branch)
		h = fmt.Sprintf(`<p>Checked out experiment <code>%s</code> on the git branch <code>%s</code> (the notebook at version <code>%s</code>; <code>git switch %s</code> to work on it)`,
			html.EscapeString(id), html.EscapeString(res.Branch), html.EscapeString(short), html.EscapeString(res.Branch))
	} else {
		txt = fmt.Sprintf("Checked out experiment %s: %s (the notebook at version %s)", id, res.Notebook, short)
		h = fmt.Sprintf(`<p>Checked out experiment <code>%s</code>: <a href="%s" target="_blank">%s</a> (the notebook at version <code>%s</code>)`,
			html.EscapeString(id), html.EscapeString(a.Client.BaseURL+"lab/tree/"+escapePath(res.Notebook)), html.EscapeString(res.Notebook),
			html.EscapeString(short))
	}
	if res.Environment != "" {
		txt += fmt.Sprintf(" and %s (the packages it ran with)", res.Environment)
		h += fmt.Sprintf(` and <code>%s</code> (the packages it ran with)`, html.EscapeString(res.Environment))
	}
	txt += "."
	h += ".</p>"
	if res.Note != "" {
		txt += "\nNote: " + res.Note
		h += "<p><b>Note:</b> " + html.EscapeString(res.Note) + "</p>"
	}
	return Bundle{"text/plain": txt, "text/html": h}, res, nil
}

// ExperimentsAPI renders experiments read from hops lab, for %hops experiments and `hops exp`.
type ExperimentsAPI struct{ Client *Client }

func (a ExperimentsAPI) get(ctx context.Context, id string) (*experiments.Experiment, error) {
	body, _, err := a.Client.Get(ctx, "experiments/"+id, nil)
	if err != nil {
		return nil, err
	}
	var e experiments.Experiment
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("unexpected answer from hops lab: %w", err)
	}
	return &e, nil
}

// List renders the newest runs.
func (a ExperimentsAPI) List(ctx context.Context, name string, limit int) ([]Bundle, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if name != "" {
		q.Set("name", name)
	}
	body, _, err := a.Client.Get(ctx, "experiments", q)
	if err != nil {
		return nil, err
	}
	var page struct{ Experiments []*experiments.Experiment }
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, fmt.Errorf("unexpected answer from hops lab: %w", err)
	}
	if len(page.Experiments) == 0 {
		msg := "No experiments yet: run a cell with %%hops run."
		if name != "" {
			msg = fmt.Sprintf("No experiment is named %q.", name)
		}
		return []Bundle{{"text/plain": msg, "text/html": "<p>" + html.EscapeString(msg) + "</p>"}}, nil
	}
	t := newTable("id", "name", "state", "trials", "best", "duration", "notebook", "started")
	for _, e := range page.Experiments {
		t.row(e.ID, e.Name, string(e.State), strconv.Itoa(e.TrialsTotal), bestText(e), runDuration(e),
			notebookText(e), e.Started.Local().Format("2006-01-02 15:04:05"))
	}
	return []Bundle{t.bundle(fmt.Sprintf("%d experiment(s), newest first", len(page.Experiments)))}, nil
}

// Show renders one run: its trials, summary, environment and code, then its plot.
func (a ExperimentsAPI) Show(ctx context.Context, id string) ([]Bundle, error) {
	e, err := a.get(ctx, id)
	if err != nil {
		return nil, err
	}
	v := newRunView(e, nil)
	for _, t := range e.Trials {
		v.trials[t.ID], v.order = t, append(v.order, t.ID)
	}
	table := v.table(time.Now(), true)
	sum := summary(e)
	env := environmentText(e.Environment)
	code := fmt.Sprintf("code:\n%s", e.Code)
	b := Bundle{
		"text/plain": strings.Join([]string{table["text/plain"].(string), sum["text/plain"].(string), env, code}, "\n\n"),
		"text/html": table["text/html"].(string) + sum["text/html"].(string) +
			"<details><summary>environment</summary><pre>" + html.EscapeString(env) + "</pre></details>" +
			"<details><summary>code</summary><pre>" + html.EscapeString(e.Code) + "</pre></details>",
	}
	out := []Bundle{b}
	if plot := plotExperiment(e); plot != nil {
		out = append(out, plot)
	}
	return out, nil
}

// Compare renders runs side by side: parameters, best metrics and environment differences, then
// the best trials' timelines overlaid.
func (a ExperimentsAPI) Compare(ctx context.Context, ids []string) ([]Bundle, error) {
	// A few at a time: the records with their timelines are most of the time a comparison takes.
	runs := make([]*experiments.Experiment, len(ids))
	errs := make([]error, len(ids))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			runs[i], errs[i] = a.get(ctx, id)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := []Bundle{compareRuns(runs)}
	if p := plotComparison(runs); p != nil {
		out = append(out, p)
	}
	return out, nil
}

// compareRuns is the comparison of runs (the first is the reference for environment differences).
func compareRuns(runs []*experiments.Experiment) Bundle {
	header := []string{""}
	for _, e := range runs {
		header = append(header, e.ID)
	}
	t := newTable(header...)
	add := func(label string, value func(e *experiments.Experiment) string) {
		cells := []string{label}
		for _, e := range runs {
			cells = append(cells, value(e))
		}
		t.row(cells...)
	}
	add("name", func(e *experiments.Experiment) string { return e.Name })
	add("state", func(e *experiments.Experiment) string { return string(e.State) })
	add("search", func(e *experiments.Experiment) string {
		return fmt.Sprintf("%s, %d trials", e.Method, e.TrialsTotal)
	})
	add("best", bestText)
	add("duration", runDuration)
	add("notebook", notebookText)
	for _, p := range paramUnion(runs) {
		add("param "+p, func(e *experiments.Experiment) string { return paramValues(e, p) })
	}
	for _, m := range metricUnion(runs) {
		add("best trial's "+m, func(e *experiments.Experiment) string {
			if bt := bestOrFirst(e); bt != nil {
				if v, ok := bt.Metrics[m]; ok {
					return formatMetric(v)
				}
			}
			return ""
		})
	}
	diffs := environmentDiffs(runs)
	b := t.bundle(fmt.Sprintf("%d experiments compared", len(runs)))
	envText := "environment: the same in every run"
	if len(diffs) > 0 {
		envText = "environment differences (against " + runs[0].ID + "):\n  " + strings.Join(diffs, "\n  ")
	}
	b["text/plain"] = b["text/plain"].(string) + "\n\n" + envText
	b["text/html"] = b["text/html"].(string) + "<pre>" + html.EscapeString(envText) + "</pre>"
	return b
}

// plotComparison overlays the timelines of each run's best (else first) trial, one color per run.
func plotComparison(runs []*experiments.Experiment) Bundle {
	var points []map[string]any
	for _, e := range runs {
		t := bestOrFirst(e)
		if t == nil {
			continue
		}
		for m, tl := range t.Timeline {
			for _, p := range thin(tl, maxPlotPoints) {
				if !math.IsNaN(p.Value) && !math.IsInf(p.Value, 0) {
					points = append(points, map[string]any{"run": e.ID + " (" + t.ID + ")", "metric": m, "step": p.Step, "value": p.Value})
				}
			}
		}
	}
	if len(points) == 0 {
		return nil
	}
	spec := map[string]any{
		"$schema": "https://vega.github.io/schema/vega-lite/v5.json",
		"title":   "metric timelines of each run's best trial",
		"data":    map[string]any{"values": points},
		"facet":   map[string]any{"row": map[string]any{"field": "metric", "type": "nominal", "title": nil}},
		"resolve": map[string]any{"scale": map[string]any{"y": "independent"}},
		"spec": map[string]any{
			"width": 480, "height": 140,
			"mark": map[string]any{"type": "line", "tooltip": true},
			"encoding": map[string]any{
				"x":     map[string]any{"field": "step", "type": "quantitative"},
				"y":     map[string]any{"field": "value", "type": "quantitative", "title": nil},
				"color": map[string]any{"field": "run", "type": "nominal"},
			},
		},
	}
	return Bundle{"application/vnd.vegalite.v5+json": spec, "text/plain": fmt.Sprintf("<plot of the timelines of %d runs>", len(runs))}
}

func bestOrFirst(e *experiments.Experiment) *experiments.Trial {
	for _, t := range e.Trials {
		if t.ID == e.Best {
			return t
		}
	}
	for _, t := range e.Trials {
		if t.State == experiments.Finished {
			return t
		}
	}
	return nil
}

func paramUnion(runs []*experiments.Experiment) []string {
	set := map[string]bool{}
	for _, e := range runs {
		for _, t := range e.Trials {
			for k := range t.Params {
				set[k] = true
			}
		}
	}
	return sortedNames(set)
}

func metricUnion(runs []*experiments.Experiment) []string {
	set := map[string]bool{}
	for _, e := range runs {
		if t := bestOrFirst(e); t != nil {
			for k := range t.Metrics {
				set[k] = true
			}
		}
	}
	return sortedNames(set)
}

// paramValues lists the distinct values a run tried for a parameter, in trial order.
func paramValues(e *experiments.Experiment, name string) string {
	var vals []string
	seen := map[string]bool{}
	for _, t := range e.Trials {
		v, ok := t.Params[name]
		if !ok {
			continue
		}
		s := fmt.Sprint(v)
		if f, isFloat := v.(float64); isFloat {
			s = strconv.FormatFloat(f, 'g', -1, 64)
		}
		if !seen[s] {
			seen[s] = true
			vals = append(vals, s)
		}
	}
	return strings.Join(vals, ", ")
}

// environmentDiffs says how each later run's environment differs from the first's: Python, packages
// added, removed and changed, GPUs.
func environmentDiffs(runs []*experiments.Experiment) []string {
	var out []string
	ref := runs[0].Environment
	for _, e := range runs[1:] {
		for _, d := range experiments.DiffEnvironments(ref, e.Environment) {
			out = append(out, e.ID+": "+d)
		}
	}
	return out
}

func environmentText(e *experiments.Environment) string {
	if e == nil {
		return "environment: not recorded"
	}
	p := experiments.Python{}
	if e.Python != nil {
		p = *e.Python
	}
	return fmt.Sprintf("environment: Python %s (%d packages), %s, %s (%d cores), GPUs: %s, hops %s",
		p.Version, len(p.Packages), e.OS, e.CPU, e.Cores, experiments.GPUText(e), e.Hops)
}

func bestText(e *experiments.Experiment) string {
	if e.Best == "" || e.Objective == nil || e.BestValue == nil {
		return ""
	}
	return fmt.Sprintf("%s=%s (%s)", e.Objective.Metric, formatMetric(*e.BestValue), e.Best)
}

func runDuration(e *experiments.Experiment) string {
	if e.Started.IsZero() {
		return ""
	}
	if e.Ended.IsZero() {
		return roundDuration(time.Since(e.Started)) + "…"
	}
	return roundDuration(e.Ended.Sub(e.Started))
}

func notebookText(e *experiments.Experiment) string {
	if e.Notebook == "" {
		return ""
	}
	s := e.Notebook
	if e.Commit != "" {
		s += "@" + e.Commit[:min(7, len(e.Commit))]
	}
	if e.CodeChanged {
		s += " (edited)"
	}
	return s
}

// textTable is a table rendered both as aligned text and as HTML.
type textTable struct {
	header []string
	rows   [][]string
}

func newTable(header ...string) *textTable { return &textTable{header: header} }

func (t *textTable) row(cells ...string) { t.rows = append(t.rows, cells) }

func (t *textTable) bundle(caption string) Bundle {
	widths := make([]int, len(t.header))
	for _, r := range append([][]string{t.header}, t.rows...) {
		for i, c := range r {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	var txt, h strings.Builder
	txt.WriteString(caption + "\n")
	fmt.Fprintf(&h, `<div class="hops-experiments"><p>%s</p><table><thead><tr>`, html.EscapeString(caption))
	for i, c := range t.header {
		fmt.Fprintf(&txt, "%-*s  ", widths[i], c)
		fmt.Fprintf(&h, `<th style="text-align:left">%s</th>`, html.EscapeString(c))
	}
	txt.WriteString("\n")
	h.WriteString(`</tr></thead><tbody>`)
	for _, r := range t.rows {
		h.WriteString("<tr>")
		for i, c := range r {
			fmt.Fprintf(&txt, "%-*s  ", widths[i], c)
			fmt.Fprintf(&h, `<td style="text-align:left">%s</td>`, html.EscapeString(c))
		}
		txt.WriteString("\n")
		h.WriteString("</tr>")
	}
	h.WriteString(`</tbody></table></div>`)
	lines := strings.Split(strings.TrimRight(txt.String(), "\n"), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return Bundle{"text/plain": strings.Join(lines, "\n"), "text/html": h.String()}
}
