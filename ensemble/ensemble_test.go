package ensemble

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/sgdlab/sgdlab/store"
)

type item struct {
	I int     `json:"i"`
	V float64 `json:"v"`
}

func job(calls *atomic.Int64) func(i int) (item, error) {
	return func(i int) (item, error) {
		calls.Add(1)
		return item{i, float64(i) * 1.5}, nil
	}
}

// Results are ordered by index, independent of the worker count; a rerun with the store
// reads everything back and computes nothing; a larger ensemble computes only the new runs.
func TestRunResumeAndExtend(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "e.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	spec := Spec{Kind: "test", Label: "t", Key: map[string]int{"a": 1}, Seed: 3, Size: 50}
	var calls atomic.Int64
	out, s, err := Run(context.Background(), Env{Store: st, Workers: 3}, spec, job(&calls))
	if err != nil || len(out) != 50 || s.Computed != 50 || s.Stored != 0 {
		t.Fatalf("%d items, %+v, %v", len(out), s, err)
	}
	for i, it := range out {
		if it.I != i {
			t.Fatalf("item %d has index %d", i, it.I)
		}
	}
	again, s, _ := Run(context.Background(), Env{Store: st, Workers: 1}, spec, job(&calls))
	if s.Computed != 0 || s.Stored != 50 || calls.Load() != 50 || !slices.Equal(again, out) {
		t.Fatalf("rerun computed %d (%+v)", calls.Load()-50, s)
	}
	spec.Size = 60
	more, s, _ := Run(context.Background(), Env{Store: st, Workers: 2}, spec, job(&calls))
	if len(more) != 60 || s.Computed != 10 || s.Stored != 50 {
		t.Fatalf("extending: %d items, %+v", len(more), s)
	}
	one, computed, err := Once(context.Background(), Env{Store: st}, Spec{Kind: "once", Key: 1}, func() (item,
		error) {
		return item{7, 7}, nil
	})
	if err != nil || !computed || one.I != 7 {
		t.Fatal(one, computed, err)
	}
	if _, computed, _ = Once(context.Background(), Env{Store: st}, Spec{Kind: "once", Key: 1}, func() (item,
		error) {
		return item{}, errors.New("recomputed")
	}); computed {
		t.Fatal("Once recomputed a stored result")
	}
}

// Shards partition the indices; a shard of a huge ensemble is never materialised.
func TestShards(t *testing.T) {
	seen := map[int]int{}
	for i := 0; i < 4; i++ {
		sh := Shard{i, 4}
		n := 0
		for j := range sh.Indices(103) {
			seen[j]++
			n++
			if !sh.Contains(j) {
				t.Fatalf("shard %v yields %d", sh, j)
			}
		}
		if int64(n) != sh.Count(103) {
			t.Fatalf("shard %v: %d indices, Count %d", sh, n, sh.Count(103))
		}
	}
	for j := 0; j < 103; j++ {
		if seen[j] != 1 {
			t.Fatalf("index %d seen %d times", j, seen[j])
		}
	}
	if (Shard{2, 3}).Count(1e15) != 333333333333333 {
		t.Fatal("Count of a huge ensemble")
	}
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int64
	_, _, err := Run(ctx, Env{Workers: 2}, Spec{Size: 1 << 50}, func(i int) (item, error) {
		if n.Add(1) == 100 {
			cancel()
		}
		return item{i, 0}, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled huge ensemble: %v", err)
	}
	for _, bad := range []string{"4/4", "x", "1/0", "-1/2", "1/"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if s, err := ParseShard("1/4"); err != nil || s != (Shard{1, 4}) {
		t.Fatal(s, err)
	}
}
