package kernel

import (
	"reflect"
	"testing"
)

func TestIsHopsLine(t *testing.T) {
	for _, tc := range []struct {
		line string
		want bool
	}{
		{"%hops", true},
		{"%hops version", true},
		{"%hops\tenv", true},
		{"%hops\r", true},
		{"%%hops", true},
		{"%%hops env", true},
		{"%hopsfoo", false},
		{"%hops_version", false},
		{"%%hopsfoo", false},
		{"  %hops version", false},
		{"\t%hops version", false},
		{"%hop version", false},
		{"%matplotlib inline", false},
		{"# %hops version", false},
		{"print('%hops')", false},
		{"", false},
	} {
		if got := isHopsLine(tc.line); got != tc.want {
			t.Errorf("isHopsLine(%q) = %v, want %v", tc.line, got, tc.want)
		}
	}
}

func TestHasHops(t *testing.T) {
	for _, tc := range []struct {
		name string
		code string
		want bool
	}{
		{"empty cell", "", false},
		{"python only", "x = 1\nprint(x)", false},
		{"%hops line alone", "%hops version", true},
		{"%hops line among python", "x = 1\n%hops env\nprint(x)", true},
		{"%hops as the last line", "x = 1\n%hops version", true},
		{"%%hops cell magic", "%%hops version\n", true},
		{"%hops inside a string", "s = '%hops version'", false},
		{"%hops in a comment", "# %hops version", false},
		{"%hopsfoo is another magic", "%hopsfoo\nx = 1", false},
		{"indented %hops", "if True:\n  %hops version", false},
		{"other line magic", "%matplotlib inline\nx = 1", false},
		{"other cell magic", "%%time\nx = 1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := hasHops(tc.code); got != tc.want {
				t.Errorf("hasHops(%q) = %v, want %v", tc.code, got, tc.want)
			}
		})
	}
}

func TestSplitCell(t *testing.T) {
	py := func(code string) segment { return segment{code: code} }
	line := func(code string) segment { return segment{hops: true, code: code} }
	cell := func(code, body string) segment { return segment{hops: true, cell: true, code: code, body: body} }
	for _, tc := range []struct {
		name string
		code string
		want []segment
	}{
		{"python only", "import numpy as np\nx = np.zeros(3)\nprint(x)",
			[]segment{py("import numpy as np\nx = np.zeros(3)\nprint(x)")}},
		{"%hops line only", "%hops version", []segment{line("version")}},
		{"%hops line with trailing blanks", "%hops env --grep torch  \t\r", []segment{line("env --grep torch")}},
		{"bare %hops", "%hops", []segment{line("")}},
		{"python, %hops, python in order", "x = 1\n%hops env --json\ny = 2\nprint(x + y)",
			[]segment{py("x = 1"), line("env --json"), py("y = 2\nprint(x + y)")}},
		{"consecutive %hops lines", "%hops version\n%hops env", []segment{line("version"), line("env")}},
		{"blank lines between %hops lines are dropped", "%hops version\n\n  \n%hops env",
			[]segment{line("version"), line("env")}},
		{"%%hops cell magic with body", "%%hops env --grep torch\nline one\nline two",
			[]segment{cell("env --grep torch", "line one\nline two")}},
		{"%%hops cell magic without body", "%%hops version", []segment{cell("version", "")}},
		{"%%hops body keeps %hops lines", "%%hops help\n%hops version\nx = 1",
			[]segment{cell("help", "%hops version\nx = 1")}},
		{"blank lines before %%hops", "\n   \n\t\n%%hops version\nbody",
			[]segment{cell("version", "body")}},
		{"%hopsfoo is not a hops line", "%hopsfoo bar\nx = 1", []segment{py("%hopsfoo bar\nx = 1")}},
		{"%%hopsfoo is not a hops cell", "%%hopsfoo\nx = 1", []segment{py("%%hopsfoo\nx = 1")}},
		{"indented %hops is not a hops line", "if x:\n  %hops version\n", []segment{py("if x:\n  %hops version\n")}},
		{"backslash continuation joins lines", "%hops env \\\n--grep torch\nprint(1)",
			[]segment{line("env  --grep torch"), py("print(1)")}},
		{"continuation over three lines", "%hops env\\\n--grep\\\ntorch", []segment{line("env --grep torch")}},
		{"continuation with trailing blanks after the backslash", "%hops env\\  \n--json", []segment{line("env --json")}},
		{"%%hops below the first line is a misplaced cell magic", "x = 1\n%%hops version\ny = 2",
			[]segment{py("x = 1"), {hops: true, misplaced: true, code: "%%hops version"}, py("y = 2")}},
		{"empty cell", "", nil},
		{"blank cell", "\n  \n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := splitCell(tc.code)
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("splitCell(%q)\n got %+v\nwant %+v", tc.code, got, tc.want)
			}
		})
	}
}

func TestHistoryComment(t *testing.T) {
	for _, tc := range []struct {
		language, code string
		want           string
		ok             bool
	}{
		{"python", "%hops version", "# %hops version", true},
		{"python", "x = 1\n%hops env\nprint(x)", "# x = 1\n# %hops env\n# print(x)", true},
		{"Python", "%hops version", "# %hops version", true},
		{"python", "", "# ", true},
		{"R", "%hops env", "# %hops env", true},
		{"javascript", "%hops env", "// %hops env", true},
		{"brainfuck", "%hops env", "", false},
		{"", "%hops env", "", false},
	} {
		got, ok := historyComment(tc.language, tc.code)
		if got != tc.want || ok != tc.ok {
			t.Errorf("historyComment(%q, %q) = %q, %v; want %q, %v", tc.language, tc.code, got, ok, tc.want, tc.ok)
		}
	}
}
