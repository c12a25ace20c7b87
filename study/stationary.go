package study

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/internal/memory"
	"github.com/sgdlab/sgdlab/landscape"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/sde"
	"github.com/sgdlab/sgdlab/seed"
	"github.com/sgdlab/sgdlab/stationary"
	"github.com/sgdlab/sgdlab/stats"
	"github.com/sgdlab/sgdlab/theory"
)

// StationarySpec describes a set of chains sampling the stationary law in a valley.
type StationarySpec struct {
	Problem
	Dynamics
	Chains  int
	Samples int       // per chain, after burn-in
	Every   int64     // SGD steps (of length eta in t) between samples
	Burn    int64     // burn-in in steps (0: ten relaxation times 10/(eta lambda_min), at least 10 Every)
	Valley  bool      // stop chains that leave the valley (checked by descending from each sample)
	Seed    uint64    // chain i uses seed.Stream(Seed, i)
	Start   []float64 // the minimum (nil: found from the model's initialisation)
	// Minimum, when set, is used instead of being found again.
	Minimum *landscape.Prepared `json:"-"`
}

// StationaryRecord is what the chains measured: the fitted phi with its interval against
// 1 + B/(eta h*), and the Gibbs alternative.
type StationaryRecord struct {
	Model     string             `json:"model"`
	Data      string             `json:"data"`
	Dynamics  Dynamics           `json:"dynamics"`
	Describe  string             `json:"dynamics_description"`
	Seed      uint64             `json:"seed"`
	Chains    int                `json:"chains"`
	Samples   int                `json:"samples"`
	Every     int64              `json:"every"`
	Burn      int64              `json:"burn"`
	Shard     string             `json:"shard"`
	LStar     float64            `json:"L_star"`
	HStar     float64            `json:"h_star"`
	N         int                `json:"n_directions"`
	Eigs      []float64          `json:"hessian_eigenvalues"`
	PhiTheory float64            `json:"phi_predicted"`
	PhiStrat  float64            `json:"phi_predicted_stratonovich"`
	Deviation float64            `json:"deviation_sigma"`
	Fit       *stationary.Result `json:"fit"`
	// TailHill and TailCSN estimate the tail index alpha of the distance from the minimum
	// (P(|theta - theta*| > r) ~ r^-alpha), PhiTail = (alpha + n)/2 from Hill's estimate.
	TailHill *stats.Tail `json:"tail_hill,omitempty"`
	TailCSN  *stats.Tail `json:"tail_csn,omitempty"`
	PhiTail  num.Float   `json:"phi_tail_hill"`
	// FiniteStep is the exact chain's phi_eta and Kesten tail (linear models, SGD).
	FiniteStep  *FiniteStep       `json:"finite_step,omitempty"`
	Stats       ensemble.Stats    `json:"trajectories"`
	Conventions map[string]string `json:"conventions"`
	Notes       []string          `json:"notes,omitempty"`
}

// maxAutoBurn is the longest burn-in chosen automatically, in steps (hours of SGD at least):
// a longer one is asked for explicitly.
const maxAutoBurn = 1e11

// Stationary runs (or resumes from the store) the chains and fits the power law and the
// Gibbs law to the pooled samples. On error (divergence, interruption) the record holds
// what finished.
func Stationary(ctx context.Context, env Env, spec StationarySpec) (*StationaryRecord, error) {
	o, err := spec.Problem.Build(ctx, env)
	if err != nil {
		return nil, err
	}
	if spec.Chains < 1 || spec.Samples < 10 || spec.Every < 1 || spec.Burn < 0 {
		return nil, fault.Invalid(
			"need at least 1 chain, 10 samples per chain, a sampling interval of at least 1 step and a burn-in >= "+
				"0 (got %d, %d, %d, %d)",
			spec.Chains,
			spec.Samples,
			spec.Every,
			spec.Burn,
		)
	}
	// Samples are kept per chain, pooled once and evaluated under two laws.
	if err := env.limit().Check(fmt.Sprintf("%d chains of %d samples", spec.Chains, spec.Samples),
		memory.Floats(env.Ens.Shard.Count(int64(spec.Chains)), int64(spec.Samples), 6)); err != nil {
		return nil, err
	}
	p, fac, err := dynamicsAt(ctx, env, o, spec.Dynamics, spec.Minimum, spec.Start, spec.Seed)
	if err != nil {
		return nil, err
	}
	m, eta := p.Min, spec.Eta
	burn := spec.Burn
	if burn <= 0 {
		// Ten relaxation times of the slowest direction, 1/(eta lambda_min) steps each.
		b := math.Ceil(10 / (eta * m.MinEig()))
		if !(b <= maxAutoBurn) {
			return nil, fault.Field("burn", fault.Invalid("ten relaxation times of the slowest direction are %.3g "+
				"steps (eta = %g, smallest Hessian eigenvalue %.3g), more than %.0g: raise eta, or give the burn-in "+
				"in steps", b, eta, m.MinEig(), maxAutoBurn))
		}
		burn = max(int64(b), 10*spec.Every)
	}
	rec := &StationaryRecord{Model: o.Model.Spec(), Data: o.Data.Spec, Dynamics: spec.Dynamics,
		Describe: fac.Describe(), Seed: spec.Seed, Chains: spec.Chains, Samples: spec.Samples, Every: spec.Every,
		Burn: burn, Shard: env.Ens.Shard.String(), LStar: m.Loss, HStar: p.HStar, N: p.N,
		Eigs: m.Eigs[:min(len(m.Eigs), 20)], PhiTheory: theory.Phi(spec.Batch, eta, p.HStar)}
	rec.PhiStrat = rec.PhiTheory - 0.5
	rec.Conventions = map[string]string{
		"prediction": "phi = 1 + B/(eta h*) (Ito); P(theta) ∝ L^-phi inside the valley",
		"fit": fmt.Sprintf(
			"maximum likelihood for u = L/L* - 1 ~ u^(n/2-1) (1+u)^(-phi) with n = %d; interval 95%%, widened by "+
				"the autocorrelation time and symmetric in log(phi - n/2) (log T for the Gibbs law)",
			p.N,
		),
		"gibbs": "alternative P ∝ exp(-L/T): u ~ Gamma(n/2, L*/T)",
		"time":  "t = eta * steps; samples every Every steps after Burn steps",
		"loss":  "L = (1/N) sum 1/2 (f - y)^2",
	}
	if p.Note != "" {
		rec.Notes = append(rec.Notes, p.Note)
	}
	opt := stationary.Options{Samples: spec.Samples, Every: float64(spec.Every) * eta, Burn: float64(burn) * eta,
		Seed: spec.Seed, LStar: m.Loss, A: float64(p.N) / 2}
	valley := false
	if spec.Valley {
		opt.InValley = landscape.Basin(o, fac.NewLandscape, m.Theta, m.Eigs[0])
		valley = opt.InValley != nil // quadratic losses have one valley: nothing to check
	}
	if err := opt.Check(); err != nil {
		return nil, err
	}
	if env.Ens.Shard.N > 1 {
		rec.Notes = append(rec.Notes, fmt.Sprintf("shard %s: the fit uses this shard's chains only", env.Ens.Shard))
	}
	key := keyOf("stationary", o)
	key.Dynamics, key.Start, key.Samples, key.Every, key.Burn, key.Valley, key.A = fac.Key(), m.Theta, spec.Samples,
		spec.Every, burn, valley, opt.A
	announceChains(env, fac, m.Theta, int64(spec.Chains), burn+int64(spec.Samples)*spec.Every)
	env.stage("stationary chains")
	chains, st, runErr := ensemble.Run(ctx, env.Ens, ensemble.Spec{Kind: "stationary", Label: label("stationary",
		rec.Model, rec.Data, spec.Kind), Key: key, Seed: spec.Seed, Size: int64(spec.Chains)},
		func(i int) (stationary.Chain, error) { return stationary.Sample(ctx, fac, m.Theta, i, opt) })
	rec.Stats = st
	if runErr != nil {
		return rec, runErr
	}
	res, err := stationary.Fit(chains, opt.A, opt.LStar)
	rec.Fit = res
	if err != nil {
		return rec, fault.AsInvalid(err)
	}
	rec.TailHill, rec.TailCSN = TailOf(res.Pooled, res.Tau)
	rec.PhiTail = num.Float(math.NaN())
	if rec.TailHill != nil {
		rec.PhiTail = num.Float(theory.PhiKesten(rec.TailHill.Alpha, p.N))
	}
	if spec.Kind == "sgd" {
		if fs, ok := FiniteStepOf(o, m.Theta, eta, spec.Batch, spec.Seed); ok {
			rec.FiniteStep = fs
			if spec.Sampling != "replacement" {
				fs.Notes = append(fs.Notes, "phi_eta and Kesten's alpha are those of sampling with replacement")
			}
		}
	}
	if res.Power.SE > 0 {
		rec.Deviation = (res.Power.Param - rec.PhiTheory) / res.Power.SE
	}
	if res.Left > 0 {
		rec.Notes = append(rec.Notes, fmt.Sprintf("%d chain(s) left the valley; their samples up to that point are "+
			"kept", res.Left))
	}
	if n := DeviationNote(spec.Kind, eta, rec.HStar, spec.Substeps, rec.Deviation); n != "" {
		rec.Notes = append(rec.Notes, n)
	}
	return rec, nil
}

// DeviationThreshold is the |phi - theory| in standard errors beyond which a note names the
// likely cause.
const DeviationThreshold = 3

// DeviationNote says where to look when the fitted phi is more than DeviationThreshold
// standard errors from 1 + B/(eta h*): the theory describes the continuous SDE, so a
// coarse SDE step or real SGD (which is not its SDE) are the usual reasons.
func DeviationNote(dynamics string, eta, hstar float64, substeps int, dev float64) string {
	if math.Abs(dev) <= DeviationThreshold {
		return ""
	}
	if dynamics == "sgd" {
		return "real SGD is not the SDE the theory is derived for: compare the dynamics sde and decoupled with 20 " +
			"substeps to separate the finite step from the decoupling (reproduce E4 does this), and the exact " +
			"discrete chain (sgdlab chain) for the step itself"
	}
	if dt := eta * hstar / float64(max(substeps, 1)); dt > 0.05 {
		return fmt.Sprintf(
			"the SDE step is large (dt h* = %.3g): the Euler-Maruyama discretisation error grows with dt h*; rerun "+
				"with %d substeps or more for the continuous SDE the theory describes",
			dt,
			int(math.Ceil(dt/0.05))*max(substeps, 1),
		)
	}
	return ""
}

// announceChains times a few steps of the dynamics from start and, when chains of the given
// length are expected to take longer than LongWork, says so through env.Notice (a burn-in of
// ten relaxation times can be billions of steps at a small eta).
func announceChains(env Env, fac *sde.Factory, start []float64, chains, steps int64) {
	const probe = 256
	if env.Notice == nil || chains*steps < 1e6 {
		return
	}
	dyn, err := fac.New(seed.Stream(0, 0))
	if err != nil {
		return
	}
	th := slices.Clone(start)
	t0 := time.Now()
	for range probe {
		dyn.Step(th)
	}
	per := time.Since(t0).Seconds() / probe
	wall := per * float64(steps) * float64(chains) / float64(max(1, min(int64(env.Ens.Workers), chains)))
	if wall > LongWork {
		env.Notice(fmt.Sprintf("stationary: %d chain(s) of %.3g steps each (burn-in included), estimated %s from "+
			"%d timed steps", chains, float64(steps), seconds(wall), probe))
	}
}
