// Package ensemble runs escape and stationary ensembles against the run store: each
// trajectory is recorded as it finishes, trajectories already stored are not recomputed
// (resume), and a shard i/n runs only the trajectories with index = i mod n. Because run i
// depends only on (seed, i), merged shards equal an unsharded run record for record.
package ensemble

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/sgdlab/sgdlab/escape"
	"github.com/sgdlab/sgdlab/sde"
	"github.com/sgdlab/sgdlab/stationary"
	"github.com/sgdlab/sgdlab/store"
)

// Env says where results go and which part of each ensemble to run.
type Env struct {
	Store   *store.Store // nil: nothing is recorded
	Shard   store.Shard
	Version string
	Workers int
}

// Format is part of every run key; it changes whenever a stored trajectory's result would
// change for the same parameters and seed (new algorithms, new recorded fields), so that
// stores never mix old and new records.
const Format = 3

// begin opens the store record of a run and decodes the trajectories already stored.
func begin[T any](env Env, kind, label string, params any, seedVal uint64) (*store.Run, map[int]T, error) {
	if env.Store == nil {
		return nil, map[int]T{}, nil
	}
	keyed := struct {
		Format int `json:"format"`
		Params any `json:"params"`
	}{Format, params}
	r, err := env.Store.Begin(store.RunSpec{Kind: kind, Label: label, Params: keyed, Seed: seedVal, Version: env.Version})
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
			return nil, nil, fmt.Errorf("store %s: trajectory %d of %q is unreadable: %w", env.Store.Path(), i, label, err)
		}
		done[i] = v
	}
	return r, done, nil
}

// Escape runs (or resumes) an escape ensemble of opt.Runs trajectories and returns the
// trajectories of this shard, ordered by index. params must identify everything that
// determines a trajectory except the seed (model, data, dynamics, exit, budget).
func Escape(ctx context.Context, env Env, label string, params any, fac *sde.Factory, spec escape.ExitSpec, ec escape.Context, start []float64, opt escape.Options) ([]escape.Run, error) {
	rec, done, err := begin[escape.Run](env, "escape", label, params, opt.Seed)
	if err != nil {
		return nil, err
	}
	opt.Indices = env.Shard.Indices(opt.Runs)
	opt.Skip = map[int]bool{}
	for i := range done {
		opt.Skip[i] = true
	}
	if env.Workers > 0 {
		opt.Workers = env.Workers
	}
	if rec != nil {
		opt.OnRun = func(r escape.Run) error { return env.Store.Put(rec, r.Index, r) }
	}
	fresh, err := escape.Simulate(ctx, fac, spec, ec, start, opt)
	var all []escape.Run
	for _, i := range opt.Indices {
		if r, ok := done[i]; ok {
			all = append(all, r)
		}
	}
	all = append(all, fresh...)
	sort.Slice(all, func(a, b int) bool { return all[a].Index < all[b].Index })
	return all, err
}

// Stationary runs (or resumes) a set of stationary chains and returns this shard's chains.
func Stationary(ctx context.Context, env Env, label string, params any, fac *sde.Factory, start []float64, opt stationary.Options) ([]stationary.Chain, error) {
	rec, done, err := begin[stationary.Chain](env, "stationary", label, params, opt.Seed)
	if err != nil {
		return nil, err
	}
	opt.Indices = env.Shard.Indices(opt.Chains)
	opt.Skip = map[int]bool{}
	for i := range done {
		opt.Skip[i] = true
	}
	if env.Workers > 0 {
		opt.Workers = env.Workers
	}
	if rec != nil {
		opt.OnChain = func(c stationary.Chain) error { return env.Store.Put(rec, c.Index, c) }
	}
	fresh, err := stationary.RunChains(ctx, fac, start, opt)
	var all []stationary.Chain
	for _, i := range opt.Indices {
		if c, ok := done[i]; ok {
			all = append(all, c)
		}
	}
	all = append(all, fresh...)
	sort.Slice(all, func(a, b int) bool { return all[a].Index < all[b].Index })
	return all, err
}
