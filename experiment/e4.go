package experiment

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"gonum.org/v1/gonum/mathext"

	"github.com/sgdlab/sgdlab/chain"
	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/landscape"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/sgd"
	"github.com/sgdlab/sgdlab/stationary"
	"github.com/sgdlab/sgdlab/stats"
	"github.com/sgdlab/sgdlab/study"
	"github.com/sgdlab/sgdlab/theory"
)

type e4Params struct {
	Data     string    `json:"data"`     // 1-D Gaussian regression
	Sampling string    `json:"sampling"` // epoch or replacement
	Etas     []float64 `json:"etas"`
	Batches  []int     `json:"batches"`
	Dynamics []string  `json:"dynamics"` // sgd, sgd-replacement, sde, sde-fine, decoupled-fine
	Substeps int       `json:"substeps"` // steps per SGD step of the fine SDEs
	Chains   int       `json:"chains"`
	Samples  int       `json:"samples"` // per chain
	Every    int64     `json:"every"`   // SGD steps between samples
	Seed     uint64    `json:"seed"`
	// Exact enables the exact discrete chain (SGD with replacement): the bulk phi of its
	// quasi-stationary law, phi_eta and Kesten's phi_K. The chain uses a grid of ChainGrid
	// intervals and, for B > 1, ChainSets sets of ChainBatches Monte Carlo batches.
	Exact        bool `json:"exact_chain"`
	ChainGrid    int  `json:"chain_grid"`
	ChainBatches int  `json:"chain_batches"`
	ChainSets    int  `json:"chain_sets"`
}

func (p *e4Params) Validate() error {
	var c check
	c.that(p.Sampling == "epoch" || p.Sampling == "replacement", "sampling %q: use epoch or replacement", p.Sampling)
	c.that(len(p.Etas) > 0 && len(p.Batches) > 0, "etas and batches: give at least one of each")
	for _, e := range p.Etas {
		c.that(positive(e), "eta = %v must be a positive finite number", e)
	}
	for _, b := range p.Batches {
		c.that(b >= 1, "batch = %d must be at least 1", b)
	}
	c.that(p.Chains >= 1 && p.Chains <= 1e6, "chains = %d must be between 1 and 10^6", p.Chains)
	c.that(p.Samples >= 10 && p.Samples <= 1e8, "samples = %d must be between 10 and 10^8", p.Samples)
	c.that(p.Every >= 1, "every = %d must be at least 1 step", p.Every)
	if p.Exact {
		c.that(p.ChainGrid >= 8 && p.ChainGrid <= 4096, "chain_grid = %d must be between 8 and 4096", p.ChainGrid)
		c.that(p.ChainBatches >= 100 && p.ChainBatches <= 1e7, "chain_batches = %d must be between 100 and 10^7",
			p.ChainBatches)
		c.that(p.ChainSets >= 2 && p.ChainSets <= 100, "chain_sets = %d must be between 2 and 100", p.ChainSets)
	}
	if c.err != nil {
		return c.err
	}
	return checkDynamics(p.Dynamics, p.Substeps)
}

const e4Title = "Stationary distribution: the exponent phi = 1 + B/(eta h*)"

var e4 = &Experiment{
	ID: "E4", Title: e4Title, Paper: true, Weight: 1.5,
	Defaults: func(full bool) Params {
		p := &e4Params{Data: "gauss:N=100000,d=1,seed=1", Sampling: "epoch", Etas: []float64{0.1, 0.5, 1},
			Batches: []int{4, 6, 8, 10, 12}, Dynamics: []string{"sgd", "sgd-replacement", "sde", "sde-fine",
				"decoupled-fine"}, Substeps: 50, Chains: 2, Samples: 5000, Every: 100, Seed: 1, Exact: true,
			ChainGrid: 1000, ChainBatches: 20000, ChainSets: 2}
		if full {
			p.Chains, p.Samples, p.Substeps = 4, 10000, 200
			p.ChainGrid, p.ChainBatches, p.ChainSets = 2000, 100000, 4
		}
		return p
	},
	Run: func(env *Env, params Params) (*Result, error) {
		return timed(func() (*Result, error) { return runE4(env, params.(*e4Params)) })
	},
}

// e4Cell is one fitted phi.
type e4Cell struct {
	Phi, SE, Theory float64
	Fit             *stationary.Result
}

// e4Key names a configuration: dynamics, eta, B.
type e4Key struct {
	Dyn   string
	Eta   float64
	Batch int
}

// e4Numbers is what E4 measured. Besides the dynamics, Cells holds the exact chain's phi
// ("chain", with its Monte Carlo error), phi_eta ("phi_eta") and Kesten's phi_K ("phi_K") for
// SGD with replacement.
type e4Numbers struct {
	Etas    []float64
	Batches []int
	HStar   float64
	LStar   float64
	Cells   map[e4Key]e4Cell
	// Exact holds the exact chain's details per (eta, B) (Dyn empty).
	Exact map[e4Key]e4Exact
	// Refused holds why the solver refused the exact chain, for each (eta, B) where it did.
	Refused []string
}

// e4Exact is the exact chain's computation for one (eta, B).
type e4Exact struct {
	Level    float64 // the region L <= Level L* whose quasi-stationary law is used
	Leak     float64 // its escape probability per step
	PhiHalf  float64 // the chain's phi on the half grid
	Alpha    float64 // Kesten's alpha
	Warnings []string
}

// has reports whether the dynamics was measured in every configuration.
func (n e4Numbers) has(dyn string) bool {
	for _, eta := range n.Etas {
		for _, b := range n.Batches {
			if _, ok := n.Cells[e4Key{dyn, eta, b}]; !ok {
				return false
			}
		}
	}
	return len(n.Etas) > 0
}

// relDev is the mean over B of phi/theory - 1 for one dynamics at one eta.
func (n e4Numbers) relDev(dyn string, eta float64) float64 {
	m, _ := n.relDevSE(dyn, "", eta)
	return m
}

// relDevFrom is the mean over B of phi(dyn)/phi(ref) - 1 at one eta (NaN when either is missing).
func (n e4Numbers) relDevFrom(dyn, ref string, eta float64) float64 {
	m, _ := n.relDevSE(dyn, ref, eta)
	return m
}

// relDevSE is the mean over B of phi(dyn)/phi(ref) - 1 at one eta, or of phi/theory - 1 when
// ref is empty, with its standard error from the phis' (the theory has none): the mean of
// independent ratios. Against the theory a NaN phi makes the mean NaN; against a reference,
// batch sizes where either phi is missing are left out (NaN when none is left).
func (n e4Numbers) relDevSE(dyn, ref string, eta float64) (mean, se float64) {
	s, v, k := 0.0, 0.0, 0
	for _, b := range n.Batches {
		c, ok := n.Cells[e4Key{dyn, eta, b}]
		if !ok {
			continue
		}
		den, rel2 := c.Theory, 0.0
		if ref != "" {
			r, ok := n.Cells[e4Key{ref, eta, b}]
			if !ok || !(r.Phi > 0) || math.IsNaN(c.Phi) {
				continue
			}
			den, rel2 = r.Phi, (r.SE/r.Phi)*(r.SE/r.Phi)
		}
		q := c.Phi / den
		s += q - 1
		v += q * q * ((c.SE/c.Phi)*(c.SE/c.Phi) + rel2)
		k++
	}
	if k == 0 {
		return math.NaN(), math.NaN()
	}
	return s / float64(k), math.Sqrt(v) / float64(k)
}

// resolves reports whether a mean relative deviation with standard error se can count as
// agreement within the relative tolerance: sigma standard errors must fit inside the
// tolerance, else a deviation within it could be chance. (A deviation beyond the tolerance
// is judged as before, on the estimate.)
func resolves(se float64, relTol, sigma Criterion) bool { return sigma.Value*se < relTol.Value }

// maxZBetween is the largest |phi(a) - phi(b)| / sqrt(se_a^2 + se_b^2) over the
// configurations, with their number; NaN when none was compared or one is not finite.
func (n e4Numbers) maxZBetween(a, b string) (float64, int) {
	z, k := math.Inf(-1), 0
	for key, c := range n.Cells {
		if key.Dyn != a {
			continue
		}
		if r, ok := n.Cells[e4Key{b, key.Eta, key.Batch}]; ok {
			z, k = math.Max(z, math.Abs(c.Phi-r.Phi)/math.Hypot(c.SE, r.SE)), k+1
		}
	}
	if k == 0 {
		return math.NaN(), 0
	}
	return z, k
}

// maxZ is the largest |phi - theory| / se of one dynamics over the configurations, with
// their number; NaN when there is none or one is not finite.
func (n e4Numbers) maxZ(dyn string) (float64, int) {
	z, k := math.Inf(-1), 0
	for key, c := range n.Cells {
		if key.Dyn == dyn {
			z, k = math.Max(z, math.Abs(c.Phi-c.Theory)/c.SE), k+1
		}
	}
	if k == 0 {
		return math.NaN(), 0
	}
	return z, k
}

func runE4(env *Env, p *e4Params) (*Result, error) {
	n, err := measureE4(env, p)
	if err != nil {
		return nil, err
	}
	res := &Result{ID: "E4", Title: e4Title, Paper: true, Params: p,
		Claim: "For 1-D linear regression (x, y ~ N(0,1), N = 10^5) the parameter sampled every 100 SGD steps " +
			"follows P(theta) ∝ L^-phi; the fitted phi follows 1 + B/(eta h*) as B varies, for three learning " +
			"rates; the largest, eta = 1, deviates slightly (finite-eta effect).",
		Theory: fmt.Sprintf(
			"phi = 1 + B/(eta h*) with h* = L''(theta*) = %.5f here (Ito reading; the decoupled SDE's exact "+
				"stationary law). Real SGD differs by the decoupling error (exact noise 1 + 2 theta^2 against 1 + "+
				"theta^2, docs/theory.md), by the finite step eta, and by non-Gaussian noise.",
			n.HStar,
		),
		Setup: fmt.Sprintf(
			"%s, %s sampling; %d chain(s) x %d samples every %d steps per configuration; dynamics %s (fine SDEs "+
				"use step eta/%d); maximum-likelihood fit of u = L/L* - 1 ~ (1+u)^-phi u^-1/2 with "+
				"autocorrelation-widened 95%% intervals.",
			p.Data,
			p.Sampling,
			p.Chains,
			p.Samples,
			p.Every,
			strings.Join(p.Dynamics, ", "),
			p.Substeps,
		)}
	if err := renderE4(env, p, n, res); err != nil {
		return nil, err
	}
	res.judge(verdictE4(n, critE4Rel, critE4Sigma, e4EtaSmall))
	return res, nil
}

// measureE4 fits phi for every (eta, B, dynamics), configurations in parallel.
func measureE4(env *Env, p *e4Params) (e4Numbers, error) {
	prob := study.Problem{Model: "linear", Data: p.Data, Loss: "mse"}
	o, prep, err := study.Prepare(env.Ctx, env.Study, prob, nil, p.Seed)
	if err != nil {
		return e4Numbers{}, err
	}
	n := e4Numbers{Etas: p.Etas, Batches: p.Batches, HStar: prep.HStar, LStar: prep.Min.Loss, Cells: map[e4Key]e4Cell{},
		Exact: map[e4Key]e4Exact{}}
	var jobs []e4Key
	for _, eta := range p.Etas {
		for _, b := range p.Batches {
			for _, dn := range p.Dynamics {
				jobs = append(jobs, e4Key{dn, eta, b})
			}
		}
	}
	one := env.Study
	one.Ens.Workers = 1 // configurations run in parallel, one chain set each
	one.Stage = nil
	var mu sync.Mutex
	err = parallel(env, len(jobs), func(i int) error {
		j := jobs[i]
		dyn, err := dynamics(j.Dyn, j.Eta, j.Batch, p.Sampling, p.Substeps)
		if err != nil {
			return err
		}
		rec, err := study.Stationary(
			env.Ctx,
			one,
			study.StationarySpec{Problem: prob, Dynamics: dyn, Chains: p.Chains, Samples: p.Samples,
				Every: p.Every, Seed: p.Seed, Minimum: prep},
		)
		if err != nil {
			return fmt.Errorf("E4 %s eta=%g B=%d: %w", j.Dyn, j.Eta, j.Batch, err)
		}
		mu.Lock()
		defer mu.Unlock()
		n.Cells[j] = e4Cell{Phi: rec.Fit.Power.Param, SE: rec.Fit.Power.SE, Theory: theory.Phi(j.Batch, j.Eta,
			prep.HStar), Fit: rec.Fit}
		env.stage("E4 %d/%d: %s eta=%g B=%d", len(n.Cells), len(jobs), j.Dyn, j.Eta, j.Batch)
		return nil
	})
	if err != nil || !p.Exact {
		return n, err
	}
	return n, measureE4Exact(env, p, o, prep, &n)
}

// e4TailMass is the mass beyond the region E4's exact chain keeps: the region L <= c L* is
// chosen so that the heaviest of the candidate laws puts about this much probability outside.
const e4TailMass = 1e-6

// measureE4Exact computes, for every (eta, B), phi_eta and Kesten's alpha over the data, and
// the bulk phi of the exact chain's quasi-stationary law: the maximum-likelihood equation
// psi(phi) - psi(phi - 1/2) = E log(1 + u) with the expectation over that law, in a region
// L <= c L* large enough to hold all but about e4TailMass of it.
func measureE4Exact(env *Env, p *e4Params, o *model.Objective, prep *landscape.Prepared, n *e4Numbers) error {
	type job struct {
		eta float64
		b   int
	}
	var jobs []job
	for _, eta := range p.Etas {
		for _, b := range p.Batches {
			jobs = append(jobs, job{eta, b})
		}
	}
	var mu sync.Mutex
	return parallel(env, len(jobs), func(i int) error {
		j := jobs[i]
		th := theory.Phi(j.b, j.eta, prep.HStar)
		key := struct {
			Model, Data, Loss          string
			Min                        []float64
			Eta                        float64
			Batch, Batches, Sets, Grid int
			Seed                       uint64
			TailMass                   float64
			Chain, SGD                 int
		}{o.Model.Spec(), o.Data.Spec, o.Loss.Name(), prep.Min.Theta, j.eta, j.b, p.ChainBatches, p.ChainSets,
			p.ChainGrid, p.Seed, e4TailMass, chain.Version, sgd.AlgorithmVersion}
		c, err := study.Memo(env.Ctx, env.Study, ensemble.Spec{Kind: "e4-chain", Key: key, Seed: p.Seed,
			Label: fmt.Sprintf("E4 exact chain eta=%g B=%d", j.eta, j.b)},
			func() (*e4ChainCell, error) { return e4ChainJob(env, p, o, prep, j.eta, j.b, th) })
		mu.Lock()
		defer mu.Unlock()
		var why string
		if err := chainRefused(&why, err); err != nil || why != "" {
			n.Refused = append(n.Refused, why)
			return err
		}
		n.Cells[e4Key{"chain", j.eta, j.b}] = e4Cell{Phi: float64(c.Phi), SE: float64(c.SE), Theory: th}
		n.Cells[e4Key{"phi_eta", j.eta, j.b}] = e4Cell{Phi: float64(c.PhiEta), Theory: th}
		n.Cells[e4Key{"phi_K", j.eta, j.b}] = e4Cell{Phi: float64(c.PhiK), SE: float64(c.PhiKSE), Theory: th}
		n.Exact[e4Key{"", j.eta, j.b}] = e4Exact{Level: float64(c.Level), Leak: float64(c.Leak),
			PhiHalf: float64(c.PhiHalf), Alpha: float64(c.Alpha), Warnings: c.Warnings}
		env.stage("E4 exact chain %d/%d: eta=%g B=%d", len(n.Exact), len(jobs), j.eta, j.b)
		return nil
	})
}

// e4ChainCell is what E4 keeps of one (eta, B) of its exact computations: the chain's bulk
// phi, phi_eta and Kesten's phi_K (NaN-safe for the run store).
type e4ChainCell struct {
	Phi, SE, PhiEta, PhiK, PhiKSE, Level, Leak, PhiHalf, Alpha num.Float
	Warnings                                                   []string
}

// e4ChainJob computes one e4ChainCell (th is the paper's phi for eta and b).
func e4ChainJob(env *Env, p *e4Params, o *model.Objective, prep *landscape.Prepared, eta float64, b int,
	th float64) (*e4ChainCell, error) {
	fs, _ := study.FiniteStepOf(o, prep.Min.Theta, eta, b, p.Seed)
	// The region: the beta-prime law (1 + u)^-phi u^-1/2 with the smallest candidate phi
	// puts e4TailMass beyond u = U (its tail is U^-(phi - 1/2) / ((phi - 1/2) B(1/2, phi - 1/2))).
	low := th
	for _, v := range []num.Float{fs.PhiEta, fs.PhiK} {
		if !math.IsNaN(float64(v)) {
			low = math.Min(low, float64(v))
		}
	}
	k := math.Max(low-0.5, 0.25)
	lb := mathext.Lbeta(0.5, k)
	level := 1 + math.Min(math.Exp(-(math.Log(e4TailMass)+math.Log(k)+lb)/k), 1e5)
	fac, err := study.Factory(o, prep, study.Dynamics{Kind: "sgd", Eta: eta, Batch: b, Sampling: "replacement"})
	if err != nil {
		return nil, err
	}
	r, err := chain.LossRegion(fac.NewLandscape, prep.Min.Theta, prep.Min.Loss, level, 1e9)
	if err != nil {
		return nil, err
	}
	land := fac.NewLandscape()
	spec := chain.Spec{Obj: o, Eta: eta, Batch: b, Batches: p.ChainBatches, Sets: p.ChainSets, Seed: p.Seed,
		Grid: p.ChainGrid, Workers: 1, MaxBytes: env.Study.MaxMemory, LawOnly: true,
		Observable: func(theta []float64) float64 { return math.Log(land.LossGrad(theta, nil) / prep.Min.Loss) }}
	res, err := chain.Solve(env.Ctx, spec, prep.Min.Theta, r)
	if err != nil {
		return nil, fmt.Errorf("E4 exact chain eta=%g B=%d: %w", eta, b, err)
	}
	phi, err := stats.PowerLawPhi(float64(res.Observed), 0.5)
	if err != nil {
		return nil, fmt.Errorf("E4 exact chain eta=%g B=%d: %w", eta, b, err)
	}
	half, _ := stats.PowerLawPhi(float64(res.ObservedHalfGrid), 0.5)
	se := math.Abs(stats.PowerLawPhiSlope(phi, 0.5)) * float64(res.ObservedSE)
	return &e4ChainCell{Phi: num.Float(phi), SE: num.Float(se), PhiEta: fs.PhiEta, PhiK: fs.PhiK,
		PhiKSE: fs.AlphaSE / 2, Level: num.Float(level), Leak: res.RatePerStep, PhiHalf: num.Float(half),
		Alpha: fs.Alpha, Warnings: res.Warnings}, nil
}

// verdictE4 checks SGD's phi against 1 + B/(eta h*) at every eta up to etaSmall (mean
// over B, within relTol), the exact chain's phi and phi_eta against SGD with replacement,
// and the decoupled SDE against the formula (an approximation check); the rest of what the
// numbers say (the gap split, Kesten's exponent, epoch against replacement) are remarks.
func verdictE4(n e4Numbers, relTol, sigma Criterion, etaSmall float64) Verdict {
	var v Verdict
	pct := func(x float64) string { return fmt.Sprintf("%+.0f%%", 100*x) }
	switch {
	case !n.has("sgd"):
		v.add(missing(Paper, relTol, "SGD's phi", "SGD is not among the dynamics in the parameters, so the "+
			"paper's claim about SGD's phi was not tested"))
	case !slices.ContainsFunc(n.Etas, func(eta float64) bool { return eta <= etaSmall }):
		v.add(missing(Paper, relTol, "SGD's phi", "no learning rate at or below %g is in the parameters, where the "+
			"paper expects agreement", etaSmall))
	default:
		var devs []string
		for _, eta := range n.Etas {
			d, se := n.relDevSE("sgd", "", eta)
			devs = append(devs, fmt.Sprintf("%s at eta = %g", pct(d), eta))
			name := fmt.Sprintf("SGD's phi at eta = %g", eta)
			switch {
			case eta > etaSmall:
			case !resolves(se, relTol, sigma) && math.Abs(d) <= relTol.Value:
				v.add(missing(Paper, relTol, name, "SGD's phi is %s ± %.1f%% from 1 + B/(eta h*): %g standard "+
					"errors exceed the %.0f%% criterion, so agreement could be chance", pct(d), 100*se, sigma.Value,
					100*relTol.Value))
			default:
				v.add(atMost(Paper, relTol, name, math.Abs(d), len(n.Batches), "At eta = %g SGD's phi is %s ± %.1f%% "+
					"from 1 + B/(eta h*) (mean over B; criterion %.0f%%).", eta, pct(d), 100*se, 100*relTol.Value))
			}
		}
		v.remark("SGD's phi relative to 1 + B/(eta h*) (mean over B): %s.", strings.Join(devs, ", "))
	}
	if n.has("decoupled-fine") {
		z, k := n.maxZ("decoupled-fine")
		v.add(atMost(Approx, sigma, "decoupled SDE against the formula", z, k, "The decoupled SDE integrated "+
			"finely is at most %.1f standard errors from 1 + B/(eta h*) over %d configurations (criterion %g): "+
			"the formula is that SDE's stationary law.", z, k, sigma.Value))
	}
	exactChecksE4(n, &v, relTol, sigma)
	return v
}

// exactChecksE4 checks the exact chain's phi and phi_eta against SGD with replacement, and
// remarks how SGD's gap to the formula splits, Kesten's exponent, and epoch against
// replacement sampling.
func exactChecksE4(n e4Numbers, v *Verdict, relTol, sigma Criterion) {
	sgdRef := "sgd-replacement"
	if !n.has(sgdRef) {
		sgdRef = "sgd"
	}
	pct := func(x float64) string { return fmt.Sprintf("%+.0f%%", 100*x) }
	etaMax := slices.Max(n.Etas)
	if len(n.Refused) > 0 {
		slices.Sort(n.Refused) // the parallel jobs finish in any order
		v.add(missing(Exact, sigma, "exact chain's phi against SGD with replacement", "the exact chain was not "+
			"solved in %d configuration(s): %s", len(n.Refused), n.Refused[0]))
	}
	if n.has("chain") && n.has("sgd-replacement") {
		z, k := n.maxZBetween("sgd-replacement", "chain")
		v.add(atMost(Exact, sigma, "exact chain's phi against SGD with replacement", z, k, "The exact chain's phi "+
			"is at most %.1f standard errors from SGD with replacement's over %d configurations (criterion %g).", z,
			k, sigma.Value))
		var parts []string
		for _, eta := range n.Etas {
			parts = append(parts, fmt.Sprintf("at eta = %g SGD is %s from the formula and the chain %s", eta,
				pct(n.relDev("sgd-replacement", eta)), pct(n.relDev("chain", eta))))
		}
		v.remark("Gap to 1 + B/(eta h*) (mean over B): %s.", strings.Join(parts, "; "))
	}
	if n.has("phi_eta") && n.has(sgdRef) {
		for _, eta := range n.Etas {
			dE, se := n.relDevSE(sgdRef, "phi_eta", eta)
			dT := n.relDev(sgdRef, eta)
			name := fmt.Sprintf("phi_eta against %s at eta = %g", sgdRef, eta)
			if !resolves(se, relTol, sigma) && math.Abs(dE) <= relTol.Value {
				v.add(missing(Exact, relTol, name, "%s's phi is %s ± %.1f%% from phi_eta: %g standard errors exceed "+
					"the %.0f%% criterion, so agreement could be chance", sgdRef, pct(dE), 100*se, sigma.Value,
					100*relTol.Value))
				continue
			}
			v.add(atMost(Exact, relTol, name, math.Abs(dE), len(n.Batches), "At eta = %g %s's phi is %s from "+
				"phi_eta = B/(eta h) - B/2 + 1/2 (the exact chain's covariance) and %s from 1 + B/(eta h*) "+
				"(criterion %.0f%%).", eta, sgdRef, pct(dE), pct(dT), 100*relTol.Value))
		}
	}
	if n.has("sde") && n.has("sde-fine") && n.has("decoupled-fine") {
		dec := n.relDev("sde-fine", etaMax) - n.relDev("decoupled-fine", etaMax)
		disc := n.relDev("sde", etaMax) - n.relDev("sde-fine", etaMax)
		if n.has("chain") {
			batch := n.relDev("chain", etaMax) - n.relDev("sde", etaMax)
			rest := n.relDev(sgdRef, etaMax) - n.relDev("chain", etaMax)
			v.remark("At eta = %g SGD's deviation splits into the decoupling error %s (exact-noise SDE against "+
				"decoupled SDE, both fine-stepped), the Gaussian finite step %s (exact-noise SDE at step eta "+
				"against fine), the non-Gaussian batch noise %s (exact chain against the SDE at step eta) and %s "+
				"between %s and the exact chain.", etaMax, pct(dec), pct(disc), pct(batch), pct(rest), sgdRef)
		} else {
			rest := n.relDev("sgd", etaMax) - n.relDev("sde", etaMax)
			v.remark("At eta = %g SGD's deviation splits into the decoupling error %s (exact-noise SDE against "+
				"decoupled SDE, both fine-stepped), the finite step %s (exact-noise SDE at step eta against "+
				"fine) and %s between SGD and its SDE at the same step.", etaMax, pct(dec), pct(disc), pct(rest))
		}
	}
	if n.has("phi_K") {
		var parts []string
		for _, eta := range n.Etas {
			d := n.relDevFrom("phi_K", sgdRef, eta)
			if math.IsNaN(d) {
				parts = append(parts, fmt.Sprintf("not measured at eta = %g (no batch drawn reaches |A| > 1)", eta))
				continue
			}
			parts = append(parts, fmt.Sprintf("%s at eta = %g", pct(d), eta))
		}
		v.remark("Kesten's tail exponent phi_K = (alpha + 1)/2 relative to %s's bulk phi (mean over B): %s.", sgdRef,
			strings.Join(parts, ", "))
	}
	if n.has("sgd") && n.has("sgd-replacement") {
		var parts []string
		for _, eta := range n.Etas {
			parts = append(parts, fmt.Sprintf("%s at eta = %g", pct(n.relDevFrom("sgd", "sgd-replacement", eta)), eta))
		}
		v.remark("Epoch against replacement sampling (measured by simulation; epoch SGD is not a Markov chain in "+
			"theta): SGD's phi differs by %s.", strings.Join(parts, ", "))
	}
}

// renderE4 writes the table, the numbers, one figure per eta and one stationary density.
func renderE4(env *Env, p *e4Params, n e4Numbers, res *Result) error {
	cols := slices.Clone(p.Dynamics)
	for _, ex := range []string{"chain", "phi_eta", "phi_K"} {
		if n.has(ex) {
			cols = append(cols, ex)
		}
	}
	tab := Table{Title: "Fitted phi (± standard error) against 1 + B/(eta h*); chain: the bulk phi of the exact " +
		"chain's quasi-stationary law (± Monte Carlo error); phi_eta and phi_K from the exact chain",
		Header: append([]string{"eta", "B", "theory"}, cols...)}
	header := []string{"eta", "B", "theory"}
	for _, dn := range cols {
		header = append(header, dn, dn+"_se")
	}
	for _, eta := range p.Etas {
		var xs, th []float64
		var rows [][]float64
		for _, b := range p.Batches {
			t := theory.Phi(b, eta, n.HStar)
			xs, th = append(xs, float64(b)), append(th, t)
			row, num := []string{g4(eta), fmt.Sprint(b), f3(t)}, []float64{eta, float64(b), t}
			for _, dn := range cols {
				c := n.Cells[e4Key{dn, eta, b}]
				row, num = append(row, pmS(c.Phi, c.SE)), append(num, c.Phi, c.SE)
			}
			tab.Rows, rows = append(tab.Rows, row), append(rows, num)
		}
		series := []report.Series{{Name: "theory 1 + B/(eta h*)", X: xs, Y: th, Style: report.Dashed}}
		for _, dn := range cols {
			var ys, es []float64
			for _, b := range p.Batches {
				c := n.Cells[e4Key{dn, eta, b}]
				ys, es = append(ys, c.Phi), append(es, c.SE)
			}
			style := report.Points
			if dn == "phi_eta" || dn == "phi_K" {
				style = report.Line
			}
			series = append(series, report.Series{Name: dn, X: xs, Y: ys, YErr: es, Style: style})
		}
		fig, err := env.figure(fmt.Sprintf("phi_eta%g", eta),
			report.Figure{Title: fmt.Sprintf("E4: fitted phi vs B at eta = %g", eta), XLabel: "batch size B",
				YLabel: "phi", Series: series}, header, rows, fmt.Sprintf("Points: maximum-likelihood "+
				"phi with standard errors; dashed: 1 + B/(eta h*), h* = %.4f.", n.HStar))
		if err != nil {
			return err
		}
		res.Figures = append(res.Figures, fig)
	}
	res.Tables = append(res.Tables, tab)
	if n.has("decoupled-fine") {
		res.Numbers = append(res.Numbers, Number{Name: "decoupled SDE (fine step): largest |phi - theory| in " +
			"standard errors", Value: num.Float(first(n.maxZ("decoupled-fine")))})
	}
	for _, eta := range p.Etas {
		for _, dn := range cols {
			res.Numbers = append(res.Numbers, Number{Name: fmt.Sprintf("%s at eta=%g: mean relative deviation of "+
				"phi from theory", dn, eta), Value: num.Float(n.relDev(dn, eta))})
		}
	}
	if n.has("chain") {
		worstHalf, worstLeak, below := 0.0, 0.0, 0
		for k, ex := range n.Exact {
			c := n.Cells[e4Key{"chain", k.Eta, k.Batch}]
			worstHalf = math.Max(worstHalf, math.Abs(ex.PhiHalf/c.Phi-1))
			if math.IsNaN(ex.Leak) {
				below++ // below double-precision resolution
				continue
			}
			worstLeak = math.Max(worstLeak, ex.Leak)
		}
		leakNote := ""
		if below > 0 {
			leakNote = fmt.Sprintf("in %d configurations below double-precision resolution (about 1e-12)", below)
		}
		res.Numbers = append(res.Numbers, Number{Name: "exact chain: largest relative change of phi on the half " +
			"grid", Value: num.Float(worstHalf)}, Number{Name: "exact chain: largest escape probability per step " +
			"out of the region used", Value: num.Float(worstLeak), Note: leakNote})
		res.Notes = append(res.Notes, fmt.Sprintf("Exact chain: SGD with replacement on a grid of %d intervals over "+
			"L <= c L*, c chosen so the heaviest candidate law leaves about %g outside; B > 1 averages %d Monte "+
			"Carlo batches per set over %d sets. Epoch sampling is not a Markov chain in theta; the column "+
			"sgd-replacement is the simulation of the chain the exact chain solves.", p.ChainGrid, e4TailMass,
			p.ChainBatches, p.ChainSets))
	}
	etaMax := slices.Max(p.Etas)
	if n.has("sgd") && n.has("sde") && n.has("sde-fine") && n.has("decoupled-fine") {
		res.Numbers = append(res.Numbers, Number{Name: fmt.Sprintf("eta=%g: decoupling error (relative)", etaMax),
			Value: num.Float(n.relDev("sde-fine", etaMax) - n.relDev("decoupled-fine", etaMax))},
			Number{Name: fmt.Sprintf("eta=%g: finite-step error "+
				"(relative)", etaMax), Value: num.Float(n.relDev("sde", etaMax) - n.relDev("sde-fine", etaMax))},
			Number{Name: fmt.Sprintf("eta=%g: SGD vs its SDE (relative)", etaMax),
				Value: num.Float(n.relDev("sgd", etaMax) - n.relDev("sde", etaMax))})
	}
	// One stationary density for illustration: SGD at the middle eta, smallest B.
	etaMid, b0 := p.Etas[len(p.Etas)/2], p.Batches[0]
	if c, ok := n.Cells[e4Key{"sgd", etaMid, b0}]; ok && c.Fit != nil {
		fig, err := densityFigure(env, "density", c.Fit, n.LStar, 0.5, fmt.Sprintf("E4: stationary density of u = "+
			"L/L* - 1, SGD at eta = %g, B = %d", etaMid, b0), c.Theory)
		if err != nil {
			return err
		}
		res.Figures = append(res.Figures, fig)
	}
	return nil
}
