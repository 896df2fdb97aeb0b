package nbdiff

import "slices"

// diffCells matches the cells of two notebooks and diffs each, in display order: the new
// notebook's cells, with each removed cell after the cell that preceded it in the old notebook
// and stayed in place (or first, when none did).
func diffCells(oldCells, newCells []cell, opt Options) []CellDiff {
	a, b := viewCells(oldCells), viewCells(newCells)
	newOf := matchCells(a, b)
	inOrder := pairsInOrder(newOf)
	oldOf := make([]int, len(b))
	for j := range oldOf {
		oldOf[j] = -1
	}
	removedAfter := make([][]int, len(b)+1) // removedAfter[j+1]: removed cells shown after new cell j
	shownAfter := -1
	for i, j := range newOf {
		if j < 0 {
			removedAfter[shownAfter+1] = append(removedAfter[shownAfter+1], i)
			continue
		}
		oldOf[j] = i
		if inOrder[i] {
			shownAfter = j
		}
	}

	diffs := make([]CellDiff, 0, len(a)+len(b))
	for _, i := range removedAfter[0] {
		diffs = append(diffs, wholeCell(Removed, i, &a[i], opt))
	}
	for j := range b {
		if i := oldOf[j]; i < 0 {
			diffs = append(diffs, wholeCell(Added, j, &b[j], opt))
		} else {
			diffs = append(diffs, diffCellPair(i, j, &a[i], &b[j], !inOrder[i], opt))
		}
		for _, i := range removedAfter[j+1] {
			diffs = append(diffs, wholeCell(Removed, i, &a[i], opt))
		}
	}
	return diffs
}

// wholeCell is an added or removed cell, every line inserted or deleted.
func wholeCell(status Status, index int, c *cellView, opt Options) CellDiff {
	d := CellDiff{Status: status, ID: c.ID, CellType: c.CellType}
	if status == Added {
		d.NewIndex = new(index)
		d.Source.Lines = diffLines(nil, c.lines)
	} else {
		d.OldIndex = new(index)
		d.Source.Lines = diffLines(c.lines, nil)
	}
	if !opt.IgnoreOutputs {
		d.Outputs = wholeOutputs(status, c.Outputs)
	}
	return d
}

// diffCellPair diffs an old cell and the new cell it was matched with.
func diffCellPair(i, j int, a, b *cellView, moved bool, opt Options) CellDiff {
	d := CellDiff{
		Moved:    moved,
		OldIndex: new(i),
		NewIndex: new(j),
		ID:       b.ID,
		CellType: b.CellType,
		Source:   SourceDiff{Lines: diffLines(a.lines, b.lines)},
		Metadata: diffMetadata(a.Metadata, b.Metadata),
	}
	if d.ID == "" {
		d.ID = a.ID
	}
	if a.CellType != b.CellType {
		d.OldCellType = a.CellType
	}
	if !opt.IgnoreExecutionCounts && !equalCounts(a.ExecutionCount, b.ExecutionCount) {
		d.ExecutionCount = &ExecutionCountChange{Old: a.ExecutionCount, New: b.ExecutionCount}
	}
	outputsChanged := false
	if !opt.IgnoreOutputs && (len(a.Outputs) > 0 || len(b.Outputs) > 0) {
		d.Outputs, outputsChanged = diffOutputs(a.Outputs, b.Outputs)
	}
	d.Status = Unchanged
	if d.OldCellType != "" || !slices.Equal(a.lines, b.lines) || d.ExecutionCount != nil ||
		len(d.Metadata) > 0 || outputsChanged {
		d.Status = Modified
	}
	return d
}

func equalCounts(a, b *int) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}
