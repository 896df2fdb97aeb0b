package magics

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"strings"

	"github.com/hopsml/hops/experiments"
)

func rerunCommand() *Command {
	return &Command{
		Name: "rerun",
		Summary: "Run an experiment again: its recorded code with its trials' parameters, as a new experiment linked " +
			"to it; then show how the metrics and the environment (packages, Python, GPUs) differ.",
		Args:    "ID",
		MinArgs: 1,
		MaxArgs: 1,
		Example: "%hops rerun 20261125-103012-3f9a",
		Run:     func(ctx context.Context, inv *Invocation) error { return Rerun(ctx, inv.Env, inv.Args[0]) },
	}
}

// Rerun runs experiment id again, showing the run as %%hops run does, then its differences from
// the original.
func Rerun(ctx context.Context, env *Env, id string) error {
	if env.API == nil {
		return errNoServer
	}
	orig, err := ExperimentsAPI{env.API}.get(ctx, id)
	if err != nil {
		return err
	}
	if diffs := currentEnvironmentDiffs(ctx, env.API, orig); len(diffs) > 0 {
		_ = env.Out.Stream("stderr", fmt.Sprintf("warning: the project environment is not the one experiment %s ran with (%d difference(s)):\n  %s\n",
			orig.ID, len(diffs), strings.Join(diffs, "\n  ")))
	}
	final, err := startAndFollow(ctx, env, experiments.Request{RerunOf: orig.ID, KernelID: env.KernelID})
	if final == nil {
		return err
	}
	if derr := env.Out.Display(rerunDifferences(orig, final)); derr != nil {
		return derr
	}
	return err
}

// currentEnvironmentDiffs is how the project environment now differs from the one a run recorded;
// nil when it cannot tell (the run is then compared after it ran).
func currentEnvironmentDiffs(ctx context.Context, api *Client, orig *experiments.Experiment) []string {
	body, _, err := api.Get(ctx, "env", nil)
	if err != nil {
		return nil
	}
	var st struct{ Environment experiments.Environment }
	if json.Unmarshal(body, &st) != nil || orig.Environment == nil {
		return nil
	}
	return experiments.DiffPackages(experiments.Packages(orig.Environment), experiments.Packages(&st.Environment))
}

// rerunDifferences compares a rerun with the run it repeated: each trial's final metrics, then the
// environment.
func rerunDifferences(orig, again *experiments.Experiment) Bundle {
	var txt, h strings.Builder
	fmt.Fprintf(&txt, "Rerun %s of %s:\n", again.ID, orig.ID)
	fmt.Fprintf(&h, `<div class="hops-rerun"><p>Rerun <code>%s</code> of <code>%s</code>:</p>`, html.EscapeString(again.ID), html.EscapeString(orig.ID))
	t := newTable("trial", "params", "metric", orig.ID, again.ID, "difference")
	same := true
	for i, a := range again.Trials {
		if i >= len(orig.Trials) {
			break
		}
		o := orig.Trials[i]
		label := a.Params.Label(paramNames(a.Params))
		for _, m := range sortedNames(metricNames(o, a)) {
			ov, inO := o.Metrics[m]
			av, inA := a.Metrics[m]
			diff := "same"
			switch {
			case !inO || !inA:
				diff, same = "logged in one run only", false
			case ov != av && !(math.IsNaN(ov) && math.IsNaN(av)):
				diff, same = formatMetric(av-ov), false
			}
			t.row(a.ID, label, m, metricOrEmpty(ov, inO), metricOrEmpty(av, inA), diff)
		}
		if o.State != a.State {
			same = false
			t.row(a.ID, label, "state", string(o.State), string(a.State), "changed")
		}
	}
	verdict := "Metrics: identical in every trial."
	if !same {
		verdict = "Metrics: they differ."
	}
	table := t.bundle(verdict)
	txt.WriteString(table["text/plain"].(string))
	h.WriteString(table["text/html"].(string))
	diffs := experiments.DiffEnvironments(orig.Environment, again.Environment)
	if len(diffs) == 0 {
		txt.WriteString("\nEnvironment: no difference.")
		h.WriteString("<p>Environment: no difference.</p>")
	} else {
		fmt.Fprintf(&txt, "\nEnvironment: %d difference(s):\n  %s", len(diffs), strings.Join(diffs, "\n  "))
		fmt.Fprintf(&h, "<p>Environment: %d difference(s):</p><ul>", len(diffs))
		for _, d := range diffs {
			fmt.Fprintf(&h, "<li><code>%s</code></li>", html.EscapeString(d))
		}
		h.WriteString("</ul>")
	}
	h.WriteString("</div>")
	return Bundle{"text/plain": txt.String(), "text/html": h.String()}
}

func metricNames(trials ...*experiments.Trial) map[string]bool {
	set := map[string]bool{}
	for _, t := range trials {
		for k := range t.Metrics {
			set[k] = true
		}
	}
	return set
}

func metricOrEmpty(v float64, ok bool) string {
	if !ok {
		return ""
	}
	return formatMetric(v)
}
