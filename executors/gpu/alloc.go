package gpu

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// ErrNoGPU means a trial asked for GPUs on a host that has none.
var ErrNoGPU = errors.New("this host has no GPU")

// Allocator hands out whole GPUs by index. Waiters are served strictly in arrival order, so a request
// for many GPUs is not starved by later small ones. It is safe for concurrent use.
type Allocator struct {
	indices []int // every GPU index of the host, ascending

	mu      sync.Mutex
	holders map[int]string // held GPU index -> holder label
	queue   []*waiter      // blocked Acquire calls, oldest first
}

// waiter is one blocked Acquire call. got is set and ready closed, under the allocator's lock, when
// its GPUs are granted.
type waiter struct {
	n      int
	holder string
	got    []int
	ready  chan struct{}
}

// NewAllocator returns an allocator over the given devices (by Device.Index), all free.
func NewAllocator(devices []Device) *Allocator {
	a := &Allocator{holders: map[int]string{}}
	for _, d := range devices {
		if !slices.Contains(a.indices, d.Index) {
			a.indices = append(a.indices, d.Index)
		}
	}
	slices.Sort(a.indices)
	return a
}

// Total is the number of GPUs the allocator hands out.
func (a *Allocator) Total() int { return len(a.indices) }

// Acquire blocks until n whole GPUs are free and gives them to holder (a label such as
// "20261125-103012-3f9a/t03"), returning their indices, lowest free first. Requests are served in
// the order they arrive. If ctx ends first it returns ctx.Err() and holds nothing. n == 0 returns nil
// at once; n greater than the number of GPUs on the host fails at once (wrapping ErrNoGPU when the host
// has none).
func (a *Allocator) Acquire(ctx context.Context, n int, holder string) ([]int, error) {
	switch total := len(a.indices); {
	case n < 0:
		return nil, fmt.Errorf("cannot allocate %d GPUs: ask for --gpus 0 or more", n)
	case n == 0:
		return nil, nil
	case total == 0:
		return nil, fmt.Errorf("%w (asked for %d): use --gpus 0 or run on a host with NVIDIA GPUs", ErrNoGPU, n)
	case n > total:
		return nil, fmt.Errorf("asked for %d GPUs but this host has %d: ask for --gpus %d or fewer", n, total, total)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w := &waiter{n: n, holder: holder, ready: make(chan struct{})}
	a.mu.Lock()
	a.queue = append(a.queue, w)
	a.grantLocked()
	a.mu.Unlock()

	select {
	case <-w.ready:
		return w.got, nil
	case <-ctx.Done():
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if w.got != nil {
		// Granted while ctx ended: give the GPUs back, the caller no longer wants them.
		a.freeLocked(w.got)
	} else {
		a.queue = slices.DeleteFunc(a.queue, func(q *waiter) bool { return q == w })
	}
	// Either change may let the waiters behind this one proceed.
	a.grantLocked()
	return nil, ctx.Err()
}

// Release frees GPUs returned by Acquire and wakes the waiters that now fit, in order. Indices not
// held are ignored.
func (a *Allocator) Release(indices []int) {
	if len(indices) == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.freeLocked(indices)
	a.grantLocked()
}

// Holders maps each held GPU index to its holder.
func (a *Allocator) Holders() map[int]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[int]string, len(a.holders))
	for i, h := range a.holders {
		out[i] = h
	}
	return out
}

func (a *Allocator) freeLocked(indices []int) {
	for _, i := range indices {
		delete(a.holders, i)
	}
}

// grantLocked serves waiters from the head of the queue while the head fits; it stops at the first
// one that does not, so that nobody overtakes it.
func (a *Allocator) grantLocked() {
	for len(a.queue) > 0 {
		w := a.queue[0]
		if len(a.indices)-len(a.holders) < w.n {
			return
		}
		got := make([]int, 0, w.n)
		for _, i := range a.indices {
			if len(got) == w.n {
				break
			}
			if _, held := a.holders[i]; !held {
				got = append(got, i)
				a.holders[i] = w.holder
			}
		}
		w.got = got
		close(w.ready)
		a.queue[0] = nil
		a.queue = a.queue[1:]
	}
}
