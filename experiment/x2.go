package experiment

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sgdlab/sgdlab/chain"
	"github.com/sgdlab/sgdlab/escape"
	"github.com/sgdlab/sgdlab/landscape"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/study"
	"github.com/sgdlab/sgdlab/theory"
)

type x2Params struct {
	Model  string    `json:"model"`
	N      int       `json:"N"`
	W      float64   `json:"teacher_w"`
	Sigmas []float64 `json:"sigmas"` // label noise levels (set L*)
	Eta    float64   `json:"eta"`
	Batch  int       `json:"batch"`
	wellEscape
}

func (p *x2Params) Validate() error {
	var c check
	c.that(p.N >= 2, "N = %d must be at least 2", p.N)
	c.that(positive(p.W), "teacher_w = %v must be positive", p.W)
	c.that(len(p.Sigmas) > 0, "sigmas: give at least one label noise level")
	for _, s := range p.Sigmas {
		c.that(positive(s), "sigma = %v must be positive", s)
	}
	c.that(positive(p.Eta), "eta = %v must be positive", p.Eta)
	c.that(p.Batch >= 1 && p.Batch <= p.N, "batch = %d must be between 1 and N", p.Batch)
	if c.err != nil {
		return c.err
	}
	return p.wellEscape.validate()
}

const x2Title = "Escape of a small neural network over a saddle found by NEB"

var x2 = &Experiment{
	ID: "X2", Title: x2Title, Weight: 1,
	Defaults: func(full bool) Params {
		p := &x2Params{Model: "mlp:1-1-1:tanh:nobias", N: 200, W: 2, Sigmas: []float64{0.7, 0.8}, Eta: 0.5, Batch: 1,
			wellEscape: wellEscape{Runs: 100, Dynamics: []string{"decoupled-fine", "sgd", "sgd-replacement"},
				Substeps: 5, WellR: 0.5, BudgetFactor: 20, SGDFactor: 1, MaxSteps: 200_000, Seed: 1, Exact: true,
				ChainGrid1: 1000, ChainGrid2: 200, ChainMargin: 0.5}}
		if full {
			p.N, p.Runs, p.Sigmas, p.MaxSteps = 2000, 400, []float64{0.6, 0.7, 0.8, 0.9}, 50_000_000
			p.ChainGrid2 = 300
		}
		return p
	},
	Run: func(env *Env, params Params) (*Result, error) {
		return timed(func() (*Result, error) { return runX2(env, params.(*x2Params)) })
	},
}

// x2Point is one noise level's measurement.
type x2Point struct {
	Sigma       float64
	Eta         float64
	TB          theory.Barrier
	MinEigs     []float64
	SaddleEigs  []float64
	Power, Arrh float64
	Frozen      float64
	NoiseRatio  float64 // SGD's Noise(theta_s)/Noise(theta*), measured
	Rates       map[string]escape.LevelRate
	Chain       *chain.Result // the exact chain (nil when not solved)
	ChainWhy    string        // why the solver refused the chain, when it did
}

func runX2(env *Env, p *x2Params) (*Result, error) {
	res := &Result{ID: "X2", Title: x2Title, Params: p,
		Claim: "Beyond the paper: a network f = w2 tanh(w1 x) fitting y = tanh(w x) + noise has two minima (w1, " +
			"w2) and (-w1, -w2) joined through an index-1 saddle at the origin; the escape rate is compared with " +
			"both theories using Hessians measured at the minimum and at the saddle.",
		Theory: "Power law with h* the mean Hessian eigenvalue at the minimum, n = 2 and det H*/|det H^s| from the " +
			"measured spectra; Arrhenius exp(-2 B Delta L/(eta h*)) and the frozen-noise form with the same " +
			"prefactor.",
		Setup: fmt.Sprintf(
			"%s on tanh:N=%d,w=%g,sigma in %v; eta = %g, B = %d; %d runs; exit: entry into the ball of radius %g "+
				"|theta_B - theta_s| around the other minimum; dynamics %s (fine SDE step eta/%d).",
			p.Model,
			p.N,
			p.W,
			p.Sigmas,
			p.Eta,
			p.Batch,
			p.Runs,
			p.WellR,
			strings.Join(p.Dynamics, ", "),
			p.Substeps,
		),
	}
	var pts []x2Point
	for _, sigma := range p.Sigmas {
		pt, err := runX2Point(env, p, sigma)
		if err != nil {
			return nil, err
		}
		pts = append(pts, pt)
	}
	res.Notes = append(res.Notes, p.diverged...)
	renderX2(p, pts, res)
	v := verdictX2(p.Dynamics, pts, critX2Factor)
	chainChecksX2(pts, &v)
	res.judge(v)
	return res, nil
}

func runX2Point(env *Env, p *x2Params, sigma float64) (x2Point, error) {
	prob := study.Problem{Model: p.Model, Data: fmt.Sprintf("tanh:N=%d,w=%g,sigma=%g,seed=%d", p.N, p.W, sigma,
		p.Seed), Loss: "mse"}
	o, err := prob.Build(env.Ctx, env.Study)
	if err != nil {
		return x2Point{}, err
	}
	start := make([]float64, o.P())
	for i := range start {
		start[i] = 1
	}
	w := o.NewWorker(1, 0)
	pa, err := landscape.Minimize(env.Ctx, w, start, landscape.MinimizeOptions{})
	if err != nil {
		return x2Point{}, err
	}
	prep, err := study.Minimum(env.Ctx, env.Study, o, pa.Theta, p.Seed)
	if err != nil {
		return x2Point{}, err
	}
	br, err := landscape.FindBarrier(env.Ctx, w, prep.Min.Theta, negate(prep.Min.Theta))
	if err != nil {
		return x2Point{}, err
	}
	tb := br.Theory()
	prep.HStar = tb.HStar
	pt := x2Point{Sigma: sigma, Eta: p.Eta, TB: tb, MinEigs: prep.Min.Eigs, SaddleEigs: br.Saddle.Eigs,
		NoiseRatio: noiseRatio(o, br), Power: theory.PowerLaw(tb, p.Batch, p.Eta),
		Arrh: theory.Arrhenius(tb, p.Batch, p.Eta), Frozen: theory.Frozen(tb, p.Batch, p.Eta)}
	stage := fmt.Sprintf("sigma=%g", sigma)
	if pt.Rates, err = p.rates(env, "X2", stage, prob, prep, br, p.Eta, p.Batch, 1/pt.Power); err != nil {
		return pt, err
	}
	pt.Chain, pt.ChainWhy, err = p.chain(env, "X2", stage, prob, o.P(), prep, br, p.Eta, p.Batch)
	return pt, err
}

// chainChecksX2 checks, per noise level, the exact chain's rate against SGD with
// replacement (chainRateCheck), and remarks its ratio to the predictions and how the gap to
// the decoupled SDE splits.
func chainChecksX2(pts []x2Point, v *Verdict) {
	for _, pt := range pts {
		c := pt.Chain
		where := fmt.Sprintf("sigma = %g", pt.Sigma)
		if c == nil {
			chainMissing(v, where, pt.ChainWhy)
			continue
		}
		mf := float64(c.MFPT)
		if lr, ok := pt.Rates["sgd-replacement"]; ok {
			v.add(chainRateCheck(where, lr, c))
		} else {
			v.add(missing(Exact, critChainRate, "exact chain's rate at "+where, "SGD with replacement is not among "+
				"the dynamics"))
		}
		times := map[string]float64{}
		for dn, lr := range pt.Rates {
			if lr.Escaped >= minEscapes {
				times[dn] = 1 / lr.Kappa
			}
		}
		v.remark("sigma = %g: the exact chain's MFPT is %.4g t (%.4g steps; half grid %.4g t), a rate %.3g times "+
			"the power law's and %.3g times Arrhenius'; against the decoupled SDE: %s.", pt.Sigma, mf,
			float64(c.MFPTSteps), float64(c.CoarseMFPT), 1/mf/pt.Power, 1/mf/pt.Arrh, gapSplit(times, mf))
	}
}

// x2Compare places a rate's 95% interval against [pred/factor, pred*factor]: +1 above,
// -1 below, 0 overlapping.
func x2Compare(lr escape.LevelRate, pred, factor float64) int {
	switch {
	case lr.Lo > pred*factor:
		return 1
	case lr.Hi < pred/factor:
		return -1
	}
	return 0
}

// verdictX2 checks SGD's rate against the power law at every noise level (its 95% interval
// against the band [power/factor, power*factor], with at least minEscapes escapes), and
// remarks every dynamics' ratio to both predictions.
func verdictX2(dynamics []string, pts []x2Point, factor Criterion) Verdict {
	var v Verdict
	if !slices.Contains(dynamics, "sgd") || len(pts) == 0 {
		v.add(missing(Paper, factor, "SGD's rate against the power law", "SGD is not among the dynamics in the "+
			"parameters"))
		return v
	}
	for _, pt := range pts {
		lr := pt.Rates["sgd"]
		name := fmt.Sprintf("SGD's rate against the power law at sigma = %g", pt.Sigma)
		chk := newCheck(Paper, factor, name, lr.Kappa/pt.Power, "At sigma = %g SGD's escape rate is %.3g "+
			"(95%%: %.3g .. %.3g, %d of %d runs escaped), %.3g times the power law's %.3g (criterion: the interval "+
			"reaches within a factor %g).", pt.Sigma, lr.Kappa, lr.Lo, lr.Hi, lr.Escaped, lr.Runs,
			lr.Kappa/pt.Power, pt.Power, factor.Value)
		chk.Target = 1
		if !theory.StepStable(pt.Eta, pt.TB.HStar) {
			v.add(missing(Paper, factor, name, "eta h* = %.3g >= 2: a full-batch step overshoots the minimum, "+
				"outside the power law's domain", pt.Eta*pt.TB.HStar))
		} else {
			v.add(chk.byInterval(x2Compare(lr, pt.Power, factor.Value) == 0, lr.Escaped, minEscapes))
		}
		for _, dn := range dynamics {
			if dn == "sgd" {
				continue
			}
			r := pt.Rates[dn]
			v.remark("sigma = %g, %s: rate %.3g (95%%: %.3g .. %.3g, %d of %d runs escaped), %.3g times the power "+
				"law and %.3g times Arrhenius.", pt.Sigma, dn, r.Kappa, r.Lo, r.Hi, r.Escaped, r.Runs,
				r.Kappa/pt.Power, r.Kappa/pt.Arrh)
		}
		v.remark("sigma = %g: SGD's rate is %.3g times Arrhenius'; its measured noise at the saddle is %.3g times "+
			"that at the minimum, where the decoupled model has L^s/L* = %.3g.", pt.Sigma, lr.Kappa/pt.Arrh,
			pt.NoiseRatio, pt.TB.LSaddle/pt.TB.LMin)
	}
	return v
}

func renderX2(p *x2Params, pts []x2Point, res *Result) {
	tab := Table{Title: "Measured rate against the predictions", Header: []string{"sigma", "L*", "L^s",
		"eigenvalues at min", "saddle eigenvalues", "SGD noise at saddle / at min " +
			"(theory: L^s/L*)", "power law", "Arrhenius", "frozen", "exact chain 1/MFPT"}}
	for _, dn := range p.Dynamics {
		tab.Header = append(tab.Header, dn+" (95%)", dn+"/power", dn+"/Arrhenius")
	}
	for _, pt := range pts {
		row := []string{g4(pt.Sigma), g4(pt.TB.LMin), g4(pt.TB.LSaddle), fmtFloats(pt.MinEigs),
			fmtFloats(pt.SaddleEigs), fmt.Sprintf("%.3g (%.3g)", pt.NoiseRatio, pt.TB.LSaddle/pt.TB.LMin),
			g4(pt.Power), g4(pt.Arrh), g4(pt.Frozen), "not solved"}
		if pt.Chain != nil {
			row[len(row)-1] = g4(1 / float64(pt.Chain.MFPT))
		}
		for _, dn := range p.Dynamics {
			lr := pt.Rates[dn]
			row = append(row, fmt.Sprintf("%s (%s..%s)", g4(lr.Kappa), g4(lr.Lo), g4(lr.Hi)), f3(lr.Kappa/pt.Power),
				f3(lr.Kappa/pt.Arrh))
			res.Numbers = append(
				res.Numbers,
				Number{Name: fmt.Sprintf("sigma=%g %s: escape rate", pt.Sigma, dn), Value: num.Float(lr.Kappa),
					Err: num.Float(
						(lr.Hi - lr.Lo) / 3.92,
					), Theory: num.Float(pt.Power), Note: fmt.Sprintf("Arrhenius predicts %.4g; %d escaped, %d "+
						"censored", pt.Arrh, lr.Escaped, lr.Censored)},
			)
		}
		tab.Rows = append(tab.Rows, row)
		res.Notes = append(
			res.Notes,
			fmt.Sprintf(
				"sigma = %g: Hessian eigenvalues at the minimum %s (anisotropy %.0f); the theory's single h* is "+
					"taken as their mean %.4g.",
				pt.Sigma,
				fmtFloats(pt.MinEigs),
				pt.MinEigs[0]/pt.MinEigs[len(pt.MinEigs)-1],
				pt.TB.HStar,
			),
		)
	}
	res.Tables = append(res.Tables, tab)
}
