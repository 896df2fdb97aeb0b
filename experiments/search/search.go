// Package search owns the hyperparameter search of %%hops run: the --param, --grid, --random and
// --optimize flags parsed into a Space and an Objective, and the Plan that turns them into trials by a
// single run, grid search, random search or differential evolution (HopsML's strategies). It runs
// nothing itself: the caller runs each batch of trials and hands the results back, so that evolution
// can breed the next generation from them.
package search

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// maxTrials bounds every plan: past it a slip (a wide range, one dimension too many) would queue runs
// for days before anyone noticed.
const maxTrials = 10000

// Param is a --param: a value every trial gets.
type Param struct {
	Name  string
	Value any
}

// Dim is a --grid dimension: the values a parameter takes, in the order given.
type Dim struct {
	Name   string
	Values []any
}

// Range is a --random dimension: a bounded interval, sampled uniformly (in log space when Log). Int
// ranges, whose bounds were both written as integers, produce int64 values.
type Range struct {
	Name   string
	Lo, Hi float64
	Log    bool
	Int    bool
}

// Space is every parameter of an experiment, by the flag that gave it.
type Space struct {
	Fixed  []Param
	Grid   []Dim
	Random []Range
}

// Names lists the parameter names: fixed, then grid, then random, each in the order given.
func (s Space) Names() []string {
	names := make([]string, 0, len(s.Fixed)+len(s.Grid)+len(s.Random))
	for _, p := range s.Fixed {
		names = append(names, p.Name)
	}
	for _, d := range s.Grid {
		names = append(names, d.Name)
	}
	for _, r := range s.Random {
		names = append(names, r.Name)
	}
	return names
}

// Validate checks what the parsers check, for a Space built by hand too, and what only the whole Space
// shows: every name is a usable Python variable and is given once.
func (s Space) Validate() error {
	given := map[string]string{} // name -> the flag that gave it
	claim := func(flag, name string) error {
		if err := checkName(name); err != nil {
			return fmt.Errorf("%s %s: %w", flag, name, err)
		}
		if prev, ok := given[name]; ok {
			return fmt.Errorf("%s %s: %s is already given by %s: give each parameter once", flag, name, name, prev)
		}
		given[name] = flag
		return nil
	}
	for _, p := range s.Fixed {
		if err := claim("--param", p.Name); err != nil {
			return err
		}
		if err := checkValue(p.Value); err != nil {
			return fmt.Errorf("--param %s: %w", p.Name, err)
		}
	}
	for _, d := range s.Grid {
		if err := claim("--grid", d.Name); err != nil {
			return err
		}
		if err := d.check(); err != nil {
			return fmt.Errorf("--grid %s: %w", d.Name, err)
		}
	}
	for _, r := range s.Random {
		if err := claim("--random", r.Name); err != nil {
			return err
		}
		if err := r.check(); err != nil {
			return fmt.Errorf("--random %s: %w", r.Name, err)
		}
	}
	return nil
}

// fixed is a trial's assignment before anything varies.
func (s Space) fixed() Params {
	p := make(Params, len(s.Names()))
	for _, f := range s.Fixed {
		p[f.Name] = f.Value
	}
	return p
}

// Method is how a plan chooses trials.
type Method string

// The methods. Single is what a run without search flags does; --search names the others.
const (
	Single    Method = "single"
	Grid      Method = "grid"
	Random    Method = "random"
	Evolution Method = "evolution"
)

// Direction says whether a larger or a smaller metric is better.
type Direction string

// The directions of --optimize.
const (
	Max Direction = "max"
	Min Direction = "min"
)

// Objective is --optimize: the metric that ranks trials, and which way.
type Objective struct {
	Metric    string    `json:"metric"`
	Direction Direction `json:"direction"`
}

func (o Objective) check() error {
	if o.Metric == "" {
		return errors.New("--optimize: no metric name: write metric:max or metric:min, e.g. --optimize accuracy:max")
	}
	if o.Direction != Max && o.Direction != Min {
		return fmt.Errorf("--optimize %s:%s: the direction is neither max nor min: write %s:max or %s:min",
			o.Metric, o.Direction, o.Metric, o.Metric)
	}
	return nil
}

// Options are the search flags other than the Space.
type Options struct {
	Method      Method     // "" infers it: any Random dimension -> Random; else any Grid -> Grid; else Single
	Trials      int        // random: number of samples (0 -> 10)
	Generations int        // evolution (0 -> 4)
	Population  int        // evolution (0 -> 6); at least 4
	Objective   *Objective // evolution requires it
	Seed        int64      // 0 -> time-based; Plan.Seed reports the one chosen
}

// Result is a finished trial as the search sees it.
type Result struct {
	Params Params
	Value  float64 // the objective's metric
	OK     bool    // false: the trial failed or did not log the metric
}

// Plan produces the trials of one experiment, in batches, so that differential evolution sees a
// generation's results before it breeds the next.
type Plan interface {
	Method() Method
	// Total is how many trials the plan produces in all, known upfront for every method.
	Total() int
	Seed() int64
	// Next returns the next batch of trials given the results of every earlier trial, in the order they
	// were produced (len(results) is the number of trials produced so far); nil when the search is over.
	// Single, grid and random plans return every trial in the first batch; evolution returns one
	// generation per batch and reads the previous one's results from the tail of results.
	Next(results []Result) []Params
}

// Defaults, HopsML's.
const (
	defaultTrials      = 10
	defaultGenerations = 4
	defaultPopulation  = 6
)

// New checks the space and options together and returns the plan they ask for.
func New(space Space, opts Options) (Plan, error) {
	if err := space.Validate(); err != nil {
		return nil, err
	}
	if opts.Objective != nil {
		if err := opts.Objective.check(); err != nil {
			return nil, err
		}
	}
	method := opts.Method
	if method == "" {
		method = Single
		if len(space.Random) > 0 {
			method = Random
		} else if len(space.Grid) > 0 {
			method = Grid
		}
	}
	switch method {
	case Single, Grid, Random, Evolution:
	default:
		return nil, fmt.Errorf("unknown search %q: use --search grid, random or evolution", method)
	}
	// Refusing a flag the method would ignore beats running another search than the one asked for.
	if opts.Trials != 0 && method != Random {
		return nil, errors.New("--trials applies only to random search: drop it, or add --search random")
	}
	if (opts.Generations != 0 || opts.Population != 0) && method != Evolution {
		return nil, errors.New("--generations and --population apply only to evolution: drop them, or add --search evolution")
	}
	seed := opts.Seed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0))

	switch method {
	case Single:
		if len(space.Grid) > 0 || len(space.Random) > 0 {
			return nil, errors.New("a single run cannot vary parameters: use --search grid or random, or fix each with --param")
		}
		return &listPlan{method: method, seed: seed, trials: []Params{space.fixed()}}, nil

	case Grid:
		if len(space.Random) > 0 {
			return nil, fmt.Errorf("--random %s: grid search runs only --grid values: use --search random or evolution, or turn it into --grid %s=v1,v2",
				space.Random[0].Name, space.Random[0].Name)
		}
		if len(space.Grid) == 0 {
			return nil, errors.New("--search grid has nothing to vary: add a --grid dimension, e.g. --grid lr=0.001,0.01")
		}
		combos := 1.0 // a float: an absurd grid would overflow an int, and its count is only reported
		for _, d := range space.Grid {
			combos *= float64(len(d.Values))
		}
		if combos > maxTrials {
			return nil, fmt.Errorf("the grid has %.0f combinations, more than %d: drop values or dimensions, or use --search random with --trials",
				combos, maxTrials)
		}
		return &listPlan{method: method, seed: seed, trials: gridTrials(space, int(combos))}, nil

	case Random:
		if len(space.Random) == 0 && len(space.Grid) == 0 {
			return nil, errors.New("--search random has nothing to vary: add a dimension, e.g. --random lr=0.0001:0.1:log")
		}
		n := opts.Trials
		switch {
		case n == 0:
			n = defaultTrials
		case n < 0 || n > maxTrials:
			return nil, fmt.Errorf("--trials %d: give a number of trials from 1 to %d, e.g. --trials 20", n, maxTrials)
		}
		return &listPlan{method: method, seed: seed, trials: randomTrials(space, n, rng)}, nil
	}
	return newEvolution(space, opts, seed, rng) // the one method left
}

// listPlan is a plan whose trials do not depend on each other's results.
type listPlan struct {
	method Method
	seed   int64
	trials []Params
	done   bool
}

func (p *listPlan) Method() Method { return p.method }
func (p *listPlan) Total() int     { return len(p.trials) }
func (p *listPlan) Seed() int64    { return p.seed }

func (p *listPlan) Next([]Result) []Params {
	if p.done {
		return nil
	}
	p.done = true
	return p.trials
}

// gridTrials lists every combination, the first dimension varying slowest.
func gridTrials(s Space, n int) []Params {
	trials := make([]Params, 0, n)
	at := make([]int, len(s.Grid))
	for {
		p := s.fixed()
		for i, d := range s.Grid {
			p[d.Name] = d.Values[at[i]]
		}
		trials = append(trials, p)
		i := len(at) - 1
		for ; i >= 0; i-- { // an odometer: the last dimension turns fastest
			at[i]++
			if at[i] < len(s.Grid[i].Values) {
				break
			}
			at[i] = 0
		}
		if i < 0 {
			return trials
		}
	}
}

// randomTrials samples n points; grid dimensions are categorical choices, each value equally likely.
func randomTrials(s Space, n int, rng *rand.Rand) []Params {
	trials := make([]Params, n)
	for t := range trials {
		p := s.fixed()
		for _, d := range s.Grid {
			p[d.Name] = d.Values[rng.IntN(len(d.Values))]
		}
		for _, r := range s.Random {
			p[r.Name] = r.value(r.sample(rng))
		}
		trials[t] = p
	}
	return trials
}

// span is the interval a search moves in: log space for log ranges, and for integer ranges widened by
// half a step on each side, so that after rounding the end points get as much room as every other
// integer.
func (r Range) span() (lo, hi float64) {
	lo, hi = r.Lo, r.Hi
	if r.Int {
		lo, hi = lo-0.5, hi+0.5
	}
	if r.Log {
		lo, hi = math.Log(lo), math.Log(hi)
	}
	return lo, hi
}

func (r Range) sample(rng *rand.Rand) float64 {
	lo, hi := r.span()
	return lo + rng.Float64()*(hi-lo)
}

// value maps a point of the span to a parameter value within the bounds (exp and the widened integer
// span can step just outside them).
func (r Range) value(u float64) any {
	x := u
	if r.Log {
		x = math.Exp(u)
	}
	x = min(max(x, r.Lo), r.Hi)
	if r.Int {
		return int64(math.Round(x))
	}
	return x
}

func (r Range) check() error {
	switch {
	case math.IsNaN(r.Lo) || math.IsNaN(r.Hi) || math.IsInf(r.Lo, 0) || math.IsInf(r.Hi, 0):
		return fmt.Errorf("bounds %g:%g are not finite numbers: give numbers, e.g. %s=0.0001:0.1", r.Lo, r.Hi, r.Name)
	case r.Lo >= r.Hi:
		return fmt.Errorf("lower bound %g is not below upper bound %g: write %s=lo:hi with lo < hi", r.Lo, r.Hi, r.Name)
	case r.Log && r.Lo <= 0:
		return fmt.Errorf("a log range needs a lower bound above 0, not %g: e.g. %s=0.0001:0.1:log", r.Lo, r.Name)
	case r.Int && (r.Lo != math.Trunc(r.Lo) || r.Hi != math.Trunc(r.Hi)):
		return fmt.Errorf("integer bounds %g:%g are not whole numbers: give whole numbers, or mark the range as not Int", r.Lo, r.Hi)
	}
	return nil
}

func (d Dim) check() error {
	if len(d.Values) == 0 {
		return fmt.Errorf("no values: give comma-separated values, e.g. --grid %s=0.001,0.01", d.Name)
	}
	seen := make(map[any]bool, len(d.Values))
	for _, v := range d.Values {
		if err := checkValue(v); err != nil {
			return err
		}
		if seen[v] { // a repeated value would only run the same trials twice
			return fmt.Errorf("value %s is listed twice: give each value once", labelValue(v))
		}
		seen[v] = true
	}
	return nil
}

// checkValue admits what JSON carries to Python unchanged.
func checkValue(v any) error {
	switch v := v.(type) {
	case int64, bool, string:
		return nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("value %v is not a finite number: JSON cannot carry it to the trial", v)
		}
		return nil
	}
	return fmt.Errorf("value %v has type %T: values are int64, float64, bool or string", v, v)
}
