package search

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseValueReadsWhatTheUserMeans(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want any
	}{
		{"32", int64(32)},
		{"-7", int64(-7)},
		{"0.01", 0.01},
		{"1e-3", 0.001},
		{"1E3", 1000.0},
		{"1.0", 1.0},
		{".5", 0.5},
		{"true", true},
		{"True", true},
		{"false", false},
		{"False", false},
		{"adam", "adam"},
		{"TRUE", "TRUE"},
		{`"32"`, "32"},
		{"'adam'", "adam"},
		{"''", ""},
		{"'a, b'", "a, b"},
		{"inf", "inf"},
		{"nan", "nan"},
		{"0x10", "0x10"},
		{"1e999", "1e999"},
		{"99999999999999999999", 1e20},
		{"'unbalanced", "'unbalanced"},
	} {
		got := ParseValue(tc.in)
		if got != tc.want {
			t.Errorf("ParseValue(%q) = %#v (%T), want %#v (%T)", tc.in, got, got, tc.want, tc.want)
		}
	}
}

func TestParseParamReadsNameAndValue(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Param
	}{
		{"batch=32", Param{"batch", int64(32)}},
		{"lr=0.01", Param{"lr", 0.01}},
		{"opt=adam", Param{"opt", "adam"}},
		{"expr=a=b", Param{"expr", "a=b"}},
		{"layers=64,64", Param{"layers", "64,64"}},
		{"empty=''", Param{"empty", ""}},
		{"_x2=true", Param{"_x2", true}},
		{"größe=3", Param{"größe", int64(3)}},
	} {
		got, err := ParseParam(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseParam(%q) = %#v, %v; want %#v", tc.in, got, err, tc.want)
		}
	}
}

// refuses checks that parse refuses each input with a message holding every wanted fragment.
func refuses(t *testing.T, parse func(string) error, cases map[string][]string) {
	t.Helper()
	for in, wants := range cases {
		err := parse(in)
		if err == nil {
			t.Errorf("%q: accepted, want an error", in)
			continue
		}
		for _, w := range wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q does not say %q", in, err, w)
			}
		}
	}
}

func TestParseParamRefusesMalformedInput(t *testing.T) {
	refuses(t, func(s string) error { _, err := ParseParam(s); return err }, map[string][]string{
		"batch":    {"batch: no '='", "e.g. batch=32"},
		"=32":      {"no parameter name"},
		"batch=":   {`no value after "batch="`, "batch=''"},
		"batch=  ": {"no value"},
		"1x=3":     {`"1x" is not a Python identifier`},
		"a-b=3":    {"not a Python identifier"},
		"for=3":    {`"for" is a Python keyword`, "for_"},
		"hops=3":   {"taken by the hops module"},
	})
}

func TestParseGridReadsValuesInOrder(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Dim
	}{
		{"lr=0.001,0.01,0.1", Dim{"lr", []any{0.001, 0.01, 0.1}}},
		{"batch=32", Dim{"batch", []any{int64(32)}}},
		{"opt=adam, sgd", Dim{"opt", []any{"adam", "sgd"}}},
		{"mixed=1,1.0,true,x", Dim{"mixed", []any{int64(1), 1.0, true, "x"}}},
		{"opt='a,b',c", Dim{"opt", []any{"a,b", "c"}}},
		{`opt="x, y", ''`, Dim{"opt", []any{"x, y", ""}}},
		{"who=don't,won't", Dim{"who", []any{"don't", "won't"}}},
		{"path=../data,../more", Dim{"path", []any{"../data", "../more"}}},
		{"path=../data", Dim{"path", []any{"../data"}}},
		{"seed=0..3", Dim{"seed", []any{int64(0), int64(1), int64(2), int64(3)}}},
		{"seed=-1..1", Dim{"seed", []any{int64(-1), int64(0), int64(1)}}},
		{"seed=5..5", Dim{"seed", []any{int64(5)}}},
		{"units=0..10..4", Dim{"units", []any{int64(0), int64(4), int64(8)}}},
		{"units=0..8..4", Dim{"units", []any{int64(0), int64(4), int64(8)}}},
		{"big=9223372036854775806..9223372036854775807", Dim{"big", []any{int64(9223372036854775806), int64(9223372036854775807)}}},
		{"far=-9223372036854775808..9223372036854775807..4611686018427387904",
			Dim{"far", []any{int64(-9223372036854775808), int64(-4611686018427387904), int64(0), int64(4611686018427387904)}}},
	} {
		got, err := ParseGrid(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseGrid(%q) = %#v, %v; want %#v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseGridRefusesAnEmptyValueList(t *testing.T) {
	_, err := ParseGrid("lr=")
	want := `lr=: no values after "lr=": give comma-separated values, e.g. --grid lr=0.001,0.01`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

func TestParseGridRefusesMalformedInput(t *testing.T) {
	refuses(t, func(s string) error { _, err := ParseGrid(s); return err }, map[string][]string{
		"lr":           {"no '='", "lr=0.001,0.01"},
		"=1,2":         {"no parameter name"},
		"lr= ":         {"no values"},
		"x=1,,2":       {`empty item in "1,,2"`, "remove the extra comma"},
		"x=1,2,":       {"empty item"},
		"x=,1":         {"empty item"},
		"x=1,1":        {"value 1 is listed twice"},
		"x='a,b":       {"not closed"},
		"x=0..":        {`"0.." is not an integer range`},
		"x=0..1.5":     {"not an integer range"},
		"x=0..10..":    {"not an integer range"},
		"x=0..10..0":   {"step 0", "not positive"},
		"x=0..10..-2":  {"not positive"},
		"x=0..1..2..3": {"not an integer range"},
		"x=10..0":      {"runs backwards", "0..10"},
		"x=0..10000":   {"more than 10000 values"},
		"x=-9223372036854775808..9223372036854775807": {"more than 10000 values"},
		"class=1,2": {"Python keyword"},
	})
}

func TestParseRandomReadsBoundsAndScale(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Range
	}{
		{"lr=0.0001:0.1", Range{Name: "lr", Lo: 0.0001, Hi: 0.1}},
		{"lr=1e-4:1e-1:log", Range{Name: "lr", Lo: 0.0001, Hi: 0.1, Log: true}},
		{"lr=0.0001:0.1:LOG", Range{Name: "lr", Lo: 0.0001, Hi: 0.1, Log: true}},
		{"batch=16:512", Range{Name: "batch", Lo: 16, Hi: 512, Int: true}},
		{"batch=16:512:log", Range{Name: "batch", Lo: 16, Hi: 512, Log: true, Int: true}},
		{"x=0:1.0", Range{Name: "x", Lo: 0, Hi: 1}},
		{"x=-5:5", Range{Name: "x", Lo: -5, Hi: 5, Int: true}},
	} {
		got, err := ParseRandom(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseRandom(%q) = %#v, %v; want %#v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseRandomRefusesMalformedInput(t *testing.T) {
	refuses(t, func(s string) error { _, err := ParseRandom(s); return err }, map[string][]string{
		"lr":              {"no '='"},
		"lr=":             {`"" is not lo:hi`},
		"lr=0.1":          {"not lo:hi"},
		"lr=1:2:3:4":      {"not lo:hi"},
		"lr=1:2:linear":   {`unknown scale "linear"`},
		"lr=a:1":          {`lower bound "a" is not a number`},
		"lr=0:":           {`upper bound "" is not a number`},
		"lr=0:inf":        {"upper bound", "not a number"},
		"lr=1:1":          {"lower bound 1 is not below upper bound 1"},
		"lr=0.1:0.01":     {"not below"},
		"lr=0:0.1:log":    {"log range needs a lower bound above 0"},
		"lr=-1:0.1:log":   {"above 0"},
		"if=0:1":          {"Python keyword"},
		"hops=0:1":        {"hops module"},
		" =0:1":           {"no parameter name"},
		"lr='0.1':'0.2'":  {"not a number"},
		"batch=1:2:log:x": {"not lo:hi"},
	})
}

func TestParseObjectiveReadsMetricAndDirection(t *testing.T) {
	for in, want := range map[string]Objective{
		"accuracy:max":   {"accuracy", Max},
		"loss:min":       {"loss", Min},
		"accuracy":       {"accuracy", Max},
		" loss : MIN ":   {"loss", Min},
		"val/acc:max":    {"val/acc", Max},
		"val_loss:Min":   {"val_loss", Min},
		"accuracy:max  ": {"accuracy", Max},
	} {
		got, err := ParseObjective(in)
		if err != nil || got != want {
			t.Errorf("ParseObjective(%q) = %#v, %v; want %#v", in, got, err, want)
		}
	}
}

func TestParseObjectiveRefusesMalformedInput(t *testing.T) {
	refuses(t, func(s string) error { _, err := ParseObjective(s); return err }, map[string][]string{
		"":                 {"no metric name", "accuracy:max"},
		":max":             {"no metric name"},
		"accuracy:":        {`direction "" is neither max nor min`, "accuracy:max"},
		"accuracy:maximum": {`direction "maximum"`},
	})
}

func FuzzParseGrid(f *testing.F) {
	for _, s := range []string{"lr=0.001,0.01", "x=0..63", "x=0..10..2", "opt='a,b',c", "x=1,,2", "lr=", "x=10..0",
		`s="x, y",''`, "x=-9223372036854775808..9223372036854775807..3", "x='", "é=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseGrid(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), s+": ") {
				t.Fatalf("error %q does not begin with the input %q", err, s)
			}
			return
		}
		if err := checkName(d.Name); err != nil {
			t.Fatalf("accepted a bad name %q: %v", d.Name, err)
		}
		if len(d.Values) == 0 || len(d.Values) > maxTrials {
			t.Fatalf("%d values", len(d.Values))
		}
		if err := d.check(); err != nil {
			t.Fatalf("accepted a dimension its own check refuses: %v", err)
		}
		if err := (Space{Grid: []Dim{d}}).Validate(); err != nil {
			t.Fatalf("accepted a dimension Validate refuses: %v", err)
		}
	})
}
