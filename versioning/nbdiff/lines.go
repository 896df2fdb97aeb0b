package nbdiff

import "strings"

// edit is one step of an edit script turning a sequence a into b.
type edit uint8

const (
	editKeep   edit = iota // a[i] == b[j]; advance both
	editDelete             // a[i] is gone; advance a
	editInsert             // b[j] is new; advance b
)

// Myers' algorithm costs about (len(a)+len(b)) * D steps and D² memory for D edits, so the search
// gives up once D passes whichever bound is lower and reports the rest as replaced: a pathological
// pair (two unrelated 100 000-line outputs) costs milliseconds instead of seconds.
const (
	maxEdits   = 1000
	editBudget = 10_000_000
)

// diffSeq returns a shortest edit script from a to b (or, past the cost bounds, a longer one that
// deletes and reinserts the differing middle). Within each run of changes the deletions come
// first, the way a reader expects a replaced block to look.
func diffSeq[T comparable](a, b []T) []edit {
	prefix := 0
	for prefix < len(a) && prefix < len(b) && a[prefix] == b[prefix] {
		prefix++
	}
	suffix := 0
	for suffix < len(a)-prefix && suffix < len(b)-prefix && a[len(a)-1-suffix] == b[len(b)-1-suffix] {
		suffix++
	}
	script := make([]edit, 0, len(a)+len(b)-prefix-suffix)
	for range prefix {
		script = append(script, editKeep)
	}
	script = appendMiddle(script, a[prefix:len(a)-suffix], b[prefix:len(b)-suffix])
	for range suffix {
		script = append(script, editKeep)
	}
	return script
}

// appendMiddle appends the edit script of a and b, which differ at both ends.
func appendMiddle[T comparable](script []edit, a, b []T) []edit {
	n, m := len(a), len(b)
	limit := min(n+m, maxEdits)
	if n+m > 0 {
		limit = min(limit, max(1, editBudget/(n+m)))
	}
	middle := myers(a, b, limit)
	if middle == nil {
		middle = make([]edit, 0, n+m)
		for range n {
			middle = append(middle, editDelete)
		}
		for range m {
			middle = append(middle, editInsert)
		}
	}
	return append(script, deletionsFirst(middle)...)
}

// myers is the greedy forward search of "An O(ND) Difference Algorithm" (Myers, 1986), keeping
// each round's furthest-reaching x per diagonal so the path can be traced back. It returns nil when
// a and b need more than maxD edits.
func myers[T comparable](a, b []T, maxD int) []edit {
	n, m := len(a), len(b)
	offset := maxD + 1
	v := make([]int32, 2*maxD+3) // v[offset+k]: furthest x reached on diagonal k = x - y
	var rounds [][]int32         // rounds[d][k+d]: v after round d, for k in [-d, d]
	for d := 0; d <= maxD; d++ {
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[offset+k-1] < v[offset+k+1]) {
				x = int(v[offset+k+1]) // down from diagonal k+1: an insertion
			} else {
				x = int(v[offset+k-1]) + 1 // right from diagonal k-1: a deletion
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x, y = x+1, y+1
			}
			v[offset+k] = int32(x)
			if x >= n && y >= m {
				rounds = append(rounds, v[offset-d:offset+d+1])
				return traceBack(rounds, n, m)
			}
		}
		rounds = append(rounds, append([]int32(nil), v[offset-d:offset+d+1]...))
	}
	return nil
}

// traceBack walks the rounds of myers backwards from (n, m) to (0, 0) and returns the path in order.
func traceBack(rounds [][]int32, n, m int) []edit {
	script := make([]edit, 0, n+m)
	x, y := n, m
	for d := len(rounds) - 1; d > 0; d-- {
		prev := rounds[d-1]
		at := func(k int) int { return int(prev[k+d-1]) }
		k := x - y
		var prevK int
		if k == -d || (k != d && at(k-1) < at(k+1)) {
			prevK = k + 1
		} else {
			prevK = k - 1
		}
		prevX := at(prevK)
		prevY := prevX - prevK
		for x > prevX && y > prevY {
			script = append(script, editKeep)
			x, y = x-1, y-1
		}
		if x == prevX {
			script = append(script, editInsert)
		} else {
			script = append(script, editDelete)
		}
		x, y = prevX, prevY
	}
	for ; x > 0; x-- {
		script = append(script, editKeep)
	}
	for i, j := 0, len(script)-1; i < j; i, j = i+1, j-1 {
		script[i], script[j] = script[j], script[i]
	}
	return script
}

// deletionsFirst reorders each run of changes so its deletions precede its insertions; the run
// still consumes the same elements of each side in the same order, so the script stays valid.
func deletionsFirst(script []edit) []edit {
	for start := 0; start < len(script); {
		if script[start] == editKeep {
			start++
			continue
		}
		end, deletions := start, 0
		for ; end < len(script) && script[end] != editKeep; end++ {
			if script[end] == editDelete {
				deletions++
			}
		}
		for i := start; i < end; i++ {
			if i < start+deletions {
				script[i] = editDelete
			} else {
				script[i] = editInsert
			}
		}
		start = end
	}
	return script
}

// splitLines splits text into lines without their newlines; a final newline ends the last line
// rather than starting an empty one.
func splitLines(text string) []string {
	if text == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n")
}

// diffLines is the line diff of two texts already split into lines.
func diffLines(a, b []string) []Line {
	lines := make([]Line, 0, max(len(a), len(b)))
	i, j := 0, 0
	for _, e := range diffSeq(a, b) {
		switch e {
		case editKeep:
			lines = append(lines, Line{Op: Equal, Old: i + 1, New: j + 1, Text: a[i]})
			i, j = i+1, j+1
		case editDelete:
			lines = append(lines, Line{Op: Delete, Old: i + 1, Text: a[i]})
			i++
		case editInsert:
			lines = append(lines, Line{Op: Insert, New: j + 1, Text: b[j]})
			j++
		}
	}
	return lines
}
