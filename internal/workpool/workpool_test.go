package workpool

import (
	"context"
	"errors"
	"testing"
)

func TestRun(t *testing.T) {
	idx := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	sum := 0
	err := Run(context.Background(), idx, 3, func(i int) (int, error) { return i * i, nil }, func(i, r int) error { sum += r; return nil })
	if err != nil || sum != 285 {
		t.Fatalf("sum %d, err %v", sum, err)
	}
	boom := errors.New("boom")
	n := 0
	err = Run(context.Background(), idx, 1, func(i int) (int, error) {
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
	if err := Run(ctx, idx, 2, func(i int) (int, error) { return i, nil }, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}
