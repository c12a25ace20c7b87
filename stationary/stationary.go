// Package stationary samples the quasi-stationary distribution of SGD (or any of its SDE
// models) inside the valley of a minimum and measures its exponent: docs/theory.md, "Stationary law"
// predicts P(theta) ∝ L(theta)^(-phi), phi = 1 + B/(eta h*). Many independent chains run in
// parallel, each with a generator derived from (seed, chain index) alone; samples are taken
// at fixed intervals of physical time after a burn-in; the exponent is fitted by maximum
// likelihood (stats.FitPowerLaw) with the autocorrelation time folded into its interval, and
// compared with the Gibbs law exp(-L/T) by a likelihood ratio and Vuong's test.
package stationary

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mathext"

	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/sde"
	"github.com/sgdlab/sgdlab/seed"
	"github.com/sgdlab/sgdlab/stats"
)

// Options configures the chains of a sampling run.
type Options struct {
	Samples int     // samples per chain after burn-in
	Every   float64 // time between samples (t units; the paper: 100 SGD steps = 100 eta)
	Burn    float64 // burn-in time discarded at the start of each chain
	Seed    uint64  // master seed; chain i uses seed.Stream(Seed, i)
	// LStar is L(theta*), the reference of u = L/L* - 1; A = n/2 the dimension parameter.
	LStar, A float64
	// InValley, if set, is called on every sample; a chain whose sample is outside the valley
	// stops there and is reported (the quasi-stationary law is defined inside one valley).
	InValley func(theta []float64) bool
	// MaxLoss ends a chain whose loss exceeds it as diverged (0: 1e6 * L*).
	MaxLoss float64
}

// Check validates the options.
func (o Options) Check() error {
	if o.Samples < 10 {
		return fault.Invalid("need at least 10 samples per chain (got %d)", o.Samples)
	}
	if !(o.Every > 0) || !(o.Burn >= 0) || math.IsInf(o.Every, 0) || math.IsInf(o.Burn, 0) {
		return fault.Invalid("the sampling interval must be positive and the burn-in non-negative, both finite")
	}
	if !(o.LStar > 0) {
		return fault.Invalid("L* = %v: the power-law fit needs a minimum with positive loss", o.LStar)
	}
	return nil
}

// uFloor is the smallest relative excess loss recorded: below it u is rounding noise.
const uFloor = 1e-13

// Chain is one chain's record.
type Chain struct {
	Index      int       `json:"index"`
	U          []float64 `json:"u"` // samples of L/L* - 1
	Tau        float64   `json:"tau"`
	Steps      int64     `json:"steps"`
	LeftValley bool      `json:"left_valley"`
	LeftAt     float64   `json:"left_at_t,omitempty"`
}

// Result holds the chains and the fits on the pooled samples.
type Result struct {
	Chains  []Chain   `json:"chains"`
	N       int       `json:"samples"`
	Tau     float64   `json:"tau"` // mean integrated autocorrelation time (in samples)
	ESS     float64   `json:"ess"` // effective sample size N / tau
	Power   stats.Fit `json:"power_law"`
	Gibbs   stats.Fit `json:"gibbs"`
	LogLR   float64   `json:"loglik_ratio"` // log L(power) - log L(Gibbs)
	VuongZ  float64   `json:"vuong_z"`      // > 0 favours the power law
	VuongP  float64   `json:"vuong_p"`
	Left    int       `json:"chains_left_valley"`
	Pooled  []float64 `json:"-"`
	Summary string    `json:"verdict"`
}

// Sample runs chain i from start (ensemble.Run calls it for each index): a burn-in, then
// opt.Samples samples of u = L/L* - 1 every opt.Every. A chain whose loss exceeds
// opt.MaxLoss or stops being finite ends with an error of class fault.ErrDiverged.
func Sample(ctx context.Context, fac *sde.Factory, start []float64, i int, opt Options) (Chain, error) {
	if err := opt.Check(); err != nil {
		return Chain{}, err
	}
	if opt.MaxLoss <= 0 {
		opt.MaxLoss = 1e6 * opt.LStar
	}
	return runChain(ctx, fac, start, i, opt)
}

func runChain(ctx context.Context, fac *sde.Factory, start []float64, i int, opt Options) (Chain, error) {
	dyn, err := fac.New(seed.Stream(opt.Seed, uint64(i)))
	if err != nil {
		return Chain{}, err
	}
	theta := append([]float64(nil), start...)
	c := Chain{Index: i, U: make([]float64, 0, opt.Samples)}
	// u = L/L* - 1 with L* from the same evaluator as the samples, floored at the relative
	// rounding of a loss evaluation (a sample at the minimum itself has u = 0 only by rounding).
	lstar := dyn.Loss(start)
	t := 0.0
	nextT := opt.Burn + opt.Every
	diverged := func(l float64) error {
		what := fmt.Sprintf("%.4g", l)
		if math.IsNaN(l) || math.IsInf(l, 0) {
			what = "is no longer finite and"
		}
		return fault.Diverged("chain %d diverged at t = %.6g: the loss %s exceeds %.4g (10^6 L*); lower eta "+
			"or raise B", i, t, what, opt.MaxLoss)
	}
	for len(c.U) < opt.Samples {
		t += dyn.Step(theta)
		c.Steps++
		if c.Steps%1024 == 0 && ctx.Err() != nil {
			return c, ctx.Err()
		}
		// A dynamics whose time step shrinks with the loss (the log landscape's dt = dtau/L)
		// could climb without its time reaching the next sample: check the loss now and then.
		if c.Steps%(1<<16) == 0 {
			if l := dyn.Loss(theta); !(l <= opt.MaxLoss) {
				return c, diverged(l)
			}
		}
		if t < nextT {
			continue
		}
		nextT += opt.Every
		l := dyn.Loss(theta)
		if !(l <= opt.MaxLoss) {
			return c, diverged(l)
		}
		if opt.InValley != nil && !opt.InValley(theta) {
			c.LeftValley, c.LeftAt = true, t
			break
		}
		if t > opt.Burn {
			c.U = append(c.U, math.Max(l/lstar-1, uFloor))
		}
	}
	if len(c.U) > 3 {
		lu := make([]float64, len(c.U))
		for j, u := range c.U {
			lu[j] = math.Log(math.Max(u, 1e-300))
		}
		c.Tau, _ = stats.AutocorrTime(lu)
	}
	return c, nil
}

// Fit pools the chains' samples and fits both laws. Chains that left the valley or diverged
// contribute the samples they took before.
func Fit(chains []Chain, a, lstar float64) (*Result, error) {
	r := &Result{Chains: chains}
	tauSum, nt := 0.0, 0
	for _, c := range chains {
		if c.LeftValley {
			r.Left++
		}
		r.Pooled = append(r.Pooled, c.U...)
		if c.Tau > 0 {
			tauSum += c.Tau * float64(len(c.U))
			nt += len(c.U)
		}
	}
	r.N = len(r.Pooled)
	r.Tau = 1
	if nt > 0 {
		r.Tau = tauSum / float64(nt)
	}
	r.ESS = float64(r.N) / r.Tau
	if r.Left > len(chains)/2 {
		return r, fault.Invalid(
			"%d of %d chains left the valley of the minimum: the stationary law inside one valley is not defined "+
				"here; lower eta, raise B, or study escape instead",
			r.Left,
			len(chains),
		)
	}
	var err error
	if r.Power, err = stats.FitPowerLaw(r.Pooled, a, r.Tau); err != nil {
		return r, err
	}
	if r.Gibbs, err = stats.FitGibbs(r.Pooled, a, lstar, r.Tau); err != nil {
		return r, err
	}
	r.LogLR = r.Power.LogLik - r.Gibbs.LogLik
	r.VuongZ, r.VuongP = stats.Vuong(r.Power.PerLL, r.Gibbs.PerLL, r.Tau)
	switch {
	case r.VuongZ > 2:
		r.Summary = fmt.Sprintf("power law favoured over Gibbs (Vuong z = %.1f, log-likelihood ratio %.1f)", r.VuongZ,
			r.LogLR)
	case r.VuongZ < -2:
		r.Summary = fmt.Sprintf("Gibbs law favoured over the power law (Vuong z = %.1f)", r.VuongZ)
	default:
		r.Summary = fmt.Sprintf("power law and Gibbs law not distinguished (Vuong z = %.1f)", r.VuongZ)
	}
	return r, nil
}

// Bin is one bin of the log-binned density of u = L/L* - 1 with the fitted laws there.
type Bin struct {
	U, Density, SE        float64 // bin centre (geometric), measured density, its error
	PowerLaw, PowerTheory float64 // fitted power law; power law with the theory's phi
	Gibbs                 float64 // fitted Gibbs law
}

// Histogram bins the pooled samples in nb logarithmic bins and evaluates the fitted power
// law, the power law with exponent phiTheory (skipped when 0) and the fitted Gibbs law. The
// errors are Poisson errors widened by the autocorrelation time.
func (r *Result) Histogram(nb int, lstar, a, phiTheory float64) []Bin {
	lo, hi := math.Inf(1), 0.0
	for _, u := range r.Pooled {
		if u > 0 {
			lo, hi = math.Min(lo, u), math.Max(hi, u)
		}
	}
	llo, lhi := math.Log(lo), math.Log(hi)
	counts := make([]float64, nb)
	for _, u := range r.Pooled {
		if u > 0 {
			b := int(float64(nb) * (math.Log(u) - llo) / (lhi - llo + 1e-12))
			counts[min(b, nb-1)]++
		}
	}
	rate := lstar / r.Gibbs.Param
	lgA, _ := math.Lgamma(a)
	bp := func(u, phi float64) float64 {
		return math.Exp((a-1)*math.Log(u) - phi*math.Log1p(u) - mathext.Lbeta(a, phi-a))
	}
	n := float64(len(r.Pooled))
	out := make([]Bin, nb)
	for b := range out {
		u0, u1 := math.Exp(llo+float64(b)*(lhi-llo)/float64(nb)), math.Exp(llo+float64(b+1)*(lhi-llo)/float64(nb))
		uc := math.Sqrt(u0 * u1)
		out[b] = Bin{U: uc, Density: counts[b] / (n * (u1 - u0)), SE: math.Sqrt(counts[b]*r.Tau) / (n * (u1 - u0)),
			PowerLaw: bp(uc, r.Power.Param), Gibbs: math.Exp(a*math.Log(rate) + (a-1)*math.Log(uc) - rate*uc - lgA)}
		if phiTheory > a {
			out[b].PowerTheory = bp(uc, phiTheory)
		}
	}
	return out
}
