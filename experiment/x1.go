package experiment

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/sgdlab/sgdlab/chain"
	"github.com/sgdlab/sgdlab/escape"
	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/landscape"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/stats"
	"github.com/sgdlab/sgdlab/study"
	"github.com/sgdlab/sgdlab/theory"
)

// x1Config is one double-well configuration.
type x1Config struct {
	Ratio float64 `json:"ratio"` // target L^s/L* (sets the label noise)
	Dim   int     `json:"n"`     // parameters: the well plus n-1 harmonic directions
	Eta   float64 `json:"eta"`
	Batch int     `json:"batch"`
}

type x1Params struct {
	N      int        `json:"N"`
	A      float64    `json:"a"` // well depth: Delta L ~ a^2/2; a = 1/4 makes H* isotropic
	Base   x1Config   `json:"base"`
	Ratios []float64  `json:"ratios"`     // the L* sweep at fixed Delta L
	Vary   []x1Config `json:"variations"` // eta, B and n varied
	wellEscape
}

func (p *x1Params) Validate() error {
	var c check
	c.that(p.N >= 2, "N = %d must be at least 2", p.N)
	c.that(positive(p.A), "a = %v must be positive", p.A)
	c.that(len(p.Ratios) >= 3, "ratios: give at least three L^s/L* values (the comparison fits a line)")
	for _, r := range p.Ratios {
		c.that(r > 1 && !math.IsInf(r, 0), "ratio %v must be a finite number > 1", r)
	}
	for _, v := range append([]x1Config{p.Base}, p.Vary...) {
		c.that(v.Dim >= 1 && v.Dim <= 64, "n = %d must be between 1 and 64", v.Dim)
		c.that(positive(v.Eta), "eta = %v must be positive", v.Eta)
		c.that(v.Batch >= 1 && v.Batch <= p.N, "batch = %d must be between 1 and N", v.Batch)
	}
	for _, v := range p.Vary {
		c.that(v.Ratio > 1 && !math.IsInf(v.Ratio, 0), "variation ratio %v must be a finite number > 1", v.Ratio)
	}
	if c.err != nil {
		return c.err
	}
	return p.wellEscape.validate()
}

const x1Title = "Decisive test on a double well: power law in L^s/L* against Arrhenius"

var x1 = &Experiment{
	ID: "X1", Title: x1Title, Weight: 2,
	Defaults: func(full bool) Params {
		p := &x1Params{N: 10000, A: 0.25, Base: x1Config{Dim: 1, Eta: 0.2, Batch: 1}, Ratios: []float64{1.5, 2, 2.5,
			3, 3.5, 4}, Vary: []x1Config{{2, 2, 0.2, 1}, {2, 3, 0.2, 1}, {2, 1, 0.3, 1}, {2, 1, 0.4, 2}},
			wellEscape: wellEscape{Runs: 400, Dynamics: []string{"decoupled-fine", "sgd", "sgd-replacement"},
				Substeps: 5, WellR: 0.5, BudgetFactor: 20, SGDFactor: 30, MaxSteps: 5_000_000, Seed: 1, Exact: true,
				ChainGrid1: 1000, ChainGrid2: 100}}
		if full {
			p.N, p.Runs, p.Ratios, p.MaxSteps, p.Substeps = 100000, 400, []float64{1.5, 2, 2.5, 3, 3.5, 4, 5},
				100_000_000, 20
		}
		return p
	},
	Run: func(env *Env, params Params) (*Result, error) {
		return timed(func() (*Result, error) { return runX1(env, params.(*x1Params)) })
	},
}

// x1Point is one configuration's measurement and predictions.
type x1Point struct {
	cfg                       x1Config
	tb                        theory.Barrier
	power, arrh, frozen, quad float64 // predicted rates
	noiseRatio                float64 // SGD's Noise(theta_s) / Noise(theta*)
	rates                     map[string]escape.LevelRate
	chain                     *chain.Result // the exact chain (nil for more than two parameters)
	chainWhy                  string        // why the solver refused the chain, when it did
}

// x1Comparison is one dynamics' comparison with the three models on log kappa over the L*
// sweep: chi-square statistics and p-values of each model without free parameters and
// with its free parameters fitted, and the fitted slope against the power law's.
type x1Comparison struct {
	Dyn                  string
	Points               int // configurations with escapes
	PowChi, PowP         float64
	PowFitChi, PowFitP   float64
	ArrChi, ArrP         float64
	ArrFitChi, ArrFitP   float64
	FroChi, FroP         float64
	FroFitChi, FroFitP   float64
	Slope, SlopeSE, Expo float64
	EtaH                 float64 // eta h* of the sweep: the formulas need eta h* < 2
}

func runX1(env *Env, p *x1Params) (*Result, error) {
	res := &Result{ID: "X1", Title: x1Title, Params: p,
		Claim: "Beyond the paper, which crossed no barrier: escape over a real saddle. The double-well regression " +
			"f = x1 (theta1^2 - a) + sum_j x_j theta_j with pure-noise labels of variance sigma^2 has L* ~ " +
			"sigma^2/2 and Delta L ~ a^2/2, so sigma moves L^s/L* at fixed Delta L.",
		Theory: "Power law: kappa = |h_e^s|/(2 pi) sqrt(det H*/|det H^s|) (L^s/L*)^-(B/(eta h*) + 1 - n/2). " +
			"Arrhenius with constant Hessian-aligned noise: the same prefactor times exp(-2 B Delta L/(eta h*)), " +
			"independent of L*. Frozen noise: exp(-B Delta L/(eta h* L*)). For n = 1 the decoupled SDE's exact " +
			"mean time to the other well follows from quadrature (the reference free of Kramers' approximation).",
		Setup: fmt.Sprintf(
			"a = %g (Delta L ~ %.4g), N = %d, base eta = %g, B = %d, n = %d; ratios L^s/L* = %v; %d runs per "+
				"point; exit: first entry into the ball of radius %g |theta_B - theta_s| around the other minimum "+
				"(a committed transition); dynamics %s (fine SDE step eta/%d); censored runs enter by maximum "+
				"likelihood.",
			p.A,
			p.A*p.A/2,
			p.N,
			p.Base.Eta,
			p.Base.Batch,
			p.Base.Dim,
			p.Ratios,
			p.Runs,
			p.WellR,
			strings.Join(p.Dynamics, ", "),
			p.Substeps,
		)}
	var sweep, vary []*x1Point
	for _, r := range p.Ratios {
		c := p.Base
		c.Ratio = r
		pt, err := runX1Point(env, p, c)
		if err != nil {
			return nil, err
		}
		sweep = append(sweep, pt)
	}
	for _, c := range p.Vary {
		pt, err := runX1Point(env, p, c)
		if err != nil {
			return nil, err
		}
		vary = append(vary, pt)
	}
	var cmps []x1Comparison
	for _, dn := range p.Dynamics {
		if c, ok := compareX1(dn, sweep, p); ok {
			cmps = append(cmps, c)
		}
	}
	if err := renderX1(env, p, sweep, vary, cmps, res); err != nil {
		return nil, err
	}
	v := verdictX1(p.Dynamics, cmps, critX1P)
	chainChecksX1(sweep, vary, &v)
	res.judge(v)
	res.Notes = append(res.Notes, p.diverged...)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, pt := range sweep {
		lo, hi = math.Min(lo, pt.noiseRatio), math.Max(hi, pt.noiseRatio)
	}
	res.Notes = append(
		res.Notes,
		fmt.Sprintf(
			"Measured (table, fourth column): SGD's noise at the saddle relative to the minimum, "+
				"Noise(theta_s)/Noise(theta*), ranges over %.3g .. %.3g, where the theory's model (noise ∝ L with "+
				"H frozen at the minimum) has L^s/L* = %.3g .. %.3g.",
			lo,
			hi,
			p.Ratios[0],
			p.Ratios[len(p.Ratios)-1],
		),
	)
	return res, nil
}

// runX1Point measures one configuration with every dynamics.
func runX1Point(env *Env, p *x1Params, c x1Config) (*x1Point, error) {
	sigma := math.Sqrt(p.A * p.A / (c.Ratio - 1))
	prob := study.Problem{Model: fmt.Sprintf("doublewell:a=%g", p.A),
		Data: fmt.Sprintf("gauss:N=%d,d=%d,sigma=%g,seed=%d", p.N, c.Dim, sigma, p.Seed), Loss: "mse"}
	o, prep, err := study.Prepare(env.Ctx, env.Study, prob, nil, p.Seed)
	if err != nil {
		return nil, err
	}
	w := o.NewWorker(1, 0)
	other, _, err := landscape.OtherMinimum(env.Ctx, w, prep.Min.Theta, [][]float64{negate(prep.Min.Theta)})
	if err != nil {
		return nil, err
	}
	br, err := landscape.FindBarrier(env.Ctx, w, prep.Min.Theta, other.Theta)
	if err != nil {
		return nil, err
	}
	pt := &x1Point{cfg: c, tb: br.Theory(), noiseRatio: noiseRatio(o, br), quad: math.NaN()}
	pt.power, pt.arrh, pt.frozen = theory.PowerLaw(pt.tb, c.Batch, c.Eta), theory.Arrhenius(pt.tb, c.Batch, c.Eta),
		theory.Frozen(pt.tb, c.Batch, c.Eta)
	if o.P() == 1 {
		if fl, ok := model.NewFeatureLandscape(o, false); ok {
			target := br.MinB.Theta[0] + p.WellR*(br.Saddle.Theta[0]-br.MinB.Theta[0])
			if t, err := study.Quadrature1D(fl, prep, br, c.Eta, c.Batch, target); err == nil {
				pt.quad = 1 / t
			}
		}
	}
	predicted := 1 / pt.power
	if !math.IsNaN(pt.quad) {
		predicted = 1 / pt.quad
	}
	stage := fmt.Sprintf("ratio %.2f n=%d eta=%g B=%d", c.Ratio, c.Dim, c.Eta, c.Batch)
	if pt.rates, err = p.rates(env, "X1", stage, prob, prep, br, c.Eta, c.Batch, predicted); err != nil {
		return nil, err
	}
	pt.chain, pt.chainWhy, err = p.chain(env, "X1", stage, prob, o.P(), prep, br, c.Eta, c.Batch)
	return pt, err
}

// chainChecksX1 checks the exact chain's rate against SGD with replacement at every
// configuration of the sweep and the variations, and remarks its slope against the power
// law's and how the gap to the decoupled SDE splits at the largest L^s/L*.
func chainChecksX1(sweep, vary []*x1Point, v *Verdict) {
	var lx, ly []float64
	for _, pt := range append(append([]*x1Point(nil), sweep...), vary...) {
		where := fmt.Sprintf("n = %d, eta = %g, B = %d, L^s/L* = %.2f", pt.cfg.Dim, pt.cfg.Eta, pt.cfg.Batch,
			pt.tb.LSaddle/pt.tb.LMin)
		if pt.chain == nil {
			chainMissing(v, where, pt.chainWhy)
			continue
		}
		if lr, ok := pt.rates["sgd-replacement"]; ok {
			v.add(chainRateCheck(where, lr, pt.chain))
		} else {
			v.add(missing(Exact, critChainRate, "exact chain's rate at "+where, "SGD with replacement is not among "+
				"the dynamics"))
		}
	}
	for _, pt := range sweep {
		if pt.chain != nil {
			lx, ly = append(lx, math.Log(pt.tb.LSaddle/pt.tb.LMin)), append(ly, -math.Log(float64(pt.chain.MFPT)))
		}
	}
	if len(lx) >= 3 {
		slope, se := stats.FitLineOLS(lx, ly)
		v.remark("The exact chain's log rate against log(L^s/L*) has slope %.2f (± %.2f about a line) against the "+
			"power law's -%.2f.", slope, se, theory.Exponent(sweep[0].cfg.Batch, sweep[0].cfg.Eta, sweep[0].tb.HStar,
			sweep[0].tb.N))
	}
	last := sweep[len(sweep)-1]
	if last.chain != nil {
		times := map[string]float64{}
		for dn, lr := range last.rates {
			if lr.Escaped >= minEscapes {
				times[dn] = 1 / lr.Kappa
			}
		}
		mf := float64(last.chain.MFPT)
		v.remark("At L^s/L* = %.2f the exact chain's MFPT is %.3g t, %.3g times the decoupled SDE's quadrature; "+
			"against it, %s.", last.tb.LSaddle/last.tb.LMin, mf, mf*last.quad, gapSplit(times, mf))
	}
}

func negate(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = -x
	}
	return out
}

// compareX1 fits log kappa of one dynamics over the sweep with each model (false when
// fewer than three configurations have escapes).
func compareX1(dn string, sweep []*x1Point, p *x1Params) (x1Comparison, bool) {
	var lx, ly, sy, lp, la, lf []float64
	for _, pt := range sweep {
		lr, ok := pt.rates[dn]
		if !ok || lr.Escaped < minEscapes {
			continue
		}
		lx, ly = append(lx, math.Log(pt.tb.LSaddle/pt.tb.LMin)), append(ly, math.Log(lr.Kappa))
		sy = append(sy, 1/math.Sqrt(float64(lr.Escaped)))
		lp, la, lf = append(lp, math.Log(pt.power)), append(la, math.Log(pt.arrh)), append(lf, math.Log(pt.frozen))
	}
	n := len(ly)
	if n < 3 {
		return x1Comparison{Dyn: dn, Points: n}, false
	}
	chi := func(pred []float64, shift float64) float64 {
		s := 0.0
		for i := range ly {
			r := (ly[i] - pred[i] - shift) / sy[i]
			s += r * r
		}
		return s
	}
	bestShift := func(pred []float64) float64 {
		var num, den float64
		for i := range ly {
			w := 1 / (sy[i] * sy[i])
			num += w * (ly[i] - pred[i])
			den += w
		}
		return num / den
	}
	fit := stats.FitLine(lx, ly, sy)
	c := x1Comparison{Dyn: dn, Points: n, Slope: fit.Slope, SlopeSE: fit.SlopeSE,
		Expo: theory.Exponent(p.Base.Batch, p.Base.Eta, sweep[0].tb.HStar, sweep[0].tb.N),
		EtaH: p.Base.Eta * sweep[0].tb.HStar}
	c.PowChi, c.PowFitChi = chi(lp, 0), fit.Chi2
	c.ArrChi, c.ArrFitChi = chi(la, 0), chi(la, bestShift(la))
	c.FroChi, c.FroFitChi = chi(lf, 0), chi(lf, bestShift(lf))
	c.PowP, c.PowFitP = stats.ChiSquareP(c.PowChi, n), stats.ChiSquareP(c.PowFitChi, n-2)
	c.ArrP, c.ArrFitP = stats.ChiSquareP(c.ArrChi, n), stats.ChiSquareP(c.ArrFitChi, n-1)
	c.FroP, c.FroFitP = stats.ChiSquareP(c.FroChi, n), stats.ChiSquareP(c.FroFitChi, n-1)
	return c, true
}

// verdictX1 checks SGD's escape rates over the sweep: the parameter-free power law fits
// (full agreement); otherwise the power law's shape (free slope and prefactor) fits while the
// Arrhenius and frozen-noise shapes are rejected (the qualitative claim). Every other
// dynamics' fits are remarks.
func verdictX1(dynamics []string, cmps []x1Comparison, pReject Criterion) Verdict {
	var v Verdict
	byDyn := map[string]x1Comparison{}
	for _, c := range cmps {
		byDyn[c.Dyn] = c
	}
	sgd, ok := byDyn["sgd"]
	switch {
	case !slices.Contains(dynamics, "sgd"):
		v.add(missing(Paper, pReject, "parameter-free power law for SGD", "SGD is not among the dynamics in the "+
			"parameters"))
	case !ok:
		v.add(missing(Paper, pReject, "parameter-free power law for SGD", "SGD escaped %d or more times in fewer "+
			"than three configurations of the sweep, too few to compare the models", minEscapes))
	case !theory.StepStable(sgd.EtaH, 1):
		v.add(missing(Paper, pReject, "parameter-free power law for SGD", "eta h* = %.3g >= 2: a full-batch step "+
			"overshoots the minimum, outside the formulas' domain", sgd.EtaH))
	default:
		n := sgd.Points
		v.add(above(Paper, pReject, "parameter-free power law for SGD", sgd.PowP, n, "The parameter-free power "+
			"law describes SGD's escape rate over %d configurations with chi-square p = %.2g (criterion: above "+
			"%g).", n, sgd.PowP, pReject.Value).as(Full))
		v.add(above(Paper, pReject, "power-law shape for SGD", sgd.PowFitP, n, "A power of L^s/L* with free slope "+
			"and prefactor gives p = %.2g; its slope is %.2f ± %.2f against the power law's -%.2f.", sgd.PowFitP,
			sgd.Slope, sgd.SlopeSE, sgd.Expo).as(Fallback))
		v.add(atMost(Paper, pReject, "Arrhenius shape rejected for SGD", sgd.ArrFitP, n, "The Arrhenius shape "+
			"with a free constant gives p = %.2g (rejected at or below %g).", sgd.ArrFitP, pReject.Value).as(Fallback))
		v.add(atMost(Paper, pReject, "frozen-noise shape rejected for SGD", sgd.FroFitP, n, "The frozen-noise "+
			"shape with a free prefactor gives p = %.2g.", sgd.FroFitP).as(Fallback))
	}
	for _, d := range dynamics {
		if d == "sgd" {
			continue
		}
		c, ok := byDyn[d]
		if !ok {
			v.remark("%s: fewer than three configurations with %d or more escapes, not compared.", d, minEscapes)
			continue
		}
		v.remark("%s: without free parameters the power law gives p = %.2g, Arrhenius %.2g, frozen noise %.2g; "+
			"slope of log kappa against log(L^s/L*) %.2f ± %.2f against the power law's -%.2f.", d, c.PowP, c.ArrP,
			c.FroP, c.Slope, c.SlopeSE, c.Expo)
	}
	return v
}

// renderX1 writes the sweep table, the model comparison, the variations and the figure.
func renderX1(env *Env, p *x1Params, sweep, vary []*x1Point, cmps []x1Comparison, res *Result) error {
	tab := Table{Title: "Escape rate (per unit t) against the predictions, L* sweep; exact chain: 1/MFPT of SGD " +
		"with replacement", Header: []string{"L^s/L*", "L*", "Delta L", "SGD noise at saddle / at min", "power law",
		"Arrhenius", "frozen", "quadrature", "exact chain"}}
	for _, dn := range p.Dynamics {
		tab.Header = append(tab.Header, dn+" (95%)")
	}
	var rows [][]float64
	var xs, pw, ar, fr, qd, chs []float64
	for _, pt := range sweep {
		ratio := pt.tb.LSaddle / pt.tb.LMin
		ch := math.NaN()
		if pt.chain != nil {
			ch = 1 / float64(pt.chain.MFPT)
		}
		row := []string{f3(ratio), g4(pt.tb.LMin), g4(pt.tb.LSaddle - pt.tb.LMin), f3(pt.noiseRatio), g4(pt.power),
			g4(pt.arrh), g4(pt.frozen), g4(pt.quad), g4(ch)}
		vals := []float64{ratio, pt.tb.LMin, pt.power, pt.arrh, pt.frozen, pt.quad, ch}
		chs = append(chs, ch)
		for _, dn := range p.Dynamics {
			lr := pt.rates[dn]
			row = append(row, fmt.Sprintf("%s (%s..%s)", g4(lr.Kappa), g4(lr.Lo), g4(lr.Hi)))
			vals = append(vals, lr.Kappa, lr.Lo, lr.Hi)
		}
		tab.Rows, rows = append(tab.Rows, row), append(rows, vals)
		xs, pw, ar, fr, qd = append(xs, ratio), append(pw, pt.power), append(ar, pt.arrh), append(fr, pt.frozen),
			append(qd, pt.quad)
	}
	res.Tables = append(res.Tables, tab)
	cell := func(chi, pv float64) string { return fmt.Sprintf("%.1f (p=%.2g)", chi, pv) }
	cmp := Table{Title: "Model comparison on log kappa over the L* sweep (chi-square, p-value)",
		Header: []string{"dynamics", "power law (theory)", "power law (fitted slope)", "fitted slope vs theory",
			"Arrhenius (theory)", "Arrhenius (free constant)", "frozen (theory)", "frozen (free prefactor)"}}
	for _, c := range cmps {
		cmp.Rows = append(cmp.Rows, []string{c.Dyn, cell(c.PowChi, c.PowP), cell(c.PowFitChi, c.PowFitP),
			fmt.Sprintf("%.2f ± %.2f vs -%.2f", c.Slope, c.SlopeSE, c.Expo), cell(c.ArrChi, c.ArrP), cell(c.ArrFitChi,
				c.ArrFitP), cell(c.FroChi, c.FroP), cell(c.FroFitChi, c.FroFitP)})
	}
	res.Tables = append(res.Tables, cmp)
	series := []report.Series{{Name: "power law", X: xs, Y: pw, Style: report.Line}, {Name: "Arrhenius", X: xs, Y: ar,
		Style: report.Dashed}, {Name: "frozen noise", X: xs, Y: fr, Style: report.Dashed},
		{Name: "quadrature (decoupled SDE)", X: xs, Y: qd, Style: report.Dashed},
		{Name: "exact chain (SGD, replacement)", X: xs, Y: chs, Style: report.Line}}
	header := []string{"ratio", "L_star", "power_law", "arrhenius", "frozen", "quadrature", "exact_chain"}
	for _, dn := range p.Dynamics {
		var ys, es []float64
		for _, pt := range sweep {
			lr := pt.rates[dn]
			ys, es = append(ys, lr.Kappa), append(es, lr.Kappa/math.Sqrt(math.Max(float64(lr.Escaped), 1)))
		}
		series = append(series, report.Series{Name: "measured: " + dn, X: xs, Y: ys, YErr: es, Style: report.Points})
		header = append(header, dn, dn+"_lo", dn+"_hi")
	}
	fig, err := env.figure(
		"rate_vs_ratio",
		report.Figure{Title: "X1: escape rate vs L^s/L* at fixed Delta L", XLabel: "L^s / L*",
			YLabel: "rate kappa (per unit t)", LogX: true, LogY: true, Series: series},
		header,
		rows,
		"The power law predicts a straight line of slope -(B/(eta h*) + 1 - n/2); Arrhenius a horizontal line; the "+
			"frozen-noise form a curve in 1/L*.",
	)
	if err != nil {
		return err
	}
	res.Figures = append(res.Figures, fig)
	vt := Table{Title: "Variations at L^s/L* ~ 2: measured / predicted rate", Header: []string{"n", "eta", "B",
		"exponent", "power law", "Arrhenius", "frozen", "exact chain"}}
	for _, dn := range p.Dynamics {
		vt.Header = append(vt.Header, dn+": measured", dn+"/power", dn+"/Arrhenius")
	}
	for _, pt := range vary {
		c := pt.cfg
		row := []string{fmt.Sprint(c.Dim), g4(c.Eta), fmt.Sprint(c.Batch), f3(theory.Exponent(c.Batch, c.Eta,
			pt.tb.HStar, pt.tb.N)), g4(pt.power), g4(pt.arrh), g4(pt.frozen), "not solved (n > 2)"}
		if pt.chain != nil {
			row[len(row)-1] = g4(1 / float64(pt.chain.MFPT))
		}
		for _, dn := range p.Dynamics {
			lr := pt.rates[dn]
			row = append(row, g4(lr.Kappa), f3(lr.Kappa/pt.power), f3(lr.Kappa/pt.arrh))
			res.Numbers = append(res.Numbers, Number{Name: fmt.Sprintf("%s n=%d eta=%g B=%d: rate / power-law "+
				"prediction", dn, c.Dim, c.Eta, c.Batch), Value: num.Float(lr.Kappa / pt.power)})
		}
		vt.Rows = append(vt.Rows, row)
	}
	res.Tables = append(res.Tables, vt)
	return nil
}
