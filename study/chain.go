package study

import (
	"context"
	"fmt"
	"math"

	"github.com/sgdlab/sgdlab/chain"
	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/escape"
	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/landscape"
	"github.com/sgdlab/sgdlab/sde"
	"github.com/sgdlab/sgdlab/theory"
)

// ChainSpec describes an exact-chain computation: SGD with replacement on a model with one or
// two parameters, from its minimum to an exit (docs/theory.md, "Discrete time").
type ChainSpec struct {
	Problem
	Eta   float64
	Batch int
	Exit  string // loss:c=..., ball:r=..., well[:r=...], surface
	// Grid is the number of intervals per dimension (0: the chain package's default);
	// Batches and Sets the Monte Carlo batches and independent batch sets when Batch > 1.
	Grid, Batches, Sets int
	// Margin widens the grid's box of well and surface exits beyond the two minima (or the
	// minimum and the saddle) by this fraction of their distance on every side (0: 0.5).
	Margin    float64
	Seed      uint64
	Start, To []float64           // the minimum and the other minimum (nil: searched)
	Minimum   *landscape.Prepared `json:"-"`
	Barrier   *landscape.Barrier  `json:"-"`
}

// ChainDensity is the quasi-stationary density at one grid node beside the paper's law
// L^-phi normalised over the same region.
type ChainDensity struct {
	Theta        []float64
	Chain, Paper float64
}

// ChainRecord is the exact chain's answer for every level of an exit, with the decoupled SDE
// and Kramers-type predictions for the same exit.
type ChainRecord struct {
	Model       string          `json:"model"`
	Data        string          `json:"data"`
	Eta         float64         `json:"eta"`
	Batch       int             `json:"batch"`
	Exit        string          `json:"exit"`
	Seed        uint64          `json:"seed"`
	LStar       float64         `json:"L_star"`
	HStar       float64         `json:"h_star"`
	Phi         float64         `json:"phi_predicted"`
	Levels      []*chain.Result `json:"levels"`
	Predictions []Prediction    `json:"predictions"`
	// Density is the quasi-stationary law of the largest level's region.
	Density     []ChainDensity    `json:"-"`
	Conventions map[string]string `json:"conventions"`
	Notes       []string          `json:"notes,omitempty"`
}

// LeaveBoxTolerance is the probability of leaving the box above which a box chosen
// automatically is widened, up to a margin of MaxMargin.
const (
	LeaveBoxTolerance = 1e-3
	MaxMargin         = 4
)

// DefaultMargin is the box margin of well and surface exits, as a fraction of the distance
// between the two points the box holds.
const DefaultMargin = 0.5

// EpochNote says why the chain is SGD with replacement.
const EpochNote = "the chain is SGD with replacement: with epoch sampling (without replacement) theta alone is not " +
	"a Markov chain (the next batch depends on the epoch so far), so its laws are not computed here; " +
	"`sgdlab escape --sampling epoch` measures them by simulation"

// Chain solves the exact chain for every level of the exit.
func Chain(ctx context.Context, env Env, spec ChainSpec) (*ChainRecord, error) {
	o, err := spec.Problem.Build(ctx, env)
	if err != nil {
		return nil, err
	}
	ex, err := escape.ParseExit(spec.Exit)
	if err != nil {
		return nil, fault.Field("exit", err)
	}
	cs := chain.Spec{Obj: o, Eta: spec.Eta, Batch: spec.Batch, Batches: spec.Batches, Sets: spec.Sets,
		Seed: spec.Seed, Grid: spec.Grid, Workers: env.Ens.Workers, MaxBytes: env.MaxMemory}
	if err := cs.Check(); err != nil {
		return nil, err
	}
	if ex.Kind == "basin" {
		return nil, fault.Field("exit", fault.Invalid("the exact chain takes the exits loss:c=..., ball:r=..., "+
			"well[:r=...] and surface; basin needs a descent from every grid point"))
	}
	p, fac, err := dynamicsAt(ctx, env, o, Dynamics{Kind: "sgd", Eta: spec.Eta, Batch: spec.Batch,
		Sampling: "replacement"}, spec.Minimum, spec.Start, spec.Seed)
	if err != nil {
		return nil, err
	}
	m := p.Min
	rec := &ChainRecord{Model: o.Model.Spec(), Data: o.Data.Spec, Eta: spec.Eta, Batch: spec.Batch, Exit: ex.String(),
		Seed: spec.Seed, LStar: m.Loss, HStar: p.HStar, Phi: theory.Phi(spec.Batch, spec.Eta, p.HStar),
		Conventions: chainConventions(), Notes: []string{EpochNote}}
	br := spec.Barrier
	if (ex.Kind == "well" || ex.Kind == "surface") && br == nil {
		var notes []string
		if br, notes, err = barrierFrom(ctx, env, o, o.NewWorker(2, 0), m.Theta, spec.To, spec.Seed); err != nil {
			return nil, err
		}
		rec.Notes = append(rec.Notes, notes...)
	}
	var note string
	if rec.Predictions, note = predictEscape(p, fac, ex, br, spec.Eta, spec.Batch, o.P()); note != "" {
		rec.Notes = append(rec.Notes, note)
	}
	solve := func() error { return solveChain(ctx, env, spec, cs, ex, p, fac, br, rec) }
	if env.Ens.Store == nil {
		return rec, solve()
	}
	// Stored (the solution is deterministic): a rerun on the same store solves nothing.
	key := keyOf("chain", o)
	key.Exit, key.Start = rec.Exit, m.Theta
	var bd string
	if br != nil {
		bd = digest(append(append([]float64(nil), br.MinB.Theta...), br.Saddle.Theta...))
	}
	key.Extra = struct {
		Spec    ChainSpec `json:"spec"`
		Barrier string    `json:"barrier"`
		Version int       `json:"chain_version"`
	}{spec, bd, chain.Version}
	stored, err := Memo(ctx, env, ensemble.Spec{Kind: "chain", Label: label("chain", rec.Model, rec.Data, rec.Exit),
		Key: key, Seed: spec.Seed}, func() (*storedChain, error) {
		if err := solve(); err != nil {
			return nil, err
		}
		return &storedChain{Record: rec, Density: rec.Density}, nil
	})
	if err != nil {
		return rec, err // what was solved before the error
	}
	stored.Record.Density = stored.Density
	return stored.Record, nil
}

// storedChain is what the run store keeps of a chain computation (the density is not part
// of the record's JSON output).
type storedChain struct {
	Record  *ChainRecord   `json:"record"`
	Density []ChainDensity `json:"density"`
}

// solveChain solves the chain for every region of the exit into rec.
func solveChain(ctx context.Context, env Env, spec ChainSpec, cs chain.Spec, ex escape.ExitSpec, p *landscape.Prepared,
	fac *sde.Factory, br *landscape.Barrier, rec *ChainRecord) error {
	m := p.Min
	margin := spec.Margin
	if margin == 0 {
		margin = DefaultMargin
	}
	if !(margin > 0) || margin > 100 {
		return fault.Field("margin", fault.Invalid("margin = %v must be in (0, 100]", margin))
	}
	region := func(margin float64) []chain.Region {
		switch ex.Kind {
		case "well":
			return []chain.Region{chain.WellRegion(m.Theta, br.MinB.Theta, ex.R*dist(br.MinB.Theta, br.Saddle.Theta),
				margin)}
		case "surface":
			return []chain.Region{chain.SurfaceRegion(m.Theta, br.Saddle.Theta, br.Saddle.NegVec, margin)}
		}
		return nil
	}
	regions := region(margin)
	switch ex.Kind {
	case "loss":
		for _, c := range ex.C {
			r, err := chain.LossRegion(fac.NewLandscape, m.Theta, m.Loss, c, 1e6*(1+norm2(m.Theta)))
			if err != nil {
				return fault.Field("exit", err)
			}
			regions = append(regions, r)
		}
	case "ball":
		regions = append(regions, chain.BallRegion(m.Theta, ex.R))
	}
	for i, r := range regions {
		env.stage("exact chain: %s (%d of %d)", r.Name, i+1, len(regions))
		res, err := chain.Solve(ctx, cs, m.Theta, r)
		if err != nil {
			return err
		}
		// Without a given margin, a box that the chain leaves (more than LeaveBoxTolerance
		// of the probability) is widened, twice as wide each time, up to MaxMargin.
		for spec.Margin == 0 && res.LeaveBox > LeaveBoxTolerance && margin < MaxMargin && ex.Kind != "loss" &&
			ex.Kind != "ball" {
			margin *= 2
			env.stage("exact chain: widening the box to a margin of %g", margin)
			wider, err := chain.Solve(ctx, cs, m.Theta, region(margin)[0])
			if err != nil {
				return err
			}
			rec.Notes = append(rec.Notes, fmt.Sprintf("%.2g of the probability left the box with margin %g: widened "+
				"to %g", res.LeaveBox, margin/2, margin))
			res = wider
		}
		rec.Levels = append(rec.Levels, res)
		if i == len(regions)-1 {
			rec.Density = paperDensity(fac.NewLandscape(), res.Density, rec.Phi)
		}
	}
	return nil
}

// paperDensity sets the paper's law L^-phi, normalised over the nodes like the chain's
// density, beside the chain's density.
func paperDensity(land interface {
	LossGrad(theta, grad []float64) float64
}, dens []chain.DensityPoint, phi float64) []ChainDensity {
	out := make([]ChainDensity, len(dens))
	logs := make([]float64, len(dens))
	mx, chainSum := math.Inf(-1), 0.0
	for i, d := range dens {
		logs[i] = -phi * math.Log(land.LossGrad(d.Theta, nil))
		mx = math.Max(mx, logs[i])
		chainSum += d.Density
	}
	paperSum := 0.0
	for i := range logs {
		paperSum += math.Exp(logs[i] - mx)
	}
	for i, d := range dens {
		out[i] = ChainDensity{Theta: d.Theta, Chain: d.Density, Paper: math.Exp(logs[i]-mx) / paperSum * chainSum}
	}
	return out
}

func chainConventions() map[string]string {
	return map[string]string{
		"mfpt": "mean first-passage time from the minimum, in t = eta * steps and in steps",
		"rate": "-log(lambda)/eta per unit t, lambda the principal eigenvalue of the sub-stochastic " +
			"transition",
		"rate_per_step": "1 - lambda: the exact escape probability per step in the quasi-stationary law",
		"grid":          "Nystrom discretisation with (bi)linear interpolation; mfpt_half_grid on half the intervals",
		"density": "quasi-stationary law of the largest level's region; the paper's L^-phi normalised on the " +
			"same nodes",
		"batches": "B = 1: exact average over the N samples; B > 1: Monte Carlo over M batches, mfpt_mc_se " +
			"from independent sets",
	}
}

func norm2(v []float64) float64 { return math.Sqrt(dot(v, v)) }

func dist(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += (a[i] - b[i]) * (a[i] - b[i])
	}
	return math.Sqrt(s)
}
