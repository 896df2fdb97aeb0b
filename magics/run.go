package magics

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hopsml/hops/experiments"
	"github.com/hopsml/hops/experiments/search"
)

func runCommand() *Command {
	return &Command{
		Name: "run",
		Summary: "Run the cell as an experiment on executors: one trial, or a grid, random or evolutionary " +
			"search over parameters (injected as variables and in hops.params). Shows live logs and a progress " +
			"table, then the best trial and plots; records code, notebook version, metrics (hops.log), GPU use, " +
			"artifacts and the environment.",
		Cell: true,
		Flags: []Flag{
			{Name: "name", Value: "NAME", Help: "the experiment's name (default: the notebook's name)"},
			{Name: "executors", Value: "N", Default: "0", Help: "run at most N trials at once (default: one per CPU core, or per free GPU set with --gpus)"},
			{Name: "gpus", Value: "G", Default: "0", Help: "whole GPUs per trial (CUDA_VISIBLE_DEVICES); a trial waits while none are free"},
			{Name: "param", Value: "K=V", Repeat: true, Help: "a fixed parameter, e.g. --param epochs=10"},
			{Name: "grid", Value: "K=V1,V2", Repeat: true, Help: "try every value (all combinations of several --grid), e.g. --grid lr=0.001,0.01 or --grid seed=0..9"},
			{Name: "random", Value: "K=LO:HI[:log]", Repeat: true, Help: "sample within bounds (integers when both bounds are), e.g. --random lr=1e-4:1e-1:log"},
			{Name: "trials", Value: "N", Default: "0", Help: "random search: how many samples (default 10)"},
			{Name: "search", Value: "METHOD", Help: "grid, random or evolution (default: from the flags given)"},
			{Name: "generations", Value: "N", Default: "0", Help: "evolution: generations (default 4)"},
			{Name: "population", Value: "N", Default: "0", Help: "evolution: trials per generation (default 6)"},
			{Name: "optimize", Value: "METRIC:max|min", Help: "the metric (logged with hops.log) that picks the best trial"},
			{Name: "timeout", Value: "DURATION", Help: "stop the whole run after this long, e.g. 30m"},
			{Name: "seed", Value: "N", Default: "0", Help: "seed of random and evolutionary search (default: random, recorded)"},
			{Name: "output", Short: "o", Value: "VAR", Help: "put a pandas DataFrame of the trials (params, final metrics, state, duration) in VAR"},
		},
		Example: "%%hops run --grid lr=0.001,0.01,0.1 --grid batch=32,64 --optimize accuracy:max -o results",
		Run:     runExperiment,
	}
}

func runExperiment(ctx context.Context, inv *Invocation) error {
	if !inv.Cell {
		return usagef("%%hops run is a cell magic: put `%%%%hops run [flags]` on the first line of a cell and the trial's code below it")
	}
	req := experiments.Request{Name: inv.String("name"), Code: inv.Body, Cell: "%%hops " + inv.Line + "\n" + inv.Body,
		KernelID: inv.Env.KernelID, Params: inv.Flags["param"], Grid: inv.Flags["grid"], Random: inv.Flags["random"],
		Search: inv.String("search"), Optimize: inv.String("optimize"), Timeout: inv.String("timeout")}
	for _, f := range []struct {
		name string
		dst  *int
	}{{"executors", &req.Executors}, {"gpus", &req.GPUs}, {"trials", &req.Trials}, {"generations", &req.Generations}, {"population", &req.Population}} {
		n, err := strconv.Atoi(inv.String(f.name))
		if err != nil || n < 0 {
			return usagef("--%s %s: give a whole number, 0 or more", f.name, inv.String(f.name))
		}
		*f.dst = n
	}
	seed, err := strconv.ParseInt(inv.String("seed"), 10, 64)
	if err != nil {
		return usagef("--seed %s: give a whole number", inv.String("seed"))
	}
	req.Seed = seed
	out := inv.String("output")
	if out != "" && !isIdentifier(out) {
		return usagef("-o %s: give a Python variable name", out)
	}
	if out != "" && inv.Env.Exec == nil {
		return usagef("-o needs an engine to put the results in, and this kernel has none")
	}
	if inv.Env.API == nil {
		return errNoServer
	}
	// A run whose notebook cannot be told is recorded without one, not refused.
	req.Notebook, _ = currentNotebook(ctx, inv.Env)
	final, err := startAndFollow(ctx, inv.Env, req)
	if final == nil {
		return err
	}
	if out != "" {
		if xerr := inv.Env.Exec(context.WithoutCancel(ctx), dataFrameCode(out, final)); xerr != nil {
			return fmt.Errorf("-o %s: %v", out, xerr)
		}
	}
	if err != nil {
		return err
	}
	if final.State == experiments.Killed {
		return fmt.Errorf("experiment %s was stopped: %s", final.ID, final.Note)
	}
	return nil
}

// startAndFollow starts a run and shows it in the cell until it ends: the progress table, the
// trials' output, then the summary and plot. It returns the final record (nil if the run could not
// be followed to its end) and, after an interrupt, the error that says so.
func startAndFollow(ctx context.Context, env *Env, req experiments.Request) (*experiments.Experiment, error) {
	var e experiments.Experiment
	if err := env.API.Post(ctx, "experiments", req, &e); err != nil {
		var api *APIError
		if errors.As(err, &api) && api.Status == 400 {
			return nil, &UsageError{Msg: api.Msg}
		}
		return nil, err
	}
	v := newRunView(&e, env.Out)
	v.show()
	stopTicks := v.tickWhileRunning()
	final, err := follow(ctx, env.API, e.ID, v)
	stopTicks()
	v.flushOutput()
	if final != nil {
		v.final(final)
	}
	return final, err
}

// follow reads the run's events until its end. An interrupt (ctx ending) stops the run and keeps
// reading, briefly, so that the final record is shown; the error then says it was interrupted.
func follow(ctx context.Context, api *Client, id string, v *runView) (*experiments.Experiment, error) {
	since := 0
	var final *experiments.Experiment
	read := func(c context.Context) error {
		return api.Lines(c, "experiments/"+id+"/events", url.Values{"since": {strconv.Itoa(since)}}, func(line []byte) error {
			var ev experiments.Event
			if err := json.Unmarshal(line, &ev); err != nil {
				return fmt.Errorf("unexpected event from hops lab: %w", err)
			}
			since = ev.Seq
			if ev.Kind == "end" {
				final = ev.Experiment
			}
			v.event(ev)
			return nil
		})
	}
	for attempt := 0; final == nil; attempt++ {
		err := read(ctx)
		if final != nil {
			return final, nil
		}
		if ctx.Err() != nil {
			break
		}
		if attempt >= 3 {
			return nil, fmt.Errorf("lost the experiment's events (%v); it goes on: see %%hops experiments or GET /api/hops/experiments/%s", err, id)
		}
		time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond) // a dropped stream: reconnect where it left off
	}
	// Interrupted: stop every trial, then wait (a little) for the record to close.
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := api.Post(stopCtx, "experiments/"+id+"/stop", struct{}{}, nil); err != nil {
		return nil, fmt.Errorf("could not stop experiment %s: %w", id, err)
	}
	_ = read(stopCtx)
	return final, context.Canceled
}

// runView is what the cell shows while the run goes on: trial output with a prefix, and a progress
// table updated in place.
type runView struct {
	out       Output
	displayID string

	mu       sync.Mutex
	e        *experiments.Experiment
	trials   map[string]*experiments.Trial
	order    []string
	lastDraw time.Time
	dirty    bool
	pending  map[string]*strings.Builder // buffered output per stream
	flushAt  time.Time
}

// redrawEvery and outputEvery bound how often the table and output are sent while a run is busy.
const (
	redrawEvery = 250 * time.Millisecond
	outputEvery = 100 * time.Millisecond
)

func newRunView(e *experiments.Experiment, out Output) *runView {
	return &runView{out: out, e: e, displayID: "hops-run-" + e.ID, trials: map[string]*experiments.Trial{},
		pending: map[string]*strings.Builder{}}
}

func (v *runView) show() { _ = v.out.Show(v.displayID, v.table(time.Now(), false)) }

// tickWhileRunning sends what the throttle held back (output of a burst, the table after a change)
// once a quiet period has passed, until the returned function is called.
func (v *runView) tickWhileRunning() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(outputEvery)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				v.mu.Lock()
				v.throttled(now)
				v.mu.Unlock()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func (v *runView) event(ev experiments.Event) {
	now := time.Now()
	v.mu.Lock()
	defer v.mu.Unlock()
	switch ev.Kind {
	case "trial":
		if _, ok := v.trials[ev.Trial.ID]; !ok {
			v.order = append(v.order, ev.Trial.ID)
		}
		v.trials[ev.Trial.ID] = ev.Trial
		v.dirty = true
	case "output":
		b := v.pending[ev.Stream]
		if b == nil {
			b = &strings.Builder{}
			v.pending[ev.Stream] = b
		}
		fmt.Fprintf(b, "[%s] %s\n", ev.TrialID, ev.Text)
	}
	v.throttled(now)
}

// throttled sends buffered output and redraws a changed table, each at most at its rate.
func (v *runView) throttled(now time.Time) {
	if now.Sub(v.flushAt) >= outputEvery || v.outputSize() > 64<<10 {
		v.flushOutputLocked()
		v.flushAt = now
	}
	if v.dirty && now.Sub(v.lastDraw) >= redrawEvery {
		_ = v.out.Update(v.displayID, v.table(now, false))
		v.lastDraw, v.dirty = now, false
	}
}

func (v *runView) outputSize() int {
	n := 0
	for _, b := range v.pending {
		n += b.Len()
	}
	return n
}

func (v *runView) flushOutput() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.flushOutputLocked()
}

func (v *runView) flushOutputLocked() {
	for _, name := range []string{"stdout", "stderr"} {
		if b := v.pending[name]; b != nil && b.Len() > 0 {
			_ = v.out.Stream(name, b.String())
			b.Reset()
		}
	}
}

// final shows the finished table, a summary and the plots.
func (v *runView) final(e *experiments.Experiment) {
	v.mu.Lock()
	v.e = e
	v.order = v.order[:0]
	for _, t := range e.Trials {
		v.trials[t.ID] = t
		v.order = append(v.order, t.ID)
	}
	table := v.table(time.Now(), true)
	v.mu.Unlock()
	_ = v.out.Update(v.displayID, table)
	_ = v.out.Display(summary(e))
	if plot := plotExperiment(e); plot != nil {
		_ = v.out.Display(plot)
	}
}

var stateColor = map[experiments.State]string{
	experiments.Queued: "#888", experiments.Waiting: "#b58900", experiments.Running: "#268bd2",
	experiments.Finished: "#2e7d32", experiments.Failed: "#c62828", experiments.Killed: "#6a1b9a",
}

// table renders the progress table: one row per trial with its parameters, state, latest metrics and
// duration, under a line that counts trials by state.
func (v *runView) table(now time.Time, final bool) Bundle {
	e := v.e
	counts := map[experiments.State]int{}
	metricSet := map[string]bool{}
	for _, id := range v.order {
		t := v.trials[id]
		counts[t.State]++
		for k := range t.Metrics {
			metricSet[k] = true
		}
	}
	metrics := sortedNames(metricSet)
	if o := e.Objective; o != nil && metricSet[o.Metric] {
		metrics = append([]string{o.Metric}, without(metrics, o.Metric)...)
	}
	var parts []string
	for _, s := range []experiments.State{experiments.Running, experiments.Waiting, experiments.Queued, experiments.Finished, experiments.Failed, experiments.Killed} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	if left := e.TrialsTotal - len(v.order); left > 0 {
		parts = append(parts, fmt.Sprintf("%d to come", left))
	}
	elapsed := now.Sub(e.Started)
	if final && !e.Ended.IsZero() {
		elapsed = e.Ended.Sub(e.Started)
	}
	state := string(e.State)
	head := fmt.Sprintf("%s · experiment %s · %s · %d trial(s): %s · %d executor(s) · %s",
		e.Name, e.ID, state, e.TrialsTotal, strings.Join(parts, ", "), e.Executors, roundDuration(elapsed))

	var txt, h strings.Builder
	txt.WriteString(head + "\n")
	fmt.Fprintf(&h, `<div class="hops-run"><div style="margin-bottom:4px"><b>%s</b> · experiment <code>%s</code> · %s</div>`,
		html.EscapeString(e.Name), html.EscapeString(e.ID), html.EscapeString(strings.TrimPrefix(head, e.Name+" · experiment "+e.ID+" · ")))
	h.WriteString(`<table><thead><tr><th style="text-align:left">trial</th><th style="text-align:left">params</th><th style="text-align:left">state</th>`)
	for _, m := range metrics {
		fmt.Fprintf(&h, `<th style="text-align:right">%s</th>`, html.EscapeString(m))
	}
	h.WriteString(`<th style="text-align:right">duration</th></tr></thead><tbody>`)
	for _, id := range v.order {
		t := v.trials[id]
		label := t.Params.Label(paramNames(t.Params))
		if label == "" {
			label = "–"
		}
		best := final && id == e.Best
		fmt.Fprintf(&txt, "%s %-40s %-9s", id, label, t.State)
		style := ""
		if best {
			style = ` style="font-weight:bold"`
		}
		fmt.Fprintf(&h, `<tr%s><td style="text-align:left">%s%s</td><td style="text-align:left"><code>%s</code></td><td style="text-align:left;color:%s">%s</td>`,
			style, html.EscapeString(id), map[bool]string{true: " ★", false: ""}[best], html.EscapeString(label), stateColor[t.State], t.State)
		for _, m := range metrics {
			val := ""
			if x, ok := t.Metrics[m]; ok {
				val = formatMetric(x)
				fmt.Fprintf(&txt, " %s=%s", m, val)
			}
			fmt.Fprintf(&h, `<td style="text-align:right">%s</td>`, val)
		}
		d := roundDuration(t.Duration(now))
		fmt.Fprintf(&txt, " %s\n", d)
		fmt.Fprintf(&h, `<td style="text-align:right">%s</td></tr>`, d)
	}
	h.WriteString(`</tbody></table></div>`)
	return Bundle{"text/plain": strings.TrimRight(txt.String(), "\n"), "text/html": h.String()}
}

// summary says how the run ended: the best trial, failures with their errors, anything to know.
func summary(e *experiments.Experiment) Bundle {
	var txt, h strings.Builder
	dur := roundDuration(e.Ended.Sub(e.Started))
	fmt.Fprintf(&txt, "Experiment %s %s in %s.", e.ID, e.State, dur)
	fmt.Fprintf(&h, `<div class="hops-run-summary"><p>Experiment <code>%s</code> <b>%s</b> in %s.`, html.EscapeString(e.ID), e.State, dur)
	if e.Best != "" && e.Objective != nil {
		for _, t := range e.Trials {
			if t.ID == e.Best {
				v := formatMetric(t.Metrics[e.Objective.Metric])
				label := t.Params.Label(paramNames(t.Params))
				fmt.Fprintf(&txt, " Best: %s (%s) with %s = %s (%s).", t.ID, label, e.Objective.Metric, v, e.Objective.Direction)
				fmt.Fprintf(&h, ` Best: <b>%s</b> (<code>%s</code>) with %s = <b>%s</b> (%s).`,
					t.ID, html.EscapeString(label), html.EscapeString(e.Objective.Metric), v, e.Objective.Direction)
			}
		}
	}
	if e.Note != "" {
		fmt.Fprintf(&txt, "\nNote: %s", e.Note)
		fmt.Fprintf(&h, `</p><p><b>Note:</b> %s`, html.EscapeString(e.Note))
	}
	h.WriteString(`</p>`)
	for _, t := range e.Trials {
		if t.State == experiments.Failed {
			fmt.Fprintf(&txt, "\n%s failed: %s", t.ID, t.Error)
			fmt.Fprintf(&h, `<details><summary style="color:%s">%s failed: %s</summary><pre>%s</pre></details>`,
				stateColor[experiments.Failed], t.ID, html.EscapeString(t.Error), html.EscapeString(t.Traceback))
		}
	}
	if kept := keptByTrials(e); len(kept) > 0 {
		fmt.Fprintf(&txt, "\nKept by the trials (under %s/<trial>/artifacts/ and Models/ on the store):\n  %s",
			e.Location, strings.Join(kept, "\n  "))
		fmt.Fprintf(&h, `<details><summary>kept by %d trial(s): artifacts and models</summary><pre>%s</pre></details>`,
			len(kept), html.EscapeString(strings.Join(kept, "\n")))
	}
	commit := "not saved"
	if e.Commit != "" {
		commit = e.Commit[:min(7, len(e.Commit))]
		if e.CodeChanged {
			commit += ", the cell differs from it (unsaved edits)"
		}
	}
	fmt.Fprintf(&txt, "\nRecorded at %s (notebook version: %s).", e.Location, commit)
	fmt.Fprintf(&h, `<p style="color:#666">Recorded at <code>%s</code> · notebook version: %s</p></div>`,
		html.EscapeString(e.Location), html.EscapeString(commit))
	return Bundle{"text/plain": txt.String(), "text/html": h.String()}
}

// keptByTrials is a line per trial that kept something: its artifacts, named as the trial named them,
// and the model versions it exported.
func keptByTrials(e *experiments.Experiment) []string {
	var lines []string
	for _, t := range e.Trials {
		var items []string
		for _, a := range t.Artifacts {
			items = append(items, strings.TrimPrefix(a, e.Location+"/"+t.ID+"/artifacts/"))
		}
		for _, m := range t.Models {
			items = append(items, fmt.Sprintf("model %s v%d", m.Name, m.Version))
		}
		if len(items) > 0 {
			lines = append(lines, t.ID+": "+strings.Join(items, ", "))
		}
	}
	return lines
}

// plotExperiment is a Vega-Lite chart of the objective (or first) metric per trial over the metric
// timelines, which JupyterLab renders natively; nil when nothing was logged.
func plotExperiment(e *experiments.Experiment) Bundle {
	metricSet := map[string]bool{}
	var points []map[string]any
	for _, t := range e.Trials {
		for m, tl := range t.Timeline {
			metricSet[m] = true
			for _, p := range thin(tl, maxPlotPoints) {
				if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
					continue
				}
				points = append(points, map[string]any{"trial": t.ID, "metric": m, "step": p.Step, "value": p.Value})
			}
		}
	}
	if len(metricSet) == 0 {
		return nil
	}
	metric := sortedNames(metricSet)[0]
	title := metric + " per trial (last value)"
	if o := e.Objective; o != nil && metricSet[o.Metric] {
		metric = o.Metric
		title = fmt.Sprintf("%s per trial (%s is best)", metric, o.Direction)
	}
	var perTrial []map[string]any
	for _, t := range e.Trials {
		if v, ok := t.Metrics[metric]; ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
			perTrial = append(perTrial, map[string]any{"trial": t.ID, "value": v, "params": t.Params.Label(paramNames(t.Params)),
				"state": string(t.State), "best": t.ID == e.Best})
		}
	}
	views := []any{}
	if len(perTrial) > 0 {
		views = append(views, map[string]any{
			"title": title, "width": 480, "height": 160,
			"data": map[string]any{"values": perTrial},
			"mark": map[string]any{"type": "bar", "tooltip": true},
			"encoding": map[string]any{
				"x":     map[string]any{"field": "trial", "type": "nominal", "sort": nil},
				"y":     map[string]any{"field": "value", "type": "quantitative", "title": metric},
				"color": map[string]any{"field": "best", "type": "nominal", "scale": map[string]any{"domain": []bool{false, true}, "range": []string{"#90a4ae", "#2e7d32"}}, "legend": nil},
			},
		})
	}
	views = append(views, map[string]any{
		"title": "metric timelines", "data": map[string]any{"values": points},
		"facet":   map[string]any{"row": map[string]any{"field": "metric", "type": "nominal", "title": nil}},
		"resolve": map[string]any{"scale": map[string]any{"y": "independent"}},
		"spec": map[string]any{
			"width": 480, "height": 140,
			"mark": map[string]any{"type": "line", "point": len(points) <= 200, "tooltip": true},
			"encoding": map[string]any{
				"x":     map[string]any{"field": "step", "type": "quantitative"},
				"y":     map[string]any{"field": "value", "type": "quantitative", "title": nil},
				"color": map[string]any{"field": "trial", "type": "nominal"},
			},
		},
	})
	// The views color different things (best or not, trial): concatenated views share scales unless told.
	spec := map[string]any{"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "vconcat": views,
		"resolve": map[string]any{"scale": map[string]any{"color": "independent"}}}
	return Bundle{"application/vnd.vegalite.v5+json": spec,
		"text/plain": fmt.Sprintf("<plot of %s over %d trials and the timelines of %d metric(s)>", metric, len(e.Trials), len(metricSet))}
}

// maxPlotPoints bounds the points a timeline contributes to a plot: more are not seen at 480
// pixels, and every point travels to the browser in the output.
const maxPlotPoints = 500

// thin keeps at most n points of a timeline, evenly spaced, the first and last included.
func thin(tl []experiments.Point, n int) []experiments.Point {
	if len(tl) <= n {
		return tl
	}
	out := make([]experiments.Point, 0, n)
	for i := range n {
		out = append(out, tl[i*(len(tl)-1)/(n-1)])
	}
	return out
}

// dataFrameCode is Python that sets name to a DataFrame of the trials, one row each: parameters,
// final metrics, state, duration (and the error of failed trials), indexed by trial id.
func dataFrameCode(name string, e *experiments.Experiment) string {
	params, metrics, failed := map[string]bool{}, map[string]bool{}, false
	rows := make([]map[string]any, 0, len(e.Trials))
	for _, t := range e.Trials {
		row := map[string]any{"trial": t.ID, "state": string(t.State), "duration_s": t.Duration(e.Ended).Seconds()}
		for k, v := range t.Params {
			row[k], params[k] = v, true
		}
		for k, v := range t.Metrics {
			metrics[k] = true
			if math.IsNaN(v) || math.IsInf(v, 0) {
				row[k] = nil
				continue
			}
			row[k] = v
		}
		if t.Error != "" {
			row["error"], failed = t.Error, true
		}
		rows = append(rows, row)
	}
	columns := append(append(append([]string{"trial"}, sortedNames(params)...), sortedNames(metrics)...), "state", "duration_s")
	if failed {
		columns = append(columns, "error")
	}
	b, _ := json.Marshal(rows)
	cols, _ := json.Marshal(columns)
	// base64 keeps any text in the records from being read as Python.
	return fmt.Sprintf("import base64 as _hops_b64, json as _hops_json, pandas as _hops_pd\n"+
		"%s = _hops_pd.DataFrame(_hops_json.loads(_hops_b64.b64decode(%q)), columns=_hops_json.loads(%q)).set_index('trial')\n"+
		"%s.attrs['hops_experiment'] = %q\n"+
		"del _hops_b64, _hops_json, _hops_pd", name, base64.StdEncoding.EncodeToString(b), string(cols), name, e.ID)
}

func paramNames(p search.Params) []string {
	names := make([]string, 0, len(p))
	for k := range p {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func sortedNames(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func without(list []string, drop string) []string {
	var out []string
	for _, s := range list {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}

func formatMetric(v float64) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', 5, 64)
}

func roundDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// isIdentifier reports whether s is a Python identifier (ASCII), not a keyword.
func isIdentifier(s string) bool {
	if s == "" || pythonKeywords[s] {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

var pythonKeywords = map[string]bool{"False": true, "None": true, "True": true, "and": true, "as": true, "assert": true,
	"async": true, "await": true, "break": true, "class": true, "continue": true, "def": true, "del": true, "elif": true,
	"else": true, "except": true, "finally": true, "for": true, "from": true, "global": true, "if": true, "import": true,
	"in": true, "is": true, "lambda": true, "nonlocal": true, "not": true, "or": true, "pass": true, "raise": true,
	"return": true, "try": true, "while": true, "with": true, "yield": true}
