package magics

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestTokenizeSplitsLikeAShell(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string
	}{
		{``, nil},
		{`   `, nil},
		{`version`, []string{"version"}},
		{`env --grep torch`, []string{"env", "--grep", "torch"}},
		{"  env \t --json \r\n", []string{"env", "--json"}},
		{`env --grep=torch`, []string{"env", "--grep=torch"}},
		{`a 'b c' d`, []string{"a", "b c", "d"}},
		{`a "b c" d`, []string{"a", "b c", "d"}},
		{`'single "keeps" double'`, []string{`single "keeps" double`}},
		{`"double 'keeps' single"`, []string{`double 'keeps' single`}},
		{`'back\slash is literal'`, []string{`back\slash is literal`}},
		{`"escaped \" quote"`, []string{`escaped " quote`}},
		{`"escaped \\ backslash"`, []string{`escaped \ backslash`}},
		{`escaped\ blank`, []string{"escaped blank"}},
		{`\'not a quote`, []string{"'not", "a", "quote"}},
		{`--grep=a\"b`, []string{`--grep=a"b`}},
		{`pre"fix 'n' suf"fix`, []string{"prefix 'n' suffix"}},
		{`'' ""`, []string{"", ""}},
		{`a''b`, []string{"ab"}},
		{`trailing\`, []string{`trailing\`}},
		{`\`, []string{`\`}},
		{`héllo wörld 日本`, []string{"héllo", "wörld", "日本"}},
	} {
		got, err := tokenize(tc.line)
		if err != nil {
			t.Errorf("tokenize(%q): %v", tc.line, err)
			continue
		}
		if !slices.Equal(got, tc.want) || len(got) != len(tc.want) {
			t.Errorf("tokenize(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestTokenizeRejectsAnUnterminatedQuote(t *testing.T) {
	for _, line := range []string{`'abc`, `"abc`, `env --grep "torch`, `a 'b c`, `"it's`, `'`, `"escaped at end\"`} {
		words, err := tokenize(line)
		var usage *UsageError
		if !errors.As(err, &usage) {
			t.Errorf("tokenize(%q) = %q, %v; want a *UsageError", line, words, err)
			continue
		}
		if !strings.Contains(usage.Msg, "unterminated") {
			t.Errorf("tokenize(%q) error %q does not say the quote is unterminated", line, usage.Msg)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"a", "", 1},
		{"", "abc", 3},
		{"env", "env", 0},
		{"kitten", "sitting", 3},
		{"flaw", "lawn", 2},
		{"verison", "version", 2},
		{"--grp", "--grep", 1},
		{"help", "hlep", 2},
		{"héllo", "hello", 1},
		{"日本語", "日本", 1},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := editDistance(tc.b, tc.a); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d (symmetric)", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestClosest(t *testing.T) {
	for _, tc := range []struct {
		word       string
		candidates []string
		want       string
	}{
		{"verison", []string{"env", "help", "version"}, "version"},
		{"hlep", []string{"env", "help", "version"}, "help"},
		{"en", []string{"env", "help", "version"}, "env"},
		{"--grp", []string{"--grep", "--json"}, "--grep"},
		{"--jsn", []string{"--grep", "--json"}, "--json"},
		{"x", []string{"ab", "cd"}, "ab"}, // a tie goes to the first candidate
		{"anything", nil, ""},
	} {
		if got := closest(tc.word, tc.candidates); got != tc.want {
			t.Errorf("closest(%q, %q) = %q, want %q", tc.word, tc.candidates, got, tc.want)
		}
	}
}
