package magics

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"strconv"
	"strings"

	"github.com/hopsml/hops/executors/gpu"
)

func gpusCommand() *Command {
	return &Command{
		Name:    "gpus",
		Summary: "Show this host's GPUs: model, memory and utilization now, and which trial holds each.",
		Example: "%hops gpus",
		Run: func(ctx context.Context, inv *Invocation) error {
			body, _, err := inv.Env.API.Get(ctx, "gpus", nil)
			if err != nil {
				return err
			}
			var g struct {
				gpu.Inventory
				Error   *string           `json:"error"`
				Holders map[string]string `json:"holders"`
			}
			if err := json.Unmarshal(body, &g); err != nil {
				return fmt.Errorf("unexpected answer from hops lab: %w", err)
			}
			return inv.Env.Out.Display(renderGPUs(g.Inventory, g.Error, g.Holders))
		},
	}
}

func renderGPUs(inv gpu.Inventory, why *string, holders map[string]string) Bundle {
	if len(inv.Devices) == 0 {
		msg := "This host has no GPU"
		if why != nil && *why != "" {
			msg += ": " + *why
		}
		msg += ". Trials run with --gpus 0 (the default)."
		return Bundle{"text/plain": msg, "text/html": "<p>" + html.EscapeString(msg) + "</p>"}
	}
	var txt, h strings.Builder
	head := fmt.Sprintf("%d GPU(s), NVIDIA driver %s, CUDA %s", len(inv.Devices), inv.Driver, inv.CUDA)
	txt.WriteString(head + "\n")
	fmt.Fprintf(&h, `<div class="hops-gpus"><p>%s</p><table><thead><tr><th>GPU</th><th style="text-align:left">model</th><th style="text-align:right">memory used</th><th style="text-align:right">utilization</th><th style="text-align:left">held by</th></tr></thead><tbody>`, html.EscapeString(head))
	for _, d := range inv.Devices {
		holder := holders[strconv.Itoa(d.Index)]
		if holder == "" {
			holder = "free"
		}
		mem := fmt.Sprintf("%.1f / %.1f GiB", float64(d.MemoryUsed)/(1<<30), float64(d.MemoryTotal)/(1<<30))
		fmt.Fprintf(&txt, "GPU %d  %s  %s  %d%%  %s\n", d.Index, d.Name, mem, d.UtilizationGPU, holder)
		fmt.Fprintf(&h, `<tr><td>%d</td><td style="text-align:left">%s</td><td style="text-align:right">%s</td><td style="text-align:right">%d%%</td><td style="text-align:left">%s</td></tr>`,
			d.Index, html.EscapeString(d.Name), mem, d.UtilizationGPU, html.EscapeString(holder))
	}
	h.WriteString(`</tbody></table></div>`)
	return Bundle{"text/plain": strings.TrimRight(txt.String(), "\n"), "text/html": h.String()}
}
