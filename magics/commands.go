package magics

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"strings"

	"github.com/hopsml/hops/experiments"
	"github.com/hopsml/hops/internal/buildinfo"
)

func versionCommand() *Command {
	return &Command{
		Name:    "version",
		Summary: "Show the hops version, the protocol it speaks and the engine that runs your code.",
		Example: "%hops version",
		Run: func(_ context.Context, inv *Invocation) error {
			text := fmt.Sprintf("%s\nJupyter protocol %s\nengine: %s", buildinfo.String(), inv.Env.Protocol, inv.Env.Engine)
			return inv.Env.Out.Display(Bundle{"text/plain": text})
		},
	}
}

func envCommand() *Command {
	return &Command{
		Name: "env",
		Summary: "Show the environment your code runs in: Python and every installed package, OS, CPU, " +
			"GPUs with driver and CUDA versions, and hops.",
		Flags: []Flag{
			{Name: "grep", Value: "PATTERN", Help: "only list packages whose name contains PATTERN (case-insensitive)"},
			{Name: "json", Kind: Bool, Help: "show the snapshot as JSON"},
		},
		Args:    "[lock]",
		MaxArgs: 1,
		Example: "%hops env --grep torch",
		Run: func(ctx context.Context, inv *Invocation) error {
			if len(inv.Args) == 1 {
				if inv.Args[0] != "lock" {
					return usagef("%%hops env %s: use %%hops env, or %%hops env lock for the project's lock file", inv.Args[0])
				}
				return envLock(ctx, inv)
			}
			if inv.Env.Snapshot == nil {
				return fmt.Errorf("this kernel cannot inspect its environment")
			}
			env, err := inv.Env.Snapshot(ctx)
			if err != nil {
				return err
			}
			if pattern := strings.ToLower(inv.String("grep")); pattern != "" && env.Python != nil {
				var kept []experiments.Package
				for _, p := range env.Python.Packages {
					if strings.Contains(strings.ToLower(p.Name), pattern) {
						kept = append(kept, p)
					}
				}
				env.Python.Packages = kept
			}
			if inv.Bool("json") {
				b, _ := json.MarshalIndent(env, "", "  ")
				return inv.Env.Out.Display(Bundle{"application/json": env, "text/plain": string(b)})
			}
			return inv.Env.Out.Display(renderEnvironment(env, inv.Env.Engine))
		},
	}
}

// renderEnvironment shows a snapshot as a text summary and an HTML table with the packages folded.
func renderEnvironment(env experiments.Environment, engine string) Bundle {
	type row struct{ k, v string }
	rows := []row{{"hops", buildinfo.String()}, {"engine", engine}}
	if p := env.Python; p != nil {
		rows = append(rows, row{"Python", fmt.Sprintf("%s %s (%s)", p.Implementation, p.Version, p.Executable)})
	} else {
		rows = append(rows, row{"Python", "not inspected: the engine is not a Python interpreter hops knows"})
	}
	rows = append(rows, row{"OS", env.OS + ", " + env.Kernel}, row{"CPU", fmt.Sprintf("%s, %d cores", env.CPU, env.Cores)})
	switch {
	case env.GPU == nil:
		rows = append(rows, row{"GPUs", env.GPUError})
	case len(env.GPU.Devices) == 0:
		rows = append(rows, row{"GPUs", fmt.Sprintf("none (NVIDIA driver %s, CUDA %s)", env.GPU.Driver, env.GPU.CUDA)})
	default:
		rows = append(rows, row{"GPUs", fmt.Sprintf("%d (NVIDIA driver %s, CUDA %s)", len(env.GPU.Devices), env.GPU.Driver, env.GPU.CUDA)})
		for _, d := range env.GPU.Devices {
			rows = append(rows, row{fmt.Sprintf("GPU %d", d.Index), fmt.Sprintf("%s, %s memory, %d%% busy, %s",
				d.Name, bytesGiB(d.MemoryTotal), d.UtilizationGPU, d.UUID)})
		}
	}

	var txt, h strings.Builder
	h.WriteString(`<div class="hops-env"><table><tbody>`)
	for _, r := range rows {
		fmt.Fprintf(&txt, "%-8s %s\n", r.k, r.v)
		fmt.Fprintf(&h, `<tr><th style="text-align:left">%s</th><td style="text-align:left">%s</td></tr>`,
			html.EscapeString(r.k), html.EscapeString(r.v))
	}
	h.WriteString(`</tbody></table>`)
	if p := env.Python; p != nil {
		fmt.Fprintf(&txt, "packages (%d):\n", len(p.Packages))
		fmt.Fprintf(&h, `<details><summary>Python packages (%d)</summary><table><thead><tr><th style="text-align:left">package</th><th style="text-align:left">version</th></tr></thead><tbody>`, len(p.Packages))
		for _, pkg := range p.Packages {
			fmt.Fprintf(&txt, "  %s==%s\n", pkg.Name, pkg.Version)
			fmt.Fprintf(&h, `<tr><td style="text-align:left">%s</td><td style="text-align:left">%s</td></tr>`,
				html.EscapeString(pkg.Name), html.EscapeString(pkg.Version))
		}
		h.WriteString(`</tbody></table></details>`)
	}
	h.WriteString(`</div>`)
	return Bundle{"text/plain": strings.TrimRight(txt.String(), "\n"), "text/html": h.String()}
}

func bytesGiB(b uint64) string { return fmt.Sprintf("%.0f GiB", float64(b)/(1<<30)) }
