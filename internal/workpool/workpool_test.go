package workpool

import (
	"context"
	"errors"
	"testing"

	"github.com/sgdlab/sgdlab/fault"
)

func TestRun(t *testing.T) {
	sum := 0
	err := Run(context.Background(), Range(10), 3, func(i int) (int, error) { return i * i, nil }, func(i,
		r int) error {
		sum += r
		return nil
	})
	if err != nil || sum != 285 {
		t.Fatalf("sum %d, err %v", sum, err)
	}
	boom := errors.New("boom")
	n := 0
	err = Run(context.Background(), Values([]int{0, 1, 2, 3, 4, 5}), 1, func(i int) (int, error) {
		if i == 3 {
			return 0, boom
		}
		return i, nil
	}, func(i, r int) error { n++; return nil })
	if !errors.Is(err, boom) || n != 3 {
		t.Fatalf("error %v after %d results, want boom after 3", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Each(ctx, 10, 2, func(i int) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

// A sequence far too long to materialise is consumed lazily: cancelling stops it.
func TestLazyIndices(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	seen := 0
	err := Run(ctx, Range(1<<62), 2, func(i int) (int, error) { return i, nil }, func(i, r int) error {
		if seen++; seen == 1000 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || seen < 1000 || seen > 1010 {
		t.Fatalf("err %v after %d jobs", err, seen)
	}
}

// A job that panics stops the pool with an error (the panic with its stack), never the
// process.
func TestPanicBecomesError(t *testing.T) {
	err := Each(context.Background(), 100, 4, func(i int) error {
		if i == 37 {
			var m map[int]int
			m[i] = 1
		}
		return nil
	})
	var p *fault.PanicError
	if !errors.As(err, &p) || len(p.Stack) == 0 {
		t.Fatalf("a panicking job: %v", err)
	}
}
