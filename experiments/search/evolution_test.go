package search

import (
	"math"
	"reflect"
	"testing"
)

// evolve runs an evolution plan to the end, scoring each trial with f, and returns its generations.
func evolve(t *testing.T, p Plan, population int, f func(Params) Result) [][]Params {
	t.Helper()
	var results []Result
	var generations [][]Params
	for {
		batch := p.Next(results)
		if batch == nil {
			break
		}
		if len(batch) != population {
			t.Fatalf("generation %d has %d trials, want %d", len(generations), len(batch), population)
		}
		for _, tr := range batch {
			results = append(results, f(tr))
		}
		generations = append(generations, batch)
	}
	if len(results) != p.Total() {
		t.Fatalf("%d trials, Total says %d", len(results), p.Total())
	}
	return generations
}

// parabola peaks at x=3 with value 0.
func parabola(p Params) Result {
	x := p["x"].(float64)
	return Result{Params: p, Value: -(x - 3) * (x - 3), OK: true}
}

func TestEvolutionClimbsTowardsTheMaximumOfAParabola(t *testing.T) {
	space := Space{Fixed: []Param{epoch}, Random: []Range{{Name: "x", Lo: 0, Hi: 10}}}
	for seed := int64(1); seed <= 20; seed++ {
		p := mustNew(t, space, Options{Method: Evolution, Objective: &Objective{"score", Max}, Generations: 20, Population: 10, Seed: seed})
		if p.Method() != Evolution || p.Total() != 200 || p.Seed() != seed {
			t.Fatalf("method %s total %d seed %d", p.Method(), p.Total(), p.Seed())
		}
		best := math.Inf(-1)
		var firstBest, bestX float64
		for g, gen := range evolve(t, p, 10, parabola) {
			for _, tr := range gen {
				x := tr["x"].(float64)
				if x < 0 || x > 10 || tr["epochs"] != int64(5) {
					t.Fatalf("seed %d generation %d: trial %v out of bounds or without its fixed param", seed, g, tr)
				}
				if v := parabola(tr).Value; v > best {
					best, bestX = v, x
				}
			}
			if g == 0 {
				firstBest = best
			}
		}
		if best <= firstBest || math.Abs(bestX-3) > 0.05 {
			t.Errorf("seed %d: best %.4g at x=%.4g after 20 generations, %.4g after the first; want better, near x=3",
				seed, best, bestX, firstBest)
		}
	}
}

func TestEvolutionDescendsWhenMinimizing(t *testing.T) {
	space := Space{Random: []Range{{Name: "x", Lo: 0, Hi: 10}}}
	p := mustNew(t, space, Options{Method: Evolution, Objective: &Objective{"loss", Min}, Generations: 12, Seed: 9})
	loss := func(p Params) Result { r := parabola(p); r.Value = -r.Value; return r }
	gens := evolve(t, p, 6, loss)
	best := math.Inf(1)
	for _, tr := range gens[len(gens)-1] {
		best = min(best, loss(tr).Value)
	}
	if best > 0.01 {
		t.Fatalf("the last generation's lowest loss is %g, want near 0", best)
	}
}

func TestEvolutionUsesHopsMLDefaults(t *testing.T) {
	p := mustNew(t, Space{Random: []Range{lr}}, Options{Method: Evolution, Objective: &Objective{"acc", Max}})
	if p.Total() != 24 {
		t.Fatalf("total %d, want 4 generations of 6", p.Total())
	}
	evolve(t, p, 6, func(p Params) Result { return Result{Params: p, Value: p["lr"].(float64), OK: true} })
}

func TestEvolutionKeepsIntegerAndLogDimensionsInBoundsAndTyped(t *testing.T) {
	space := Space{Random: []Range{
		{Name: "units", Lo: 1, Hi: 3, Int: true},
		{Name: "batch", Lo: 16, Hi: 512, Int: true, Log: true},
		{Name: "lr", Lo: 1e-5, Hi: 1e-1, Log: true},
	}}
	p := mustNew(t, space, Options{Method: Evolution, Objective: &Objective{"acc", Max}, Generations: 20, Population: 5, Seed: 11})
	// Rewarding the largest values pushes mutants against the upper bounds, where clipping must hold them.
	score := func(p Params) Result {
		return Result{Params: p, Value: float64(p["units"].(int64)+p["batch"].(int64)) + p["lr"].(float64), OK: true}
	}
	gens := evolve(t, p, 5, score)
	for _, gen := range gens {
		for _, tr := range gen {
			u, b, l := tr["units"].(int64), tr["batch"].(int64), tr["lr"].(float64)
			if u < 1 || u > 3 || b < 16 || b > 512 || l < 1e-5 || l > 1e-1 {
				t.Fatalf("out of bounds: %v", tr)
			}
		}
	}
	if last := gens[len(gens)-1]; !reflect.DeepEqual(last[0]["units"], int64(3)) || last[0]["batch"].(int64) < 400 {
		t.Errorf("the last generation did not reach the upper bounds: %v", last)
	}
}

func TestEvolutionIsRepeatableForASeed(t *testing.T) {
	space := Space{Random: []Range{{Name: "x", Lo: 0, Hi: 10}}}
	opts := Options{Method: Evolution, Objective: &Objective{"score", Max}, Seed: 4}
	a := evolve(t, mustNew(t, space, opts), 6, parabola)
	b := evolve(t, mustNew(t, space, opts), 6, parabola)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed evolved differently")
	}
}

// TestEvolutionSelection drives one selection step by hand: four members with known results meet four
// trials with known results.
func TestEvolutionSelection(t *testing.T) {
	for _, tc := range []struct {
		name          string
		dir           Direction
		target, trial Result
		trialReplaces bool
	}{
		{"a better trial replaces its target", Max, Result{Value: 1, OK: true}, Result{Value: 2, OK: true}, true},
		{"a worse trial does not", Max, Result{Value: 1, OK: true}, Result{Value: 0.5, OK: true}, false},
		{"a tie goes to the trial", Max, Result{Value: 1, OK: true}, Result{Value: 1, OK: true}, true},
		{"lower is better when minimizing", Min, Result{Value: 1, OK: true}, Result{Value: 0.5, OK: true}, true},
		{"higher is worse when minimizing", Min, Result{Value: 1, OK: true}, Result{Value: 2, OK: true}, false},
		{"a failed trial never wins", Max, Result{Value: 1, OK: true}, Result{Value: 99}, false},
		{"a NaN never wins", Max, Result{Value: 1, OK: true}, Result{Value: math.NaN(), OK: true}, false},
		{"a failed target always makes way", Max, Result{Value: 99}, Result{Value: -99, OK: true}, true},
		{"even for a failed trial", Max, Result{Value: 99}, Result{}, true},
	} {
		p := mustNew(t, Space{Random: []Range{{Name: "x", Lo: 0, Hi: 10}}},
			Options{Method: Evolution, Objective: &Objective{"m", tc.dir}, Population: 4, Generations: 3, Seed: 1})
		gen0 := p.Next(nil)
		results := make([]Result, 0, 12)
		for range gen0 {
			results = append(results, tc.target)
		}
		gen1 := p.Next(results)
		for range gen1 {
			results = append(results, tc.trial)
		}
		p.Next(results)
		e := p.(*evolution)
		for i := range e.members {
			got := e.members[i][0]
			want := gen0[i]["x"].(float64)
			if tc.trialReplaces {
				want = gen1[i]["x"].(float64)
			}
			if got != want {
				t.Errorf("%s: member %d is x=%g, want %g", tc.name, i, got, want)
			}
		}
	}
}

func TestEvolutionTreatsMissingResultsAsFailed(t *testing.T) {
	p := mustNew(t, Space{Random: []Range{{Name: "x", Lo: 0, Hi: 10}}},
		Options{Method: Evolution, Objective: &Objective{"m", Max}, Population: 4, Generations: 2, Seed: 2})
	p.Next(nil)
	if next := p.Next(nil); len(next) != 4 {
		t.Fatalf("got %d trials after no results, want a generation of 4", len(next))
	}
	for _, s := range p.(*evolution).scores {
		if s.ok {
			t.Fatalf("a missing result counted as a success: %+v", p.(*evolution).scores)
		}
	}
	if p.Next(nil) != nil {
		t.Fatal("a third generation of two")
	}
}
