package nbdiff

import (
	"slices"
	"sort"
	"strings"
)

// cellView is a cell with what matching needs computed once.
type cellView struct {
	*cell
	lines   []string // source lines
	content string   // cell type and source: cells with equal content are the same cell
	// signature is the sorted non-blank source lines, trimmed, for measuring similarity.
	signature []string
}

func viewCells(cells []cell) []cellView {
	views := make([]cellView, len(cells))
	for i := range cells {
		c := &cells[i]
		lines := splitLines(string(c.Source))
		var signature []string
		for _, l := range lines {
			if t := strings.TrimSpace(l); t != "" {
				signature = append(signature, t)
			}
		}
		slices.Sort(signature)
		views[i] = cellView{cell: c, lines: lines, content: c.CellType + "\x00" + string(c.Source), signature: signature}
	}
	return views
}

// maxSimilarityPairs bounds the similarity comparisons between the unmatched cells of one stretch
// (between two cells matched in order); past it, those cells are shown as removed and added.
const maxSimilarityPairs = 1 << 16

// matchCells pairs old cells with new ones and returns, for each old cell, the index of its new
// cell or -1. Pairs are found in rounds, each among the cells still unpaired: by cell id, then by
// equal content, then by similar source.
func matchCells(a, b []cellView) []int {
	m := matching{newOf: make([]int, len(a)), oldOf: make([]int, len(b))}
	for i := range m.newOf {
		m.newOf[i] = -1
	}
	for j := range m.oldOf {
		m.oldOf[j] = -1
	}
	m.pairByID(a, b)
	m.pairByContent(a, b)
	m.pairBySimilarity(a, b)
	return m.newOf
}

// matching is the pairing of old cells (a) with new cells (b) found so far; -1 is unpaired.
type matching struct {
	newOf []int // newOf[i]: the new cell paired with old cell i
	oldOf []int // oldOf[j]: the old cell paired with new cell j
}

func (m *matching) pair(i, j int) { m.newOf[i], m.oldOf[j] = j, i }

// pairByID pairs cells by id, where both sides have one; ids are meant to be unique, and of a
// duplicated id only the first cell counts.
func (m *matching) pairByID(a, b []cellView) {
	byID := map[string]int{}
	for j := range b {
		if id := b[j].ID; id != "" {
			if _, seen := byID[id]; !seen {
				byID[id] = j
			}
		}
	}
	for i := range a {
		if j, ok := byID[a[i].ID]; ok && a[i].ID != "" && m.oldOf[j] < 0 {
			m.pair(i, j)
		}
	}
}

// pairByContent pairs unpaired cells of equal content: first in order (a longest common
// subsequence), then out of order, which is a cell moved. Blank cells are only paired in order:
// they are alike without being the same cell.
func (m *matching) pairByContent(a, b []cellView) {
	restA, restB := unpaired(m.newOf), unpaired(m.oldOf)
	contentIDs := map[string]int{}
	contentID := func(c *cellView) int {
		id, ok := contentIDs[c.content]
		if !ok {
			id = len(contentIDs)
			contentIDs[c.content] = id
		}
		return id
	}
	idsA, idsB := make([]int, len(restA)), make([]int, len(restB))
	for k, i := range restA {
		idsA[k] = contentID(&a[i])
	}
	for k, j := range restB {
		idsB[k] = contentID(&b[j])
	}
	ka, kb := 0, 0
	for _, e := range diffSeq(idsA, idsB) {
		switch e {
		case editKeep:
			m.pair(restA[ka], restB[kb])
			ka, kb = ka+1, kb+1
		case editDelete:
			ka++
		case editInsert:
			kb++
		}
	}
	movedFrom := map[string][]int{} // content -> unpaired old cells with it, in order
	for _, i := range restA {
		if m.newOf[i] < 0 && len(a[i].signature) > 0 {
			movedFrom[a[i].content] = append(movedFrom[a[i].content], i)
		}
	}
	for _, j := range restB {
		if from := movedFrom[b[j].content]; m.oldOf[j] < 0 && len(from) > 0 {
			m.pair(from[0], j)
			movedFrom[b[j].content] = from[1:]
		}
	}
}

// pairBySimilarity pairs unpaired cells with similar sources, in order, within each stretch
// between two pairs that are in order: those are cells edited in place.
func (m *matching) pairBySimilarity(a, b []cellView) {
	inOrder := pairsInOrder(m.newOf)
	prevI, prevJ := -1, -1
	for i := 0; i <= len(a); i++ {
		if i < len(a) && !inOrder[i] {
			continue
		}
		j := len(b) // past the last pair in order, the stretch runs to the ends
		if i < len(a) {
			j = m.newOf[i]
		}
		var gapA, gapB []int
		for k := prevI + 1; k < i; k++ {
			if m.newOf[k] < 0 {
				gapA = append(gapA, k)
			}
		}
		for k := prevJ + 1; k < j; k++ {
			if m.oldOf[k] < 0 {
				gapB = append(gapB, k)
			}
		}
		pairSimilar(a, b, gapA, gapB, m.pair)
		prevI, prevJ = i, j
	}
}

func unpaired(otherOf []int) []int {
	var rest []int
	for i, other := range otherOf {
		if other < 0 {
			rest = append(rest, i)
		}
	}
	return rest
}

// pairsInOrder marks the paired old cells whose new positions form a longest increasing
// subsequence: the cells that stayed in place while the others moved around them.
func pairsInOrder(newOf []int) []bool {
	inOrder := make([]bool, len(newOf))
	var tails []int // tails[l]: the old index ending the best increasing run of length l+1 found so far
	prev := make([]int, len(newOf))
	for i, j := range newOf {
		if j < 0 {
			continue
		}
		l := sort.Search(len(tails), func(t int) bool { return newOf[tails[t]] >= j })
		prev[i] = -1
		if l > 0 {
			prev[i] = tails[l-1]
		}
		if l == len(tails) {
			tails = append(tails, i)
		} else {
			tails[l] = i
		}
	}
	if len(tails) > 0 {
		for i := tails[len(tails)-1]; i >= 0; i = prev[i] {
			inOrder[i] = true
		}
	}
	return inOrder
}

// pairSimilar pairs similar cells of one stretch of unpaired old cells (gapA) and new cells (gapB),
// keeping their order and maximizing the total similarity. Of equally good pairings it takes the
// earliest cells, so a cell split in two is paired with its first part.
func pairSimilar(a, b []cellView, gapA, gapB []int, pair func(i, j int)) {
	n, m := len(gapA), len(gapB)
	if n == 0 || m == 0 || n*m > maxSimilarityPairs {
		return
	}
	// best[i*(m+1)+j]: the best total similarity of gapA[:i] and gapB[:j].
	best := make([]int32, (n+1)*(m+1))
	at := func(i, j int) *int32 { return &best[i*(m+1)+j] }
	for i := 1; i <= n; i++ {
		for j := 1; j <= m; j++ {
			score := max(*at(i-1, j), *at(i, j-1))
			if s := similarity(&a[gapA[i-1]], &b[gapB[j-1]]); s > 0 {
				score = max(score, *at(i-1, j-1)+s)
			}
			*at(i, j) = score
		}
	}
	for i, j := n, m; i > 0 && j > 0; {
		switch *at(i, j) {
		case *at(i, j-1):
			j--
		case *at(i-1, j):
			i--
		default:
			pair(gapA[i-1], gapB[j-1])
			i, j = i-1, j-1
		}
	}
}

// similarity scores how alike two sources are, from 500 (half their non-blank lines in common) to
// 1000 (all); 0 is not alike. One-line sources are compared by characters instead: their common
// prefix and suffix must be at least half the longer line.
func similarity(a, b *cellView) int32 {
	na, nb := len(a.signature), len(b.signature)
	common := 0
	for i, j := 0, 0; i < na && j < nb; {
		switch strings.Compare(a.signature[i], b.signature[j]) {
		case 0:
			common, i, j = common+1, i+1, j+1
		case -1:
			i++
		default:
			j++
		}
	}
	if common > 0 && 4*common >= na+nb {
		return int32(1000 * 2 * common / (na + nb))
	}
	if na == 1 && nb == 1 {
		la, lb := a.signature[0], b.signature[0]
		shorter, longer := min(len(la), len(lb)), max(len(la), len(lb))
		same := 0
		for same < shorter && la[same] == lb[same] {
			same++
		}
		for k := 1; same < shorter && la[len(la)-k] == lb[len(lb)-k]; k++ {
			same++
		}
		if 2*same >= longer {
			return int32(1000 * same / longer)
		}
	}
	return 0
}
