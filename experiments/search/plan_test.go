package search

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

func mustNew(t *testing.T, s Space, o Options) Plan {
	t.Helper()
	p, err := New(s, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// all runs a plan whose trials do not depend on results.
func all(t *testing.T, p Plan) []Params {
	t.Helper()
	trials := p.Next(nil)
	if len(trials) != p.Total() {
		t.Fatalf("first batch has %d trials, Total says %d", len(trials), p.Total())
	}
	if more := p.Next(make([]Result, len(trials))); more != nil {
		t.Fatalf("a second batch after everything: %v", more)
	}
	return trials
}

var (
	lr    = Range{Name: "lr", Lo: 1e-4, Hi: 1e-1, Log: true}
	batch = Dim{Name: "batch", Values: []any{int64(32), int64(64)}}
	opt   = Dim{Name: "opt", Values: []any{"adam", "sgd", "rmsprop"}}
	epoch = Param{Name: "epochs", Value: int64(5)}
)

func TestNewInfersTheMethodFromTheDimensions(t *testing.T) {
	for _, tc := range []struct {
		space Space
		want  Method
	}{
		{Space{}, Single},
		{Space{Fixed: []Param{epoch}}, Single},
		{Space{Grid: []Dim{batch}}, Grid},
		{Space{Random: []Range{lr}}, Random},
		{Space{Grid: []Dim{batch}, Random: []Range{lr}}, Random},
	} {
		if got := mustNew(t, tc.space, Options{}).Method(); got != tc.want {
			t.Errorf("%+v: method %s, want %s", tc.space, got, tc.want)
		}
	}
}

func TestASingleRunIsOneTrialWithTheFixedParams(t *testing.T) {
	trials := all(t, mustNew(t, Space{Fixed: []Param{epoch, {Name: "opt", Value: "adam"}}}, Options{}))
	if want := []Params{{"epochs": int64(5), "opt": "adam"}}; !reflect.DeepEqual(trials, want) {
		t.Fatalf("got %v, want %v", trials, want)
	}
	trials = all(t, mustNew(t, Space{}, Options{}))
	if want := []Params{{}}; !reflect.DeepEqual(trials, want) {
		t.Fatalf("without params: got %v, want %v", trials, want)
	}
}

func TestGridListsEveryCombinationFirstDimensionVaryingSlowest(t *testing.T) {
	p := mustNew(t, Space{Fixed: []Param{epoch}, Grid: []Dim{batch, opt}}, Options{})
	var got []string
	for _, tr := range all(t, p) {
		if tr["epochs"] != int64(5) {
			t.Fatalf("fixed param missing from %v", tr)
		}
		got = append(got, tr.Label([]string{"batch", "opt", "epochs"}))
	}
	want := []string{
		"batch=32, opt=adam, epochs=5", "batch=32, opt=sgd, epochs=5", "batch=32, opt=rmsprop, epochs=5",
		"batch=64, opt=adam, epochs=5", "batch=64, opt=sgd, epochs=5", "batch=64, opt=rmsprop, epochs=5",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestGridOfExactlyTheLimitIsAccepted(t *testing.T) {
	a, _ := ParseGrid("a=0..99")
	b, _ := ParseGrid("b=0..99")
	if n := mustNew(t, Space{Grid: []Dim{a, b}}, Options{}).Total(); n != 10000 {
		t.Fatalf("total %d", n)
	}
}

func TestRandomSamplesTenTrialsWithinTheBoundsByDefault(t *testing.T) {
	space := Space{
		Fixed: []Param{epoch},
		Random: []Range{
			{Name: "x", Lo: -1, Hi: 1},
			lr,
			{Name: "units", Lo: 1, Hi: 4, Int: true},
			{Name: "batch", Lo: 16, Hi: 512, Int: true, Log: true},
		},
	}
	trials := all(t, mustNew(t, space, Options{Seed: 7}))
	if len(trials) != 10 {
		t.Fatalf("%d trials, want the default 10", len(trials))
	}
	for _, tr := range trials {
		x, _ := tr["x"].(float64)
		l, _ := tr["lr"].(float64)
		u, uok := tr["units"].(int64)
		b, bok := tr["batch"].(int64)
		if x < -1 || x > 1 || l < 1e-4 || l > 1e-1 || !uok || u < 1 || u > 4 || !bok || b < 16 || b > 512 || tr["epochs"] != int64(5) {
			t.Errorf("out of bounds or of the wrong type: %#v", tr)
		}
	}
}

func TestRandomIntegerRangesGiveEveryIntegerItsShare(t *testing.T) {
	p := mustNew(t, Space{Random: []Range{{Name: "k", Lo: 1, Hi: 4, Int: true}}}, Options{Trials: 8000, Seed: 1})
	count := map[int64]int{}
	for _, tr := range all(t, p) {
		count[tr["k"].(int64)]++
	}
	for k := int64(1); k <= 4; k++ {
		if count[k] < 1800 || count[k] > 2200 {
			t.Errorf("%d drawn %d times of 8000, want about 2000: %v", k, count[k], count)
		}
	}
}

func TestRandomLogRangesSampleUniformlyInLogSpace(t *testing.T) {
	p := mustNew(t, Space{Random: []Range{{Name: "lr", Lo: 1e-6, Hi: 1, Log: true}}}, Options{Trials: 6000, Seed: 3})
	decades := make([]int, 6) // [1e-6,1e-5), ..., [1e-1,1]
	for _, tr := range all(t, p) {
		d := int(math.Floor(math.Log10(tr["lr"].(float64)))) + 6
		decades[min(d, 5)]++
	}
	for d, n := range decades {
		if n < 850 || n > 1150 {
			t.Errorf("decade 1e%d holds %d of 6000 samples, want about 1000: %v", d-6, n, decades)
		}
	}
}

func TestRandomSamplesGridDimensionsAsChoices(t *testing.T) {
	p := mustNew(t, Space{Grid: []Dim{opt}}, Options{Method: Random, Trials: 300, Seed: 5})
	count := map[any]int{}
	for _, tr := range all(t, p) {
		count[tr["opt"]]++
	}
	if len(count) != 3 || count["adam"] < 70 || count["sgd"] < 70 || count["rmsprop"] < 70 {
		t.Fatalf("choices drawn unevenly: %v", count)
	}
}

func TestASeedMakesEveryPlanRepeatable(t *testing.T) {
	space := Space{Grid: []Dim{opt}, Random: []Range{lr, {Name: "k", Lo: 0, Hi: 9, Int: true}}}
	a := all(t, mustNew(t, space, Options{Seed: 42, Trials: 20}))
	b := all(t, mustNew(t, space, Options{Seed: 42, Trials: 20}))
	c := all(t, mustNew(t, space, Options{Seed: 43, Trials: 20}))
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave different trials")
	}
	if reflect.DeepEqual(a, c) {
		t.Fatal("another seed gave the same trials")
	}
	if p := mustNew(t, space, Options{Seed: 42}); p.Seed() != 42 {
		t.Fatalf("seed %d, want 42", p.Seed())
	}
}

func TestWithoutASeedThePlanChoosesOneAndReportsIt(t *testing.T) {
	space := Space{Random: []Range{lr}}
	p := mustNew(t, space, Options{})
	if p.Seed() == 0 {
		t.Fatal("no seed reported")
	}
	again := mustNew(t, space, Options{Seed: p.Seed()})
	if !reflect.DeepEqual(all(t, p), all(t, again)) {
		t.Fatal("rerunning with the reported seed gave other trials")
	}
}

func TestNewRefusesWhatCannotRun(t *testing.T) {
	maximize := &Objective{Metric: "accuracy", Direction: Max}
	big, _ := ParseGrid("a=0..99")
	bigger, _ := ParseGrid("b=0..100")
	for _, tc := range []struct {
		name  string
		space Space
		opts  Options
		want  []string
	}{
		{"a single run with a grid", Space{Grid: []Dim{batch}}, Options{Method: Single}, []string{"single run cannot vary"}},
		{"a single run with a range", Space{Random: []Range{lr}}, Options{Method: Single}, []string{"single run cannot vary"}},
		{"grid with random dims", Space{Grid: []Dim{batch}, Random: []Range{lr}}, Options{Method: Grid},
			[]string{"--random lr", "--search random or evolution"}},
		{"grid without grid dims", Space{Fixed: []Param{epoch}}, Options{Method: Grid}, []string{"--search grid has nothing to vary", "--grid lr="}},
		{"too large a grid", Space{Grid: []Dim{big, bigger}}, Options{}, []string{"10100 combinations", "more than 10000"}},
		{"random without dims", Space{Fixed: []Param{epoch}}, Options{Method: Random}, []string{"--search random has nothing to vary"}},
		{"negative trials", Space{Random: []Range{lr}}, Options{Trials: -1}, []string{"--trials -1", "from 1 to 10000"}},
		{"too many trials", Space{Random: []Range{lr}}, Options{Trials: 10001}, []string{"--trials 10001"}},
		{"trials for a grid", Space{Grid: []Dim{batch}}, Options{Trials: 5}, []string{"--trials applies only to random search"}},
		{"generations for random", Space{Random: []Range{lr}}, Options{Generations: 3}, []string{"--generations and --population apply only to evolution"}},
		{"population for a grid", Space{Grid: []Dim{batch}}, Options{Population: 8}, []string{"apply only to evolution"}},
		{"evolution with grid dims", Space{Grid: []Dim{batch}, Random: []Range{lr}}, Options{Method: Evolution, Objective: maximize},
			[]string{"--grid batch", "evolution varies only --random", "--random batch=lo:hi"}},
		{"evolution without ranges", Space{Fixed: []Param{epoch}}, Options{Method: Evolution, Objective: maximize}, []string{"nothing to vary"}},
		{"evolution without an objective", Space{Random: []Range{lr}}, Options{Method: Evolution}, []string{"add --optimize"}},
		{"a population of 3", Space{Random: []Range{lr}}, Options{Method: Evolution, Objective: maximize, Population: 3},
			[]string{"--population 3", "4 or more"}},
		{"a negative population", Space{Random: []Range{lr}}, Options{Method: Evolution, Objective: maximize, Population: -6}, []string{"--population -6"}},
		{"negative generations", Space{Random: []Range{lr}}, Options{Method: Evolution, Objective: maximize, Generations: -1}, []string{"--generations -1"}},
		{"too many generations", Space{Random: []Range{lr}}, Options{Method: Evolution, Objective: maximize, Generations: 1 << 62, Population: 8},
			[]string{"more than 10000 trials"}},
		{"trials for evolution", Space{Random: []Range{lr}}, Options{Method: Evolution, Objective: maximize, Trials: 5}, []string{"--trials applies only"}},
		{"an unknown method", Space{Random: []Range{lr}}, Options{Method: "bayes"}, []string{`unknown search "bayes"`, "grid, random or evolution"}},
		{"an objective without a direction", Space{}, Options{Objective: &Objective{Metric: "acc"}}, []string{"neither max nor min"}},
		{"an objective without a metric", Space{}, Options{Objective: &Objective{Direction: Min}}, []string{"no metric name"}},
		{"an invalid space", Space{Fixed: []Param{{Name: "hops", Value: int64(1)}}}, Options{}, []string{"--param hops"}},
	} {
		_, err := New(tc.space, tc.opts)
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, w)
			}
		}
	}
}

func TestValidateRefusesNamesAndValuesTheTrialCannotUse(t *testing.T) {
	for _, tc := range []struct {
		name  string
		space Space
		want  string
	}{
		{"a name given twice", Space{Fixed: []Param{{Name: "lr", Value: 0.1}}, Random: []Range{lr}}, "--random lr: lr is already given by --param"},
		{"a name given twice in a grid", Space{Grid: []Dim{batch, batch}}, "already given by --grid"},
		{"a keyword", Space{Grid: []Dim{{Name: "lambda", Values: []any{1.0}}}}, `"lambda" is a Python keyword`},
		{"hops", Space{Random: []Range{{Name: "hops", Lo: 0, Hi: 1}}}, "hops module"},
		{"not an identifier", Space{Fixed: []Param{{Name: "learning rate", Value: 0.1}}}, "not a Python identifier"},
		{"an empty name", Space{Fixed: []Param{{Name: "", Value: 0.1}}}, "no parameter name"},
		{"a Go int", Space{Fixed: []Param{{Name: "n", Value: 3}}}, "has type int"},
		{"NaN", Space{Fixed: []Param{{Name: "n", Value: math.NaN()}}}, "not a finite number"},
		{"an empty grid", Space{Grid: []Dim{{Name: "x"}}}, "--grid x: no values"},
		{"a repeated grid value", Space{Grid: []Dim{{Name: "x", Values: []any{"a", "a"}}}}, "listed twice"},
		{"a float grid value", Space{Grid: []Dim{{Name: "x", Values: []any{float32(1)}}}}, "has type float32"},
		{"an empty range", Space{Random: []Range{{Name: "x", Lo: 1, Hi: 1}}}, "not below"},
		{"an infinite range", Space{Random: []Range{{Name: "x", Lo: 0, Hi: math.Inf(1)}}}, "not finite"},
		{"a log range through 0", Space{Random: []Range{{Name: "x", Lo: 0, Hi: 1, Log: true}}}, "above 0"},
		{"an int range with fractions", Space{Random: []Range{{Name: "x", Lo: 0.5, Hi: 2, Int: true}}}, "not whole numbers"},
	} {
		err := tc.space.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}

func TestNamesListsFixedThenGridThenRandom(t *testing.T) {
	s := Space{Random: []Range{lr}, Grid: []Dim{opt, batch}, Fixed: []Param{epoch}}
	if got, want := s.Names(), []string{"epochs", "opt", "batch", "lr"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
