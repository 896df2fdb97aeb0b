package search

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Differential evolution's constants, HopsML's defaults.
const (
	mutation  = 0.5 // F: how far a mutant moves along the difference of two members
	crossover = 0.7 // CR: the chance that a dimension comes from the mutant
)

// evolution is classic differential evolution, DE/rand/1/bin. Members are points in each dimension's
// span (log space for log ranges, unrounded for integer ones), so that rounding and exp do not hamper
// the arithmetic; they become parameter values only on the way out.
type evolution struct {
	space       Space
	better      func(trial, target float64) bool
	generations int
	population  int
	seed        int64
	rng         *rand.Rand

	generation int         // generations handed out so far
	pending    [][]float64 // the generation handed out last
	members    [][]float64 // the population the next generation is bred from
	scores     []score     // the members' results
}

type score struct {
	value float64
	ok    bool
}

func newEvolution(space Space, opts Options, seed int64, rng *rand.Rand) (*evolution, error) {
	switch {
	case len(space.Grid) > 0:
		d := space.Grid[0].Name
		return nil, fmt.Errorf("--grid %s: evolution varies only --random dimensions: turn it into --random %s=lo:hi, or fix it with --param", d, d)
	case len(space.Random) == 0:
		return nil, errors.New("--search evolution has nothing to vary: add a dimension, e.g. --random lr=0.0001:0.1:log")
	case opts.Objective == nil:
		return nil, errors.New("--search evolution needs to know which trials are better: add --optimize metric:max or metric:min, e.g. --optimize accuracy:max")
	case opts.Generations < 0:
		return nil, fmt.Errorf("--generations %d: give a positive number of generations, e.g. --generations 4", opts.Generations)
	case opts.Population < 0:
		return nil, fmt.Errorf("--population %d: give a population of 4 or more, e.g. --population 6", opts.Population)
	}
	e := &evolution{space: space, generations: opts.Generations, population: opts.Population, seed: seed, rng: rng}
	if e.generations == 0 {
		e.generations = defaultGenerations
	}
	if e.population == 0 {
		e.population = defaultPopulation
	}
	if e.population < 4 {
		return nil, fmt.Errorf("--population %d: differential evolution breeds each member from three others, so it needs 4 or more: e.g. --population 6",
			e.population)
	}
	if e.generations > maxTrials/e.population { // that is, generations*population > maxTrials, without overflow
		return nil, fmt.Errorf("--generations %d --population %d make more than %d trials: lower either", e.generations, e.population, maxTrials)
	}
	// Ties go to the trial, as in Storn and Price's DE, so that the population can drift across a flat
	// stretch instead of stalling on it.
	e.better = func(trial, target float64) bool { return trial >= target }
	if opts.Objective.Direction == Min {
		e.better = func(trial, target float64) bool { return trial <= target }
	}
	return e, nil
}

func (e *evolution) Method() Method { return Evolution }
func (e *evolution) Total() int     { return e.generations * e.population }
func (e *evolution) Seed() int64    { return e.seed }

func (e *evolution) Next(results []Result) []Params {
	switch {
	case e.generation == e.generations:
		return nil
	case e.generation == 0:
		e.pending = make([][]float64, e.population)
		for i := range e.pending {
			e.pending[i] = make([]float64, len(e.space.Random))
			for j, r := range e.space.Random {
				e.pending[i][j] = r.sample(e.rng)
			}
		}
	default:
		e.survive(results)
		e.pending = e.breed()
	}
	e.generation++
	trials := make([]Params, len(e.pending))
	for i, point := range e.pending {
		p := e.space.fixed()
		for j, r := range e.space.Random {
			p[r.Name] = r.value(point[j])
		}
		trials[i] = p
	}
	return trials
}

// survive lets each trial of the last generation, read from the tail of results, replace its target
// when it did at least as well. A failed target always makes way; a failed trial never wins. A result
// missing from a too short results counts as failed.
func (e *evolution) survive(results []Result) {
	scores := make([]score, e.population)
	tail := len(results) - e.population
	for i := range scores {
		if tail+i >= 0 {
			r := results[tail+i]
			scores[i] = score{value: r.Value, ok: r.OK && !math.IsNaN(r.Value)}
		}
	}
	if e.members == nil { // generation 0 has no targets: it becomes the population
		e.members, e.scores = e.pending, scores
		return
	}
	for i, s := range scores {
		if !e.scores[i].ok || s.ok && e.better(s.value, e.scores[i].value) {
			e.members[i], e.scores[i] = e.pending[i], s
		}
	}
}

// breed makes one trial per member: a mutant a + F*(b-c) from three other distinct members, clipped to
// the bounds, crossed with the member dimension by dimension, at least one dimension from the mutant.
func (e *evolution) breed() [][]float64 {
	trials := make([][]float64, e.population)
	for i, target := range e.members {
		var others []int
		for _, k := range e.rng.Perm(e.population) {
			if k != i && len(others) < 3 {
				others = append(others, k)
			}
		}
		a, b, c := e.members[others[0]], e.members[others[1]], e.members[others[2]]
		forced := e.rng.IntN(len(target))
		trial := make([]float64, len(target))
		for j, r := range e.space.Random {
			if j != forced && e.rng.Float64() >= crossover {
				trial[j] = target[j]
				continue
			}
			lo, hi := r.span()
			trial[j] = min(max(a[j]+mutation*(b[j]-c[j]), lo), hi)
		}
		trials[i] = trial
	}
	return trials
}
