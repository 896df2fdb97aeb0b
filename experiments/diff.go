package experiments

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// DiffEnvironments lists what differs from a to b, one line each ("package torch 2.1.0 -> 2.2.0").
func DiffEnvironments(a, b *Environment) []string {
	if a == nil || b == nil {
		if a != b {
			return []string{"one of the runs has no environment snapshot"}
		}
		return nil
	}
	var out []string
	pyA, pyB := pythonOf(a), pythonOf(b)
	if pyA.Version != pyB.Version {
		out = append(out, fmt.Sprintf("Python %s -> %s", pyA.Version, pyB.Version))
	}
	out = append(out, DiffPackages(Packages(a), Packages(b))...)
	if ga, gb := GPUText(a), GPUText(b); ga != gb {
		out = append(out, fmt.Sprintf("GPUs %s -> %s", ga, gb))
	}
	if a.OS != b.OS {
		out = append(out, fmt.Sprintf("OS %s -> %s", a.OS, b.OS))
	}
	return out
}

// pythonOf is the environment's interpreter, zero when it was not inspected.
func pythonOf(e *Environment) Python {
	if e.Python == nil {
		return Python{}
	}
	return *e.Python
}

// Packages maps each installed package's lower-cased name to its version.
func Packages(e *Environment) map[string]string {
	m := map[string]string{}
	if e != nil && e.Python != nil {
		for _, pkg := range e.Python.Packages {
			m[strings.ToLower(pkg.Name)] = pkg.Version
		}
	}
	return m
}

// DiffPackages lists how the packages b differ from a, by name: "package x 1.0 added", "... removed",
// "package x 1.0 -> 2.0".
func DiffPackages(a, b map[string]string) []string {
	both := maps.Clone(a)
	maps.Copy(both, b)
	var out []string
	for _, name := range slices.Sorted(maps.Keys(both)) {
		va, inA := a[name]
		vb, inB := b[name]
		switch {
		case !inA:
			out = append(out, fmt.Sprintf("package %s %s added", name, vb))
		case !inB:
			out = append(out, fmt.Sprintf("package %s %s removed", name, va))
		case va != vb:
			out = append(out, fmt.Sprintf("package %s %s -> %s", name, va, vb))
		}
	}
	return out
}

// GPUText describes an environment's GPUs in a few words.
func GPUText(e *Environment) string {
	if e.GPU == nil || len(e.GPU.Devices) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d× %s (driver %s, CUDA %s)", len(e.GPU.Devices), e.GPU.Devices[0].Name, e.GPU.Driver, e.GPU.CUDA)
}
