package experiment

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/sgdlab/sgdlab/chain"
	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/sgd"
	"github.com/sgdlab/sgdlab/stats"
	"github.com/sgdlab/sgdlab/study"
	"github.com/sgdlab/sgdlab/theory"
)

// x3Config is one pair of minima: sharpness asymmetry K (n = 1) or, with Gate, Dim - 1 extra
// directions active at A only (n_A = Dim, n_B = 1).
type x3Config struct {
	K     float64 `json:"k"`
	Gate  bool    `json:"gate"`
	Dim   int     `json:"n"`
	Eta   float64 `json:"eta"`
	Batch int     `json:"batch"`
}

type x3Params struct {
	N     int        `json:"N"`
	A     float64    `json:"a"`     // minima at +-sqrt(a)
	Ratio float64    `json:"ratio"` // L^s/L* (sets the label noise)
	Eta   float64    `json:"eta"`
	Batch int        `json:"batch"`
	Sharp []float64  `json:"sharpness_k"` // k of the sharpness sweep (n = 1)
	Dims  []int      `json:"dims"`        // n_A of the dimension sweep (k = 0, gate)
	Vary  []x3Config `json:"variations"`  // other eta and B
	// Occupation long runs of SGD per configuration.
	OccRuns  int   `json:"occupation_runs"`
	OccSteps int64 `json:"occupation_steps"`
	wellEscape
}

func (p *x3Params) Validate() error {
	var c check
	c.that(p.N >= 2, "N = %d must be at least 2", p.N)
	c.that(positive(p.A), "a = %v must be positive", p.A)
	c.that(p.Ratio > 1 && !math.IsInf(p.Ratio, 0), "ratio = %v must be a finite number > 1", p.Ratio)
	c.that(positive(p.Eta) && p.Batch >= 1 && p.Batch <= p.N, "eta must be positive and batch in [1, N]")
	c.that(len(p.Sharp) >= 2 || len(p.Dims) >= 2, "give at least two sharpness k or two dims to sweep")
	for _, k := range p.Sharp {
		c.that(!math.IsNaN(k) && math.Abs(k) <= 5, "sharpness k = %v must be in [-5, 5]", k)
	}
	for _, n := range p.Dims {
		c.that(n >= 1 && n <= 16, "dimension n = %d must be between 1 and 16", n)
	}
	for _, v := range p.Vary {
		c.that(positive(v.Eta) && v.Batch >= 1 && v.Batch <= p.N && v.Dim >= 1 && v.Dim <= 16,
			"variation %+v: eta positive, batch in [1, N], n in [1, 16]", v)
	}
	c.that(p.OccRuns >= 0 && (p.OccRuns == 0 || p.OccSteps >= 1000), "occupation runs need at least 1000 steps")
	if c.err != nil {
		return c.err
	}
	return p.wellEscape.validate()
}

const x3Title = "Which minimum SGD prefers: sharpness and effective dimension"

var x3 = &Experiment{
	ID: "X3", Title: x3Title, Weight: 1.5,
	Defaults: func(full bool) Params {
		p := &x3Params{N: 4000, A: 0.25, Ratio: 1.6, Eta: 0.2, Batch: 1, Sharp: []float64{0, 0.15, 0.3},
			Dims: []int{2, 3}, Vary: []x3Config{{K: 0.15, Dim: 1, Eta: 0.3, Batch: 1}, {K: 0.15, Dim: 1, Eta: 0.4,
				Batch: 2}}, OccRuns: 2, OccSteps: 2_000_000,
			wellEscape: wellEscape{Runs: 200, Dynamics: []string{"sgd", "decoupled-fine"}, Substeps: 5, WellR: 0.5,
				BudgetFactor: 30, SGDFactor: 10, MaxSteps: 5_000_000, Seed: 1, Exact: true, ChainGrid1: 1000,
				ChainGrid2: 60}} // the 2-D chain's cost grows as G^4 (rows over N = 4000 samples)
		if full {
			p.N, p.Sharp, p.Dims, p.Runs, p.OccRuns, p.OccSteps = 20000, []float64{0, 0.1, 0.2, 0.3, 0.4},
				[]int{2, 3, 4, 5}, 400, 4, 20_000_000
			p.Substeps, p.MaxSteps, p.ChainGrid2 = 20, 100_000_000, 200
		}
		return p
	},
	Run: func(env *Env, params Params) (*Result, error) {
		return timed(func() (*Result, error) { return runX3(env, params.(*x3Params)) })
	},
}

// x3Point is one configuration's measurements and predictions.
type x3Point struct {
	Cfg           x3Config
	Sweep         string // "sharpness", "dimension" or "variation"
	HA, HB        float64
	NA, NB        int
	Recs          map[string]*study.BothRecord // per dynamics
	Power, Arrh   float64                      // predicted p_A/p_B
	Quad          float64                      // decoupled SDE quadrature (one parameter), else NaN
	ChainAB       float64                      // exact chain MFPTs (NaN when not solved)
	ChainBA       float64
	ChainChange   float64
	ChainLeaveBox float64
	ChainWhy      string // why the solver refused the chain, when it did
}

// x3PointJSON is x3Point with NaN-safe numbers: the form the run store keeps (study.Memo).
type x3PointJSON struct {
	Cfg     x3Config                     `json:"config"`
	Sweep   string                       `json:"sweep"`
	Recs    map[string]*study.BothRecord `json:"records"`
	Numbers []num.Float                  `json:"numbers"` // HA, HB, Power, Arrh, Quad, ChainAB, ChainBA, ...
	Counts  []int                        `json:"counts"`  // NA, NB
	Why     string                       `json:"chain_refused,omitempty"`
}

// MarshalJSON writes the point with NaN as null.
func (pt *x3Point) MarshalJSON() ([]byte, error) {
	return json.Marshal(x3PointJSON{Cfg: pt.Cfg, Sweep: pt.Sweep, Recs: pt.Recs, Counts: []int{pt.NA, pt.NB},
		Why: pt.ChainWhy,
		Numbers: num.Floats([]float64{pt.HA, pt.HB, pt.Power, pt.Arrh, pt.Quad, pt.ChainAB, pt.ChainBA,
			pt.ChainChange, pt.ChainLeaveBox})})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (pt *x3Point) UnmarshalJSON(b []byte) error {
	var j x3PointJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if len(j.Numbers) != 9 || len(j.Counts) != 2 {
		return fmt.Errorf("an X3 point with %d numbers and %d counts (want 9 and 2)", len(j.Numbers), len(j.Counts))
	}
	v := make([]float64, 9)
	for i, x := range j.Numbers {
		v[i] = float64(x)
	}
	*pt = x3Point{Cfg: j.Cfg, Sweep: j.Sweep, Recs: j.Recs, NA: j.Counts[0], NB: j.Counts[1], HA: v[0], HB: v[1],
		Power: v[2], Arrh: v[3], Quad: v[4], ChainAB: v[5], ChainBA: v[6], ChainChange: v[7], ChainLeaveBox: v[8],
		ChainWhy: j.Why}
	return nil
}

// chainRatio is the exact chain's p_A/p_B = T_AB/T_BA.
func (pt *x3Point) chainRatio() float64 { return pt.ChainAB / pt.ChainBA }

func runX3(env *Env, p *x3Params) (*Result, error) {
	res := &Result{ID: "X3", Title: x3Title, Params: p,
		Claim: "The paper's abstract: \"Our escape-rate formula explains an empirical fact that SGD prefers flat " +
			"minima with low effective dimensions.\" Tested directly on two minima of equal loss that differ in " +
			"sharpness (the well's curvature) or in effective dimension (directions active at one minimum only).",
		Theory: "By renewal, the time fraction near A over near B is p_A/p_B = T_AB/T_BA = kappa_BA/kappa_AB. " +
			"The power law kappa = |h_e^s|/(2 pi) sqrt(det H*/|det H^s|) (L^s/L*)^-(B/(eta h*) + 1 - n/2) " +
			"favours the minimum with the smaller h* (a larger exponent) and the smaller n; Arrhenius " +
			"exp(-2 B Delta L/(eta h*)) depends on h* and Delta L but not on n (docs/theory.md, \"Which minimum " +
			"SGD prefers\").",
		Setup: fmt.Sprintf(
			"asymwell:a=%g,k=K[,gate=1] on gauss:N=%d,d=n,sigma for L^s/L* = %g; eta = %g, B = %d; sharpness "+
				"sweep k = %v (n = 1), dimension sweep n_A = %v (n_B = 1, k = 0), variations %v; %d escape runs "+
				"per direction and dynamics (%s), cores of radius %g |theta_X - theta_s|; %d SGD occupation runs "+
				"of %d steps; the exact chain where the model has at most two parameters.",
			p.A, p.N, p.Ratio, p.Eta, p.Batch, p.Sharp, p.Dims, p.Vary, p.Runs, strings.Join(p.Dynamics, ", "),
			p.WellR, p.OccRuns, p.OccSteps)}
	var pts []*x3Point
	add := func(c x3Config, sweep string) error {
		key := struct {
			Params     *x3Params
			Config     x3Config
			Sweep      string
			SGD, Chain int
		}{p, c, sweep, sgd.AlgorithmVersion, chain.Version}
		pt, err := study.Memo(env.Ctx, env.Study, ensemble.Spec{Kind: "x3-point", Key: key, Seed: p.Seed,
			Label: fmt.Sprintf("X3 %s k=%g n=%d gate=%v eta=%g B=%d", sweep, c.K, c.Dim, c.Gate, c.Eta, c.Batch)},
			func() (*x3Point, error) { return runX3Point(env, p, c, sweep) })
		if err != nil {
			return err
		}
		pts = append(pts, pt)
		return nil
	}
	for _, k := range p.Sharp {
		if err := add(x3Config{K: k, Dim: 1, Eta: p.Eta, Batch: p.Batch}, "sharpness"); err != nil {
			return nil, err
		}
	}
	for _, n := range p.Dims {
		if err := add(x3Config{Gate: true, Dim: n, Eta: p.Eta, Batch: p.Batch}, "dimension"); err != nil {
			return nil, err
		}
	}
	for _, v := range p.Vary {
		if err := add(v, "variation"); err != nil {
			return nil, err
		}
	}
	if err := renderX3(env, pts, res); err != nil {
		return nil, err
	}
	res.judge(verdictX3(pts, critX3P, critX3Trend, critChainZ))
	return res, nil
}

func runX3Point(env *Env, p *x3Params, c x3Config, sweep string) (*x3Point, error) {
	sigma := p.A / math.Sqrt(p.Ratio-1)
	spec := fmt.Sprintf("asymwell:a=%g,k=%g", p.A, c.K)
	if c.Gate {
		spec += ",gate=1"
	}
	prob := study.Problem{Model: spec, Data: fmt.Sprintf("gauss:N=%d,d=%d,sigma=%g,seed=%d", p.N, c.Dim, sigma,
		p.Seed), Loss: "mse"}
	pt := &x3Point{Cfg: c, Sweep: sweep, Recs: map[string]*study.BothRecord{}, Quad: math.NaN(),
		ChainAB: math.NaN(), ChainBA: math.NaN()}
	stage := fmt.Sprintf("k=%g n=%d gate=%v eta=%g B=%d", c.K, c.Dim, c.Gate, c.Eta, c.Batch)
	var first *study.BothRecord
	for _, dn := range p.Dynamics {
		dyn, err := dynamics(dn, c.Eta, c.Batch, "replacement", p.Substeps)
		if err != nil {
			return nil, err
		}
		env.stage("X3: %s %s", stage, dn)
		occ := 0
		if dyn.Kind == "sgd" {
			occ = p.OccRuns
		}
		spec := study.BothSpec{Problem: prob, Dynamics: dyn, WellR: p.WellR, Runs: p.Runs, Seed: p.Seed,
			MaxSteps: p.MaxSteps, OccRuns: occ, OccSteps: p.OccSteps, OccBlocks: 20, NA: c.Dim, NB: 1}
		if !c.Gate {
			spec.NB = c.Dim // without the gate the extra directions are active at both minima
		}
		if first != nil {
			spec.MinA, spec.MinB, spec.BarAB, spec.BarBA = first.MinA, first.MinB, first.AB.Barrier, first.BA.Barrier
		}
		rec, err := study.BothWays(env.Ctx, env.Study, spec)
		if err != nil {
			return nil, fmt.Errorf("X3 %s %s: %w", stage, dn, err)
		}
		if first == nil {
			first = rec
		}
		pt.Recs[dn] = rec
	}
	pt.HA, pt.HB, pt.NA, pt.NB = first.HStarA, first.HStarB, first.NA, first.NB
	for _, pr := range first.Predictions {
		switch pr.Name {
		case "power law":
			pt.Power = float64(pr.Ratio)
		case "Arrhenius":
			pt.Arrh = float64(pr.Ratio)
		case "quadrature":
			pt.Quad = float64(pr.Ratio)
		}
	}
	if p.Exact && c.Dim <= chain.MaxParams {
		grid := p.ChainGrid1
		if c.Dim == 2 {
			grid = p.ChainGrid2
		}
		env.stage("X3: %s exact chain", stage)
		one := func(from, to []float64) (*chain.Result, error) {
			rec, err := study.Chain(env.Ctx, env.Study, study.ChainSpec{Problem: prob, Eta: c.Eta, Batch: c.Batch,
				Exit: fmt.Sprintf("well:r=%g", p.WellR), Grid: grid, Seed: p.Seed, Start: from, To: to,
				Margin: p.ChainMargin})
			if err != nil {
				return nil, err
			}
			return rec.Levels[0], nil
		}
		ab, err := one(first.MinA.Min.Theta, first.MinB.Min.Theta)
		if err != nil {
			return pt, chainRefused(&pt.ChainWhy, fmt.Errorf("X3 %s exact chain A -> B: %w", stage, err))
		}
		ba, err := one(first.MinB.Min.Theta, first.MinA.Min.Theta)
		if err != nil {
			return pt, chainRefused(&pt.ChainWhy, fmt.Errorf("X3 %s exact chain B -> A: %w", stage, err))
		}
		pt.ChainAB, pt.ChainBA = float64(ab.MFPT), float64(ba.MFPT)
		pt.ChainChange = math.Max(float64(ab.GridChange), float64(ba.GridChange))
		pt.ChainLeaveBox = math.Max(ab.LeaveBox, ba.LeaveBox)
	}
	return pt, nil
}

// verdictX3 checks SGD's preference: the parameter-free power law's ratios fit SGD's
// (chi-square on log p_A/p_B, p above pReject: full agreement); otherwise the preference
// moves the way the theory says in each sweep (toward the flatter minimum as A sharpens,
// toward the lower-dimensional one as n_A grows: each slope with the predicted sign and at
// least trend standard errors from zero). Configurations count only where SGD escaped at
// least minEscapes times each way. The exact chain's ratios are checked against SGD's.
func verdictX3(pts []*x3Point, pReject, trend, chainZ Criterion) Verdict {
	var v Verdict
	var sgd []*x3Point
	for _, pt := range pts {
		r := pt.Recs["sgd"]
		if r == nil || r.RatesAB.Escaped < minEscapes || r.RatesBA.Escaped < minEscapes {
			continue
		}
		if eh := pt.Cfg.Eta * math.Max(pt.HA, pt.HB); !theory.StepStable(eh, 1) {
			v.remark("%s: eta h* = %.3g >= 2 at the sharper minimum, outside the power law's domain: not judged.",
				pt.label(), eh)
			continue
		}
		sgd = append(sgd, pt)
	}
	if len(sgd) < 2 {
		v.add(missing(Paper, pReject, "power law for SGD's occupation ratios", "SGD escaped %d or more times in "+
			"both directions in fewer than two configurations (or is not among the dynamics)", minEscapes))
		return v
	}
	chi, dof := 0.0, 0
	for _, pt := range sgd {
		r := pt.Recs["sgd"]
		z := (math.Log(float64(r.RatioRates)) - math.Log(pt.Power)) / float64(r.LogRatioSE)
		chi += z * z
		dof++
	}
	pPow := stats.ChiSquareP(chi, dof)
	v.add(above(Paper, pReject, "power law for SGD's occupation ratios", pPow, dof, "The parameter-free power law "+
		"against SGD's occupation ratio p_A/p_B in %d configurations: chi-square %.1f on %d dof, p = %.2g "+
		"(criterion: above %g).", dof, chi, dof, pPow, pReject.Value).as(Full))
	sweep := func(sweep string, x func(*x3Point) float64, what string) {
		var xs, ys, ss, ps []float64
		for _, pt := range sgd {
			if pt.Sweep != sweep {
				continue
			}
			r := pt.Recs["sgd"]
			xs, ys = append(xs, x(pt)), append(ys, math.Log(float64(r.RatioRates)))
			ss, ps = append(ss, float64(r.LogRatioSE)), append(ps, math.Log(pt.Power))
		}
		name := sweep + " sweep follows the power law's direction"
		if len(xs) < 2 || slices.Min(xs) == slices.Max(xs) {
			if sweep == "sharpness" { // the sharpness sweep is needed; the dimension sweep only when run
				v.add(missing(Paper, trend, name, "fewer than two configurations of the sweep with enough "+
					"escapes").as(Fallback))
			}
			return
		}
		f := stats.FitLine(xs, ys, ss)
		pred, _ := stats.FitLineOLS(xs, ps)
		z := math.NaN()
		if pred != 0 {
			z = math.Copysign(1, pred) * f.Slope / f.SlopeSE
		}
		v.add(atLeast(Paper, trend, name, z, len(xs), "%s sweep: log(p_A/p_B) against %s has slope %.2f ± %.2f "+
			"for SGD; the power law gives %.2f (%.1f standard errors in the predicted direction; criterion %g).",
			strings.ToUpper(sweep[:1])+sweep[1:], what, f.Slope, f.SlopeSE, pred, z, trend.Value).as(Fallback))
	}
	sweep("sharpness", func(pt *x3Point) float64 { return math.Log(pt.HA / pt.HB) }, "log(h_A/h_B)")
	sweep("dimension", func(pt *x3Point) float64 { return float64(pt.NA - pt.NB) }, "n_A - n_B")
	for _, pt := range sgd {
		if math.IsNaN(pt.ChainAB) {
			chainMissing(&v, pt.label(), pt.ChainWhy)
			continue
		}
		r := pt.Recs["sgd"]
		lr, lc, se := math.Log(float64(r.RatioRates)), math.Log(pt.chainRatio()), float64(r.LogRatioSE)
		v.add(withinSE(Exact, chainZ, "exact chain's p_A/p_B at "+pt.label(), lr, se, lc, min(r.RatesAB.Escaped,
			r.RatesBA.Escaped), minEscapes, "At %s the exact chain's p_A/p_B = T_AB/T_BA is %.3g against SGD's %.3g "+
			"(%.1f standard errors of log p_A/p_B; criterion %g).", pt.label(), pt.chainRatio(),
			float64(r.RatioRates), math.Abs(lr-lc)/se, chainZ.Value))
	}
	for _, pt := range pts {
		if r := pt.Recs["decoupled-fine"]; r != nil && r.RatesAB.Escaped > 0 && r.RatesBA.Escaped > 0 {
			ref, name := pt.Power, "power law"
			if !math.IsNaN(pt.Quad) {
				ref, name = pt.Quad, "quadrature"
			}
			z := (math.Log(float64(r.RatioRates)) - math.Log(ref)) / float64(r.LogRatioSE)
			v.remark("The decoupled SDE's p_A/p_B at %s is %.3g against the %s's %.3g (z = %.1f).", pt.label(),
				float64(r.RatioRates), name, ref, z)
		}
	}
	return v
}

func (pt *x3Point) label() string {
	if pt.Cfg.Gate {
		return fmt.Sprintf("n_A = %d (eta %g, B %d)", pt.NA, pt.Cfg.Eta, pt.Cfg.Batch)
	}
	return fmt.Sprintf("h_A/h_B = %.2f (eta %g, B %d)", pt.HA/pt.HB, pt.Cfg.Eta, pt.Cfg.Batch)
}

// renderX3 writes the table and the two figures: p_A/p_B against the sharpness ratio and
// against n_A - n_B, measured and predicted.
func renderX3(env *Env, pts []*x3Point, res *Result) error {
	tab := Table{Title: "Occupation ratio p_A/p_B (from T_AB/T_BA of the escape ensembles; SGD also from long runs)",
		Header: []string{"configuration", "h_A", "h_B", "n_A", "n_B", "power law", "Arrhenius", "quadrature",
			"exact chain", "SGD (rates)", "SGD (long runs)", "decoupled SDE (rates)"}}
	ratio := func(r *study.BothRecord) string {
		if r == nil {
			return "not measured"
		}
		return fmt.Sprintf("%.3g (x/÷ %.2f)", float64(r.RatioRates), math.Exp(float64(r.LogRatioSE)))
	}
	for _, pt := range pts {
		occ := "not measured"
		if r := pt.Recs["sgd"]; r != nil && r.Occupation != nil {
			occ = fmt.Sprintf("%.3g (%d transitions)", float64(r.RatioOccupied), r.Occupation.Transitions[0])
			if d := r.Occupation.Diverged; d > 0 {
				occ += fmt.Sprintf("; %d of %d runs diverged, their time up to it kept", d, len(r.Occupation.Runs))
			}
		}
		chainS := "not solved (n > 2)"
		if !math.IsNaN(pt.ChainAB) {
			chainS = g4(pt.chainRatio())
			if pt.ChainChange > chain.GridTolerance {
				chainS += fmt.Sprintf(" (half grid %.0f%%)", 100*pt.ChainChange)
			}
		}
		tab.Rows = append(tab.Rows, []string{pt.label(), g4(pt.HA), g4(pt.HB), fmt.Sprint(pt.NA), fmt.Sprint(pt.NB),
			g4(pt.Power), g4(pt.Arrh), g4(pt.Quad), chainS, ratio(pt.Recs["sgd"]), occ,
			ratio(pt.Recs["decoupled-fine"])})
		if r := pt.Recs["sgd"]; r != nil {
			res.Numbers = append(res.Numbers, Number{Name: fmt.Sprintf("SGD p_A/p_B, %s", pt.label()),
				Value: r.RatioRates, Theory: num.Float(pt.Power), Note: fmt.Sprintf("Arrhenius %s; exact chain %s",
					g4(pt.Arrh), g4(pt.chainRatio()))})
		}
	}
	res.Tables = append(res.Tables, tab)
	for _, f := range []struct {
		sweep, name, xlabel string
		x                   func(*x3Point) float64
		logX                bool
	}{{"sharpness", "ratio_vs_sharpness", "sharpness ratio h_A / h_B", func(pt *x3Point) float64 { return pt.HA / pt.HB },
		true}, {"dimension", "ratio_vs_dimension", "n_A - n_B", func(pt *x3Point) float64 {
		return float64(pt.NA - pt.NB)
	}, false}} {
		var xs, pw, ar, ch []float64
		meas := map[string][2][]float64{}
		var rows [][]float64
		for _, pt := range pts {
			if pt.Sweep != f.sweep {
				continue
			}
			x := f.x(pt)
			xs, pw, ar, ch = append(xs, x), append(pw, pt.Power), append(ar, pt.Arrh), append(ch, pt.chainRatio())
			row := []float64{x, pt.Power, pt.Arrh, pt.chainRatio()}
			for _, dn := range []string{"sgd", "decoupled-fine"} {
				r := pt.Recs[dn]
				y, e := math.NaN(), math.NaN()
				if r != nil {
					y = float64(r.RatioRates)
					e = y * float64(r.LogRatioSE)
				}
				m := meas[dn]
				m[0], m[1] = append(m[0], y), append(m[1], e)
				meas[dn] = m
				row = append(row, y, e)
			}
			rows = append(rows, row)
		}
		if len(xs) == 0 {
			continue
		}
		series := []report.Series{{Name: "power law", X: xs, Y: pw, Style: report.Line},
			{Name: "Arrhenius", X: xs, Y: ar, Style: report.Dashed},
			{Name: "exact chain (SGD, replacement)", X: xs, Y: ch, Style: report.Line}}
		for _, dn := range []string{"sgd", "decoupled-fine"} {
			series = append(series, report.Series{Name: "measured: " + dn, X: xs, Y: meas[dn][0], YErr: meas[dn][1],
				Style: report.Points})
		}
		fig, err := env.figure(f.name, report.Figure{Title: "X3: occupation ratio p_A/p_B against the " + f.xlabel,
			XLabel: f.xlabel, YLabel: "p_A / p_B", LogX: f.logX, LogY: true, Series: series},
			[]string{"x", "power_law", "arrhenius", "exact_chain", "sgd", "sgd_err", "decoupled", "decoupled_err"}, rows,
			"p_A/p_B = T_AB/T_BA: below 1, SGD spends more time near B (the flatter or lower-dimensional minimum).")
		if err != nil {
			return err
		}
		res.Figures = append(res.Figures, fig)
	}
	return nil
}
