package search

import (
	"encoding/json"
	"math"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

func TestParamsJSONKeepsFloatsFloatAndIntsInt(t *testing.T) {
	p := Params{"lr": 1.0, "batch": int64(3), "opt": "adam", "bn": true, "tiny": 1e-5, "huge": 1e16, "neg": -2.5}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"batch":3,"bn":true,"huge":1e+16,"lr":1.0,"neg":-2.5,"opt":"adam","tiny":1e-05}`
	if string(b) != want {
		t.Fatalf("marshal: %s, want %s", b, want)
	}
	var back Params
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, p) {
		t.Fatalf("round trip: %#v, want %#v", back, p)
	}
}

func TestParamsJSONWritesFloatsAsPythonReprDoes(t *testing.T) {
	for f, want := range map[float64]string{
		0:                    "0.0",
		math.Copysign(0, -1): "-0.0",
		1:                    "1.0",
		0.1:                  "0.1",
		0.0001:               "0.0001",
		0.00009:              "9e-05",
		123456789:            "123456789.0",
		1e15:                 "1000000000000000.0",
		1e16:                 "1e+16",
		1.5e300:              "1.5e+300",
		-3e-7:                "-3e-07",
		1.0 / 3:              "0.3333333333333333",
	} {
		if got := formatFloat(f); got != want {
			t.Errorf("formatFloat(%v) = %s, want %s", f, got, want)
		}
	}
}

func TestPythonReadsMarshalledParamsWithTheirTypes(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed to read the JSON as Python does")
	}
	b, err := json.Marshal(Params{"f": 1.0, "i": int64(3), "e": 1e16, "b": false, "s": "x"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python, "-c",
		"import json,sys; d=json.loads(sys.argv[1]); print(' '.join(k+':'+type(d[k]).__name__ for k in sorted(d)))",
		string(b)).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "b:bool e:float f:float i:int s:str"; got != want {
		t.Fatalf("python saw %s, want %s", got, want)
	}
}

func TestParamsUnmarshalTellsIntsFromFloatsByHowTheyAreWritten(t *testing.T) {
	var p Params
	if err := json.Unmarshal([]byte(`{"a":3,"b":3.0,"c":3e0,"d":-1E2,"e":123456789012345678901}`), &p); err != nil {
		t.Fatal(err)
	}
	want := Params{"a": int64(3), "b": 3.0, "c": 3.0, "d": -100.0, "e": 123456789012345678901.0}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("got %#v, want %#v", p, want)
	}
}

func TestParamsUnmarshalOfNullLeavesParamsAlone(t *testing.T) {
	p := Params{"a": int64(1)}
	if err := json.Unmarshal([]byte(`null`), &p); err != nil || p["a"] != int64(1) {
		t.Fatalf("got %#v, %v", p, err)
	}
}

func TestParamsUnmarshalRefusesWhatIsNotAValue(t *testing.T) {
	for _, in := range []string{`{"a":[1]}`, `{"a":{"b":1}}`, `{"a":null}`, `{"a":1e999}`, `[1]`, `{"a":`} {
		var p Params
		if err := json.Unmarshal([]byte(in), &p); err == nil {
			t.Errorf("%s: accepted as %#v", in, p)
		}
	}
}

func TestParamsMarshalRefusesWhatJSONCannotCarry(t *testing.T) {
	for _, p := range []Params{{"x": math.NaN()}, {"x": math.Inf(1)}, {"x": 3}, {"x": []int{1}}} {
		if b, err := json.Marshal(p); err == nil {
			t.Errorf("%#v: marshalled as %s", p, b)
		}
	}
}

func TestParamsMarshalOfNilIsAnEmptyObject(t *testing.T) {
	b, err := json.Marshal(Params(nil))
	if err != nil || string(b) != "{}" {
		t.Fatalf("got %s, %v", b, err)
	}
}

func TestLabelFollowsTheOrderGivenAndQuotesOnlyAmbiguousStrings(t *testing.T) {
	p := Params{"lr": 0.01, "batch": int64(32), "opt": "adam", "bn": true, "note": "a, b", "tag": "", "extra": 1.0, "aux": "x"}
	got := p.Label([]string{"lr", "batch", "opt", "bn", "note", "tag", "missing"})
	want := `lr=0.01, batch=32, opt=adam, bn=True, note="a, b", tag="", aux=x, extra=1.0`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := (Params{}).Label(nil); got != "" {
		t.Fatalf("empty params labelled %q", got)
	}
}
