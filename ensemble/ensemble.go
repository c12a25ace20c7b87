// Package ensemble runs resumable ensembles of independent trajectories: escape runs,
// stationary chains, and single measurements that are worth keeping. It owns everything
// but the trajectory itself: which indices this shard runs, which are already in the run
// store (resume: they are read, not recomputed), the parallel workers, recording each
// trajectory as it finishes, progress, and the BLAS threading inside the workers. Because
// trajectory i depends on (seed, i) alone, merged shards equal an unsharded run record for
// record, whatever the number of workers.
package ensemble

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/internal/workpool"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/store"
)

// Format is part of every run key; it changes whenever a stored trajectory's result would
// change for the same parameters and seed (new algorithms, new recorded fields), so that
// stores never mix old and new records.
const Format = 4

// Shard is part I of N of an ensemble: the trajectories with index mod N == I.
type Shard struct{ I, N int }

// All is the unsharded ensemble.
var All = Shard{0, 1}

// ParseShard parses "i/n" (0 <= i < n); the empty string is the whole ensemble.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return All, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return All, fault.Invalid("shard %q: expected i/n with 0 <= i < n, e.g. 0/4", s)
	}
	return Shard{i, n}, nil
}

func (s Shard) n() int64 { return int64(max(s.N, 1)) }

// Count is the number of this shard's trajectories among total.
func (s Shard) Count(total int64) int64 {
	if total <= int64(s.I) {
		return 0
	}
	return (total-int64(s.I)-1)/s.n() + 1
}

// Indices yields this shard's trajectory indices among 0..total-1 in increasing order,
// without materialising them.
func (s Shard) Indices(total int64) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := int64(s.I); i < total; i += s.n() {
			if !yield(int(i)) {
				return
			}
		}
	}
}

// Contains reports whether trajectory i belongs to this shard.
func (s Shard) Contains(i int) bool { return int64(i)%s.n() == int64(s.I) }

// String formats the shard as i/n.
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.I, max(s.N, 1)) }

// Env says where results go and which part of each ensemble to run.
type Env struct {
	Store   *store.Store // nil: nothing is recorded
	Shard   Shard
	Version string // code version recorded with each run
	Workers int    // parallel trajectories (<= 0: one)
	// Progress, if set, is called (serialised) with the trajectories of this shard done so
	// far, stored ones included, and their total.
	Progress func(done, total int64)
}

// Spec identifies an ensemble: its kind ("escape", "stationary", ...), a label for people,
// the key (everything that determines a trajectory except the seed and the ensemble's
// size, so that a larger ensemble extends the same record) and the master seed.
type Spec struct {
	Kind  string
	Label string
	Key   any
	Seed  uint64
	Size  int64 // trajectories in the whole ensemble (all shards)
}

// Stats says where a shard's trajectories came from.
type Stats struct {
	Stored   int `json:"from_store"` // read from the store
	Computed int `json:"computed"`   // computed in this call
}

type indexed[T any] struct {
	i int
	v T
}

// Run runs (or resumes) this shard's part of the ensemble, calling job(i) for every index
// not yet in the store, and returns the shard's trajectories ordered by index. On error or
// cancellation it returns the trajectories that finished (all of them recorded) with the
// error; a job that fails or is cut short contributes nothing.
func Run[T any](ctx context.Context, env Env, spec Spec, job func(i int) (T, error)) ([]T, Stats, error) {
	rec, done, err := begin[T](env, spec)
	if err != nil {
		return nil, Stats{}, err
	}
	var (
		mu  sync.Mutex
		all []indexed[T]
		st  Stats
	)
	for i, v := range done {
		if env.Shard.Contains(i) && int64(i) < spec.Size {
			all = append(all, indexed[T]{i, v})
		}
	}
	st.Stored = len(all)
	total := env.Shard.Count(spec.Size)
	todo := func(yield func(int) bool) {
		for i := range env.Shard.Indices(spec.Size) {
			if _, ok := done[i]; !ok && !yield(i) {
				return
			}
		}
	}
	workers := max(env.Workers, 1)
	if workers > 1 {
		// The workers are the parallelism: BLAS inside them runs single-threaded.
		defer model.SingleThreadedBLAS()()
	}
	if env.Progress != nil {
		env.Progress(int64(len(all)), total)
	}
	err = workpool.Run(ctx, todo, workers, job, func(i int, v T) error {
		if ctx.Err() != nil {
			return ctx.Err() // a trajectory that raced with cancellation is not kept
		}
		if rec != nil {
			if err := env.Store.Put(rec, i, v); err != nil {
				return err
			}
		}
		mu.Lock()
		all = append(all, indexed[T]{i, v})
		st.Computed++
		n := len(all)
		mu.Unlock()
		if env.Progress != nil {
			env.Progress(int64(n), total)
		}
		return nil
	})
	sort.Slice(all, func(a, b int) bool { return all[a].i < all[b].i })
	out := make([]T, len(all))
	for k, it := range all {
		out[k] = it.v
	}
	return out, st, err
}

// Once returns the single result of spec from the store, or computes and records it: for
// measurements worth keeping that are not ensembles (a training run's noise track, a
// spectrum). The bool reports whether it was computed now.
func Once[T any](ctx context.Context, env Env, spec Spec, compute func() (T, error)) (T, bool, error) {
	spec.Size = 1
	env.Shard, env.Workers, env.Progress = All, 1, nil
	out, st, err := Run(ctx, env, spec, func(int) (T, error) { return compute() })
	var zero T
	if err != nil || len(out) == 0 {
		if err == nil {
			err = ctx.Err()
		}
		return zero, false, err
	}
	return out[0], st.Computed == 1, nil
}

// begin opens the store record of an ensemble and decodes the trajectories already stored.
func begin[T any](env Env, spec Spec) (*store.Run, map[int]T, error) {
	if env.Store == nil {
		return nil, map[int]T{}, nil
	}
	keyed := struct {
		Format int `json:"format"`
		Params any `json:"params"`
	}{Format, spec.Key}
	r, err := env.Store.Begin(store.RunSpec{Kind: spec.Kind, Label: spec.Label, Params: keyed, Seed: spec.Seed,
		Version: env.Version, Arith: model.Arithmetic()})
	if err != nil {
		return nil, nil, err
	}
	raw, err := env.Store.Trajectories(r)
	if err != nil {
		return nil, nil, err
	}
	done := make(map[int]T, len(raw))
	for i, b := range raw {
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, nil, fault.Invalid("store %s: trajectory %d of run %d (%s) is unreadable (%v): delete the "+
				"run or use another store", env.Store.Path(), i, r.ID, spec.Label, err)
		}
		done[i] = v
	}
	return r, done, nil
}
