package magics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"strings"
)

func pipCommand() *Command {
	return &Command{
		Name: "pip",
		Summary: "Install or uninstall packages in the project environment, the one every trial runs with, and " +
			"record the result in the workspace's requirements.lock (a new version of it). A failed pip leaves the lock as it was.",
		Args:    "install|uninstall PACKAGE... [pip options]",
		MinArgs: 2,
		MaxArgs: -1,
		RawArgs: true,
		Example: "%hops pip install scikit-learn==1.5.2",
		Run: func(ctx context.Context, inv *Invocation) error {
			if sub := inv.Args[0]; sub != "install" && sub != "uninstall" {
				return usagef("%%hops pip %s: use %%hops pip install PACKAGE... or %%hops pip uninstall PACKAGE...", sub)
			}
			var done *struct {
				OK      bool
				Error   string
				Changes []string
				Lock    string
			}
			err := inv.Env.API.PostLines(ctx, "env/pip", map[string]any{"args": inv.Args}, func(line []byte) error {
				var ev struct {
					Output  string
					Done    bool
					OK      bool
					Error   string
					Changes []string
					Lock    string
				}
				if err := json.Unmarshal(line, &ev); err != nil {
					return fmt.Errorf("unexpected answer from hops lab: %w", err)
				}
				if ev.Done {
					done = &struct {
						OK      bool
						Error   string
						Changes []string
						Lock    string
					}{ev.OK, ev.Error, ev.Changes, ev.Lock}
					return nil
				}
				return inv.Env.Out.Stream("stdout", ev.Output+"\n")
			})
			if err != nil {
				return err
			}
			if done == nil {
				return errors.New("hops lab ended the answer before pip finished; see %hops env lock for where things stand")
			}
			if !done.OK {
				return errors.New(done.Error)
			}
			return inv.Env.Out.Display(changesBundle("pip "+strings.Join(inv.Args, " ")+" changed the project environment", done.Changes,
				"Nothing changed: the packages were already as asked.", "Recorded in "+done.Lock+"."))
		},
	}
}

// changesBundle lists changes under a heading, or says there were none.
func changesBundle(heading string, changes []string, none, footer string) Bundle {
	if len(changes) == 0 {
		return Bundle{"text/plain": none + " " + footer, "text/html": "<p>" + html.EscapeString(none+" "+footer) + "</p>"}
	}
	txt := heading + ":\n  " + strings.Join(changes, "\n  ") + "\n" + footer
	var h strings.Builder
	fmt.Fprintf(&h, "<p>%s:</p><ul>", html.EscapeString(heading))
	for _, c := range changes {
		fmt.Fprintf(&h, "<li><code>%s</code></li>", html.EscapeString(c))
	}
	fmt.Fprintf(&h, "</ul><p>%s</p>", html.EscapeString(footer))
	return Bundle{"text/plain": txt, "text/html": h.String()}
}

// envLock shows the project environment's lock and how the installed packages differ from it.
func envLock(ctx context.Context, inv *Invocation) error {
	body, _, err := inv.Env.API.Get(ctx, "env", nil)
	if err != nil {
		return err
	}
	var st struct {
		Lock        string
		LockExists  bool     `json:"lock_exists"`
		LockDiffers []string `json:"lock_differs"`
		Environment struct {
			Python *struct {
				Version  string
				Packages []struct{ Name, Version string }
			}
		}
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return fmt.Errorf("unexpected answer from hops lab: %w", err)
	}
	if !st.LockExists {
		msg := fmt.Sprintf("There is no %s yet: the first %%hops pip install writes it. Experiments record the installed packages either way.", st.Lock)
		return inv.Env.Out.Display(Bundle{"text/plain": msg, "text/html": "<p>" + html.EscapeString(msg) + "</p>"})
	}
	n := 0
	if st.Environment.Python != nil {
		n = len(st.Environment.Python.Packages)
	}
	return inv.Env.Out.Display(changesBundle(fmt.Sprintf("The installed packages differ from %s", st.Lock), st.LockDiffers,
		fmt.Sprintf("%s matches the %d installed packages.", st.Lock, n), "Trials run with what is installed; %hops pip keeps the lock up to date."))
}
