// Package workpool runs indexed jobs on a fixed number of goroutines and hands each finished
// result, one at a time, to a collector: the parallel loop under the ensembles (escape runs,
// stationary chains) and the experiments' independent configurations. Which goroutine ran a
// job never matters, because each job depends on its index alone.
package workpool

import (
	"context"
	"iter"
	"slices"
	"sync"

	"github.com/sgdlab/sgdlab/fault"
)

// Run calls job(i) for every index of indices on up to workers goroutines; the indices are
// read one at a time, so a long sequence is never materialised. done(i, result) is called,
// serialised, as each job finishes without error (a nil done discards results). The first
// error from job or done stops further jobs from starting and is returned once the running
// jobs end; otherwise Run returns ctx.Err().
func Run[T any](ctx context.Context, indices iter.Seq[int], workers int, job func(i int) (T, error), done func(i int,
	r T) error) error {
	workers = max(1, workers)
	var mu sync.Mutex
	var firstErr error
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return firstErr != nil
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if failed() {
					continue // drain: no job starts after an error
				}
				r, err := guarded(job, i)
				mu.Lock()
				if err == nil && done != nil {
					err = done(i, r)
				}
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for i := range indices {
		if failed() {
			break
		}
		select {
		case next <- i:
			continue
		case <-ctx.Done():
		}
		break
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// Each runs fn(0), ..., fn(n-1) on up to workers goroutines and returns the first error.
func Each(ctx context.Context, n, workers int, fn func(i int) error) error {
	return Run(ctx, Range(n), workers, func(i int) (struct{}, error) { return struct{}{}, fn(i) }, nil)
}

// Range is the sequence 0, 1, ..., n-1.
func Range(n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := 0; i < n; i++ {
			if !yield(i) {
				return
			}
		}
	}
}

// Values is the sequence of the given indices.
func Values(idx []int) iter.Seq[int] { return slices.Values(idx) }

// guarded runs job(i), turning a panic into a *fault.PanicError (a worker goroutine must not
// take the process down with a stack trace: the caller reports the error).
func guarded[T any](job func(i int) (T, error), i int) (r T, err error) {
	defer fault.Catch(&err)
	return job(i)
}
