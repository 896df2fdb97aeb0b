package magics

import (
	"context"
	"fmt"
	"html"
	"strings"
)

func (r *Registry) helpCommand() *Command {
	return &Command{
		Name:    "help",
		Summary: "Show every %hops command with its flags and an example, or one command in detail.",
		Args:    "[COMMAND]",
		MaxArgs: 1,
		Example: "%hops help env",
		Run: func(_ context.Context, inv *Invocation) error {
			if len(inv.Args) == 0 {
				var all []*Command
				for _, n := range r.Names() {
					all = append(all, r.commands[n])
				}
				return inv.Env.Out.Display(r.help(all))
			}
			c, ok := r.commands[inv.Args[0]]
			if !ok {
				return usagef("no command %q; did you mean `%%hops help %s`?", inv.Args[0], closest(inv.Args[0], r.Names()))
			}
			return inv.Env.Out.Display(r.help([]*Command{c}))
		},
	}
}

// help renders the help of the given commands as plain text and HTML.
func (r *Registry) help(cmds []*Command) Bundle {
	var txt, h strings.Builder
	if len(cmds) > 1 {
		txt.WriteString("%hops: hops magics. A cell may mix Python lines and %hops lines; they run in order.\n\n")
		h.WriteString(`<div class="hops-help"><p><b>%hops</b>: hops magics. A cell may mix Python lines and <code>%hops</code> lines; they run in order.</p>`)
	} else {
		h.WriteString(`<div class="hops-help">`)
	}
	for _, c := range cmds {
		fmt.Fprintf(&txt, "%s\n    %s\n", c.synopsis(), c.Summary)
		fmt.Fprintf(&h, `<h4 style="margin-bottom:2px"><code>%s</code></h4><p style="margin-top:2px">%s</p>`,
			html.EscapeString(c.synopsis()), html.EscapeString(c.Summary))
		if len(c.Flags) > 0 {
			h.WriteString(`<table><tbody>`)
			for _, f := range c.Flags {
				help := f.Help
				if f.Default != "" {
					help += " (default " + f.Default + ")"
				}
				fmt.Fprintf(&txt, "    %-22s %s\n", f.usage(), help)
				fmt.Fprintf(&h, `<tr><td style="text-align:left"><code>%s</code></td><td style="text-align:left">%s</td></tr>`,
					html.EscapeString(f.usage()), html.EscapeString(help))
			}
			h.WriteString(`</tbody></table>`)
		}
		fmt.Fprintf(&txt, "    example: %s\n\n", c.Example)
		fmt.Fprintf(&h, `<p>Example: <code>%s</code></p>`, html.EscapeString(c.Example))
	}
	h.WriteString(`</div>`)
	return Bundle{"text/plain": strings.TrimRight(txt.String(), "\n"), "text/html": h.String()}
}

// Inspect returns the help of the command named on a %hops line, for inspect_request (Shift-Tab in
// JupyterLab). ok is false when the line is not a %hops line.
func (r *Registry) Inspect(line string) (Bundle, bool) {
	rest, ok := strings.CutPrefix(line, "%%hops")
	if !ok {
		rest, ok = strings.CutPrefix(line, "%hops")
	}
	if !ok {
		return nil, false
	}
	if words := strings.Fields(rest); len(words) > 0 {
		if c, ok := r.commands[words[0]]; ok {
			return r.help([]*Command{c}), true
		}
	}
	var all []*Command
	for _, n := range r.Names() {
		all = append(all, r.commands[n])
	}
	return r.help(all), true
}
