package gpu

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestAcquireGivesTheLowestFreeGPUs(t *testing.T) {
	a := NewAllocator(devices(8))
	ctx := t.Context()
	for _, step := range []struct {
		acquire int    // GPUs to acquire, or 0 to release
		release []int  // GPUs to release
		want    []int  // GPUs the acquire gets
		held    []int  // GPUs held afterwards
		holder  string // label of the acquire
	}{
		{acquire: 2, holder: "e/t00", want: []int{0, 1}, held: []int{0, 1}},
		{acquire: 3, holder: "e/t01", want: []int{2, 3, 4}, held: []int{0, 1, 2, 3, 4}},
		{release: []int{0, 3}, held: []int{1, 2, 4}},
		{acquire: 3, holder: "e/t02", want: []int{0, 3, 5}, held: []int{0, 1, 2, 3, 4, 5}},
		{acquire: 1, holder: "e/t03", want: []int{6}, held: []int{0, 1, 2, 3, 4, 5, 6}},
	} {
		if step.acquire > 0 {
			got, err := a.Acquire(ctx, step.acquire, step.holder)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, step.want) {
				t.Fatalf("%s got GPUs %v, want %v", step.holder, got, step.want)
			}
		} else {
			a.Release(step.release)
		}
		if held := heldIndices(a); !slices.Equal(held, step.held) {
			t.Fatalf("held %v, want %v", held, step.held)
		}
	}
}

func TestAcquireWaitsWhileNoneAreFreeAndProceedsAfterRelease(t *testing.T) {
	a := NewAllocator(devices(2))
	first := mustAcquire(t, a, 2, "e/t00")

	got := acquireAsync(a, t.Context(), 1, "e/t01")
	waitQueued(t, a, 1)
	select {
	case r := <-got:
		t.Fatalf("got %v while every GPU was held", r)
	case <-time.After(20 * time.Millisecond):
	}
	a.Release(first[1:])
	if r := <-got; r.err != nil || !slices.Equal(r.gpus, []int{1}) {
		t.Fatalf("after release got %v, want GPU 1", r)
	}
	if h := a.Holders(); h[0] != "e/t00" || h[1] != "e/t01" {
		t.Errorf("holders %v", h)
	}
}

func TestAcquireServesWaitersInArrivalOrder(t *testing.T) {
	a := NewAllocator(devices(4))
	small := mustAcquire(t, a, 3, "e/t00")

	big := acquireAsync(a, t.Context(), 4, "e/big")
	waitQueued(t, a, 1)
	// GPU 3 is free, but the big request came first: the later small one waits behind it.
	later := acquireAsync(a, t.Context(), 1, "e/later")
	waitQueued(t, a, 2)
	select {
	case r := <-later:
		t.Fatalf("later small request got %v before the earlier big one", r)
	case <-time.After(20 * time.Millisecond):
	}

	a.Release(small)
	r := <-big
	if r.err != nil || !slices.Equal(r.gpus, []int{0, 1, 2, 3}) {
		t.Fatalf("big request got %v, want every GPU", r)
	}
	waitQueued(t, a, 1)
	a.Release(r.gpus)
	if r := <-later; r.err != nil || !slices.Equal(r.gpus, []int{0}) {
		t.Fatalf("later request got %v, want GPU 0", r)
	}
}

func TestAcquireCancelledWhileWaitingHoldsNothing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration // 0: cancelled by the caller instead
		want    error
	}{
		{"cancelled", 0, context.Canceled},
		{"deadline passed", 300 * time.Millisecond, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAllocator(devices(2))
			mustAcquire(t, a, 1, "e/t00")

			ctx, cancel := context.WithCancel(t.Context())
			if tc.timeout > 0 {
				ctx, cancel = context.WithTimeout(t.Context(), tc.timeout)
			}
			defer cancel()
			big := acquireAsync(a, ctx, 2, "e/big")
			waitQueued(t, a, 1)
			// A small request behind the big one waits only as long as the big one is in line.
			small := acquireAsync(a, t.Context(), 1, "e/small")
			waitQueued(t, a, 2)
			if tc.timeout == 0 {
				cancel()
			}

			if r := <-big; !errors.Is(r.err, tc.want) || r.gpus != nil {
				t.Fatalf("cancelled request got %v, want %v", r, tc.want)
			}
			if r := <-small; r.err != nil || !slices.Equal(r.gpus, []int{1}) {
				t.Fatalf("request behind the cancelled one got %v, want GPU 1", r)
			}
			waitQueued(t, a, 0)
			for i, h := range a.Holders() {
				if h == "e/big" {
					t.Errorf("cancelled request holds GPU %d", i)
				}
			}
		})
	}
}

func TestAcquireWithAnEndedContextHoldsNothing(t *testing.T) {
	a := NewAllocator(devices(2))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if got, err := a.Acquire(ctx, 1, "e/t00"); !errors.Is(err, context.Canceled) || got != nil {
		t.Fatalf("got %v, %v, want context.Canceled", got, err)
	}
	if h := a.Holders(); len(h) != 0 {
		t.Errorf("holders %v, want none", h)
	}
}

func TestAcquireOfMoreGPUsThanTheHostHasFailsAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name    string
		total   int
		n       int
		noGPU   bool
		wantErr []string // all in the message; none means success
	}{
		{"more than the host has", 2, 3, false, []string{"3 GPUs", "this host has 2", "--gpus 2 or fewer"}},
		{"all of them", 2, 2, false, nil},
		{"none on a host without GPUs", 0, 0, false, nil},
		{"one on a host without GPUs", 0, 1, true, []string{"this host has no GPU", "--gpus 0", "NVIDIA GPUs"}},
		{"a negative count", 2, -1, false, []string{"-1", "--gpus 0 or more"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAllocator(devices(tc.total))
			if a.Total() != tc.total {
				t.Fatalf("Total() = %d, want %d", a.Total(), tc.total)
			}
			// Hold every GPU so that a request that waited instead of failing would hang until the deadline.
			held := mustAcquire(t, a, tc.total, "e/hog")
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			if tc.wantErr == nil {
				a.Release(held)
			}
			got, err := a.Acquire(ctx, tc.n, "e/t00")
			if tc.wantErr == nil {
				if err != nil || len(got) != tc.n {
					t.Fatalf("got %v, %v, want %d GPUs", got, err, tc.n)
				}
				return
			}
			if err == nil || errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("got %v, %v, want an error at once", got, err)
			}
			if errors.Is(err, ErrNoGPU) != tc.noGPU {
				t.Errorf("error %q: wraps ErrNoGPU %v, want %v", err, !tc.noGPU, tc.noGPU)
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			waitQueued(t, a, 0)
		})
	}
}

func TestHoldersReportsTheLabelOfEachHeldGPU(t *testing.T) {
	a := NewAllocator(devices(4))
	t0 := mustAcquire(t, a, 1, "20261125-103012-3f9a/t00")
	mustAcquire(t, a, 2, "20261125-103012-3f9a/t01")
	want := map[int]string{0: "20261125-103012-3f9a/t00", 1: "20261125-103012-3f9a/t01", 2: "20261125-103012-3f9a/t01"}
	h := a.Holders()
	if fmt.Sprint(h) != fmt.Sprint(want) {
		t.Fatalf("holders %v, want %v", h, want)
	}
	h[3] = "not held" // a copy: changing it changes nothing
	a.Release(t0)
	delete(want, 0)
	if h := a.Holders(); fmt.Sprint(h) != fmt.Sprint(want) {
		t.Fatalf("after release holders %v, want %v", h, want)
	}
}

func TestAllocatorUnderConcurrentAcquireAndRelease(t *testing.T) {
	const gpus, workers, rounds = 8, 32, 40
	a := NewAllocator(devices(gpus))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	var inUse [gpus]atomic.Bool
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for r := range rounds {
				holder := fmt.Sprintf("e/t%02d-%d", w, r)
				n := 1 + rng.IntN(gpus)
				actx, acancel := ctx, context.CancelFunc(func() {})
				if rng.IntN(4) == 0 { // some give up while waiting
					actx, acancel = context.WithTimeout(ctx, time.Duration(rng.IntN(200))*time.Microsecond)
				}
				got, err := a.Acquire(actx, n, holder)
				acancel()
				if err != nil {
					if ctx.Err() != nil {
						t.Errorf("worker %d stuck: %v", w, err)
						return
					}
					continue
				}
				if len(got) != n {
					t.Errorf("%s asked for %d GPUs, got %v", holder, n, got)
				}
				for _, i := range got {
					if !inUse[i].CompareAndSwap(false, true) {
						t.Errorf("%s got GPU %d, which someone else holds", holder, i)
					}
				}
				for i, h := range a.Holders() {
					if slices.Contains(got, i) && h != holder {
						t.Errorf("GPU %d held by %q, want %q", i, h, holder)
					}
				}
				for _, i := range got {
					inUse[i].Store(false)
				}
				a.Release(got)
			}
		})
	}
	wg.Wait()
	if h := a.Holders(); len(h) != 0 {
		t.Errorf("holders after every release: %v", h)
	}
	waitQueued(t, a, 0)
}

type acquired struct {
	gpus []int
	err  error
}

func (r acquired) String() string { return fmt.Sprintf("GPUs %v, error %v", r.gpus, r.err) }

// acquireAsync runs Acquire in a goroutine; the result arrives on the returned channel.
func acquireAsync(a *Allocator, ctx context.Context, n int, holder string) <-chan acquired {
	ch := make(chan acquired, 1)
	go func() {
		gpus, err := a.Acquire(ctx, n, holder)
		ch <- acquired{gpus, err}
	}()
	return ch
}

func mustAcquire(t *testing.T, a *Allocator, n int, holder string) []int {
	t.Helper()
	got, err := a.Acquire(t.Context(), n, holder)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// waitQueued waits until exactly n Acquire calls are waiting in line.
func waitQueued(t *testing.T, a *Allocator, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		a.mu.Lock()
		q := len(a.queue)
		a.mu.Unlock()
		if q == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests waiting, want %d", q, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func heldIndices(a *Allocator) []int {
	var out []int
	for i := range a.Holders() {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}

func devices(n int) []Device {
	out := make([]Device, n)
	for i := range out {
		out[i] = Device{Index: i, UUID: fmt.Sprintf("GPU-%d", i)}
	}
	return out
}
