package magics

import (
	"context"
	"sort"
	"strings"

	"github.com/hopsml/hops/experiments"
)

// Bundle is a Jupyter mimebundle: MIME type → data.
type Bundle map[string]any

// Output is where a running command writes what the user sees.
type Output interface {
	Display(data Bundle) error // a display_data message
	// Show displays data under a display id, so that Update can replace it in place.
	Show(id string, data Bundle) error
	// Update replaces what Show displayed under id (update_display_data).
	Update(id string, data Bundle) error
	// Stream writes text to the cell's "stdout" or "stderr".
	Stream(name, text string) error
}

// Env is what commands may use of the kernel they run in.
type Env struct {
	Out      Output
	Engine   string // the engine that runs the code, e.g. "ipykernel 7.4.0, Python 3.11.7"
	Protocol string // the Jupyter protocol version the kernel speaks
	// Snapshot captures the environment of the engine.
	Snapshot func(context.Context) (experiments.Environment, error)
	// API is the project API of the hops lab that started the kernel; nil without one.
	API *Client
	// KernelID is this kernel's id in hops lab, which finds the notebook it runs for.
	KernelID string
	// Exec runs code silently in the engine (to put a result into a variable); nil without one.
	Exec func(ctx context.Context, code string) error
}

// FlagKind is the type of a flag's value.
type FlagKind int

// Flag kinds.
const (
	String FlagKind = iota
	Bool
)

// Flag is one flag of a command.
type Flag struct {
	Name    string // long name, used as --name
	Short   string // one-letter alias, used as -s
	Kind    FlagKind
	Value   string // placeholder shown in help, e.g. PATTERN
	Default string
	Repeat  bool
	Help    string
}

func (f *Flag) display() string { return "--" + f.Name }

func (f *Flag) usage() string {
	s := "--" + f.Name
	if f.Short != "" {
		s = "-" + f.Short + ", " + s
	}
	if f.Kind != Bool {
		s += " " + f.Value
	}
	return s
}

// Command is one %hops command.
type Command struct {
	Name    string
	Summary string
	Args    string // positional arguments as shown in help, e.g. "[COMMAND]"
	MinArgs int
	MaxArgs int // -1: unbounded
	Flags   []Flag
	Cell    bool // accepts a %%hops cell body
	// RawArgs passes every word after the command as an argument, flags included (for commands
	// that hand them to another program, as pip does).
	RawArgs bool
	Example string // a complete example line
	Run     func(ctx context.Context, inv *Invocation) error
}

func (c *Command) flag(name string) *Flag {
	for i := range c.Flags {
		if c.Flags[i].Name == name {
			return &c.Flags[i]
		}
	}
	return nil
}

// synopsis is the one-line usage, e.g. "%hops env [--json] [--grep PATTERN]".
func (c *Command) synopsis() string {
	parts := []string{"%hops " + c.Name}
	for _, f := range c.Flags {
		if f.Kind == Bool {
			parts = append(parts, "[--"+f.Name+"]")
		} else {
			parts = append(parts, "[--"+f.Name+" "+f.Value+"]")
		}
	}
	if c.Args != "" {
		parts = append(parts, c.Args)
	}
	return strings.Join(parts, " ")
}

// Registry holds the commands and runs %hops lines.
type Registry struct {
	commands map[string]*Command
}

// NewRegistry returns a registry with the given commands plus `help`.
func NewRegistry(cmds ...*Command) *Registry {
	r := &Registry{commands: map[string]*Command{}}
	for _, c := range cmds {
		r.commands[c.Name] = c
	}
	r.commands["help"] = r.helpCommand()
	return r
}

// Standard returns the registry of every command hops ships.
func Standard() *Registry {
	return NewRegistry(versionCommand(), envCommand(), versionsCommand(), diffCommand(), runCommand(), gpusCommand(), experimentsCommand(), checkoutCommand(), rerunCommand(), pipCommand())
}

// Names returns the command names in alphabetical order.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.commands))
	for n := range r.commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns a command by name.
func (r *Registry) Lookup(name string) (*Command, bool) {
	c, ok := r.commands[name]
	return c, ok
}

// Run parses and runs one %hops line (line is the text after "%hops") or one %%hops cell (line is the
// text after "%%hops", body the rest of the cell).
func (r *Registry) Run(ctx context.Context, line, body string, cell bool, env *Env) error {
	words, err := tokenize(line)
	if err != nil {
		return err
	}
	if len(words) == 0 {
		return usagef("%%hops needs a command: %s. `%%hops help` shows them all with examples", strings.Join(r.Names(), ", "))
	}
	c, ok := r.commands[words[0]]
	if !ok {
		return usagef("unknown command %q; did you mean `%%hops %s`? Commands: %s (see %%hops help)",
			words[0], closest(words[0], r.Names()), strings.Join(r.Names(), ", "))
	}
	if len(words) > 1 && (words[1] == "--help" || words[1] == "-h") {
		return env.Out.Display(r.help([]*Command{c}))
	}
	if cell && !c.Cell && strings.TrimSpace(body) != "" {
		return usagef("%%hops %s takes no cell body: use it as a line, `%%hops %s`, and put the code in another cell", c.Name, c.Name)
	}
	inv, err := c.parse(words[1:])
	if err != nil {
		return err
	}
	inv.Line, inv.Body, inv.Cell, inv.Env = line, body, cell, env
	return c.Run(ctx, inv)
}
