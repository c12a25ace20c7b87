// Package workpool runs indexed jobs of an ensemble on a fixed number of goroutines and
// hands each finished result, one at a time, to a collector: the parallel loop shared by the
// escape ensembles, the stationary chains and the experiments. Which goroutine ran a job
// never matters, because each job depends on its index alone.
package workpool

import (
	"context"
	"sync"
)

// Run calls job(i) for every index on up to workers goroutines. done(i, result) is called,
// serialised, as each job finishes without error (a nil done discards results). The first
// error from job or done stops further jobs from starting and is returned once the
// running jobs end; otherwise Run returns ctx.Err(). A job that returns an error has its
// result dropped.
func Run[T any](ctx context.Context, indices []int, workers int, job func(i int) (T, error), done func(i int, r T) error) error {
	workers = max(1, min(workers, len(indices)))
	var mu sync.Mutex
	var firstErr error
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				mu.Lock()
				stop := firstErr != nil
				mu.Unlock()
				if stop {
					continue // drain: no job starts after an error
				}
				r, err := job(i)
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
feed:
	for _, i := range indices {
		mu.Lock()
		stop := firstErr != nil
		mu.Unlock()
		if stop {
			break
		}
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}
