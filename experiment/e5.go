package experiment

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/sgdlab/sgdlab/chain"
	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/landscape"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/study"
	"github.com/sgdlab/sgdlab/theory"
)

type e5Params struct {
	N        int       `json:"N"`
	Dims     []int     `json:"dims"`
	Eta      float64   `json:"eta"`
	Batch    int       `json:"batch"`
	Sampling string    `json:"sampling"`
	Levels   []float64 `json:"levels"` // c in L > c L*
	Runs     int       `json:"runs"`
	Dynamics []string  `json:"dynamics"`
	Substeps int       `json:"substeps"`
	// Budget per run: this many times the decoupled SDE's exact MFPT at the top level.
	BudgetFactor float64 `json:"budget_factor"`
	MaxSteps     int64   `json:"max_steps"` // cap on the budget per run
	Seed         uint64  `json:"seed"`
	// Exact solves the exact chain of SGD with replacement at d <= 2 on grids of ChainGrid1
	// (d = 1) and ChainGrid2 (d = 2) intervals per parameter.
	Exact      bool `json:"exact_chain"`
	ChainGrid1 int  `json:"chain_grid_1d"`
	ChainGrid2 int  `json:"chain_grid_2d"`
}

func (p *e5Params) Validate() error {
	var c check
	c.that(p.N >= 2, "N = %d must be at least 2", p.N)
	c.that(len(p.Dims) > 0, "dims: give at least one dimension")
	for _, d := range p.Dims {
		c.that(d >= 1 && d <= 64, "dimension %d must be between 1 and 64", d)
	}
	c.that(positive(p.Eta), "eta = %v must be a positive finite number", p.Eta)
	c.that(p.Batch >= 1 && p.Batch <= p.N, "batch = %d must be between 1 and N", p.Batch)
	c.that(p.Sampling == "epoch" || p.Sampling == "replacement", "sampling %q: use epoch or replacement", p.Sampling)
	c.that(len(p.Levels) >= 3, "levels: give at least three thresholds c (a slope needs three points)")
	for i, l := range p.Levels {
		c.that(l > 1 && !math.IsInf(l, 0), "level c = %v must be a finite number > 1", l)
		c.that(i == 0 || l > p.Levels[i-1], "levels must increase (a slope needs distinct levels): %v", p.Levels)
	}
	c.that(p.Runs >= 2 && p.Runs <= 1e8, "runs = %d must be between 2 and 10^8", p.Runs)
	c.that(positive(p.BudgetFactor), "budget_factor = %v must be positive", p.BudgetFactor)
	c.that(p.MaxSteps >= 1, "max_steps = %d must be positive", p.MaxSteps)
	if p.Exact {
		c.that(p.ChainGrid1 >= 8 && p.ChainGrid1 <= 1<<16, "chain_grid_1d = %d must be between 8 and 65536",
			p.ChainGrid1)
		c.that(p.ChainGrid2 >= 8 && p.ChainGrid2 <= 1000, "chain_grid_2d = %d must be between 8 and 1000",
			p.ChainGrid2)
	}
	if c.err != nil {
		return c.err
	}
	return checkDynamics(p.Dynamics, p.Substeps)
}

const e5Title = "Escape exponent: mean first-passage time to L > c L*"

var e5 = &Experiment{
	ID: "E5", Title: e5Title, Paper: true, Weight: 1.5,
	Defaults: func(full bool) Params {
		p := &e5Params{N: 10000, Dims: []int{1, 2, 3}, Eta: 0.1, Batch: 1, Sampling: "epoch", Levels: []float64{1.2,
			1.4, 1.6, 1.8, 2.0, 2.2}, Runs: 400, Dynamics: []string{"sgd", "sgd-replacement", "sde", "sde-fine",
			"decoupled-fine"}, Substeps: 10, BudgetFactor: 100, MaxSteps: 20_000_000, Seed: 1, Exact: true,
			ChainGrid1: 1000, ChainGrid2: 100}
		if full {
			p.Dims, p.Levels, p.Runs, p.MaxSteps = []int{1, 2, 3, 4}, []float64{1.2, 1.4, 1.6, 1.8, 2.0, 2.2, 2.4,
				2.6}, 500, 500_000_000
			p.ChainGrid2 = 200
		}
		return p
	},
	Run: func(env *Env, params Params) (*Result, error) {
		return timed(func() (*Result, error) { return runE5(env, params.(*e5Params)) })
	},
}

// e5Fit is one dynamics' measurement at one dimension.
type e5Fit struct {
	MFPT, SE       []float64 // per level, in t
	Slope, SlopeSE float64   // log-log slope of MFPT against c
	OK             bool      // at least three levels with enough escapes: the slope was fitted
	Levels         int       // the levels in the fit
}

// e5Dim is everything measured and predicted at one dimension.
type e5Dim struct {
	D         int
	HStar     float64
	EtaH      float64   // eta h*: the formula needs eta h* < 2
	Expo      float64   // asymptotic exponent B/(eta h*) + 1 - d/2
	Quad      []float64 // exact MFPT of the decoupled SDE per level
	QuadSlope float64   // its local log-log slope over the levels
	Fits      map[string]e5Fit
	Commands  map[string]string // the CLI command of each ensemble
	// Chain is the exact chain's MFPT per level (nil when not solved), ChainChange its largest
	// relative change on the half grid.
	Chain       []float64
	ChainSE     []float64
	ChainSlope  float64
	ChainChange float64
	ChainWhy    string // why the solver refused the chain, when it did
}

func runE5(env *Env, p *e5Params) (*Result, error) {
	res := &Result{ID: "E5", Title: e5Title, Paper: true, Params: p,
		Claim: "Linear regression, x, y ~ N(0,1), N = 10^4, B = 1, eta = 0.1: the mean first time L exceeds c L* " +
			"(100 runs) grows as a power of c with log-log slope B/(eta h*) + 1 - d/2 = 11 - d/2.",
		Theory: "kappa ∝ c^-(B/(eta h*) + 1 - d/2) asymptotically (Kramers on log L, valid when (B/(eta h*)) log c " +
			"is large); for the decoupled SDE the exact MFPT follows from a 1-D quadrature of the radial " +
			"diffusion, which also gives the local slope over the c range used.",
		Setup: fmt.Sprintf(
			"N = %d, eta = %g, B = %d, %s sampling; levels c = %v; %d runs per dimension and dynamics; dynamics %s "+
				"(fine SDEs use step eta/%d); budget %g x the exact decoupled MFPT at the top level, at most %d "+
				"steps; censored runs enter the rate by maximum likelihood.",
			p.N,
			p.Eta,
			p.Batch,
			p.Sampling,
			p.Levels,
			p.Runs,
			strings.Join(p.Dynamics, ", "),
			p.Substeps,
			p.BudgetFactor,
			p.MaxSteps,
		)}
	dims, err := measureE5(env, p)
	if err != nil {
		return nil, err
	}
	if err := renderE5(env, p, dims, res); err != nil {
		return nil, err
	}
	res.judge(verdictE5(dims, critE5Sigma, critChainZ))
	return res, nil
}

// measureE5 runs every (dimension, dynamics) ensemble through the study layer.
func measureE5(env *Env, p *e5Params) ([]e5Dim, error) {
	var dims []e5Dim
	exit := "loss:c=" + joinFloats(p.Levels)
	for _, d := range p.Dims {
		prob := study.Problem{Model: "linear", Data: fmt.Sprintf("gauss:N=%d,d=%d,seed=%d", p.N, d, p.Seed),
			Loss: "mse"}
		_, prep, err := study.Prepare(env.Ctx, env.Study, prob, nil, p.Seed)
		if err != nil {
			return nil, err
		}
		dm := e5Dim{D: d, HStar: prep.HStar, EtaH: p.Eta * prep.HStar, Expo: theory.Exponent(p.Batch, p.Eta,
			prep.HStar, d),
			Fits: map[string]e5Fit{}, Commands: map[string]string{}}
		dm.Quad = make([]float64, len(p.Levels))
		for i, c := range p.Levels {
			dm.Quad[i], _ = theory.MFPTLossLevel(p.Eta, p.Batch, prep.HStar, d, prep.Min.Loss, c)
		}
		rel := make([]float64, len(dm.Quad))
		for i := range rel {
			rel[i] = dm.Quad[i] * 1e-6
		}
		qfit, _ := logFit(p.Levels, dm.Quad, rel)
		dm.QuadSlope = qfit.Slope
		budget := stepBudget(p.BudgetFactor*dm.Quad[len(dm.Quad)-1]/p.Eta, p.MaxSteps)
		for _, dn := range p.Dynamics {
			dyn, err := dynamics(dn, p.Eta, p.Batch, p.Sampling, p.Substeps)
			if err != nil {
				return nil, err
			}
			env.stage("E5: d=%d %s", d, dn)
			spec := study.EscapeSpec{Problem: prob, Dynamics: dyn, Exit: exit, Runs: p.Runs, Seed: p.Seed,
				MaxSteps: budget, Minimum: prep}
			rec, err := study.Escape(env.Ctx, env.Study, spec)
			if err != nil {
				return nil, fmt.Errorf("E5 d=%d %s: %w", d, dn, err)
			}
			dm.Commands[dn] = cliEscape(spec)
			var f e5Fit
			for _, r := range rec.Rates {
				mf, se := float64(r.MFPT), float64(r.MFPTSE)
				if r.Escaped < minEscapes { // too few escapes to rest a point of the fit on
					mf, se = math.NaN(), math.NaN()
				}
				f.MFPT, f.SE = append(f.MFPT, mf), append(f.SE, se)
			}
			if fit, ok := logFit(p.Levels, f.MFPT, f.SE); ok {
				f.Slope, f.SlopeSE, f.OK, f.Levels = fit.Slope, fit.SlopeSE, true, fit.DOF+2
			}
			dm.Fits[dn] = f
		}
		if p.Exact && d <= chain.MaxParams {
			if err := chainRefused(&dm.ChainWhy, measureE5Chain(env, p, prob, prep, exit, &dm)); err != nil {
				return nil, err
			}
		}
		dims = append(dims, dm)
	}
	return dims, nil
}

// measureE5Chain solves the exact chain of SGD with replacement for every level.
func measureE5Chain(env *Env, p *e5Params, prob study.Problem, prep *landscape.Prepared, exit string,
	dm *e5Dim) error {
	grid := p.ChainGrid1
	if dm.D == 2 {
		grid = p.ChainGrid2
	}
	env.stage("E5: d=%d exact chain", dm.D)
	rec, err := study.Chain(env.Ctx, env.Study, study.ChainSpec{Problem: prob, Eta: p.Eta, Batch: p.Batch, Exit: exit,
		Grid: grid, Seed: p.Seed, Minimum: prep})
	if err != nil {
		return fmt.Errorf("E5 d=%d exact chain: %w", dm.D, err)
	}
	for _, r := range rec.Levels {
		dm.Chain, dm.ChainSE = append(dm.Chain, float64(r.MFPT)), append(dm.ChainSE, float64(r.MFPTSE))
		dm.ChainChange = math.Max(dm.ChainChange, float64(r.GridChange))
	}
	rel := make([]float64, len(dm.Chain))
	for i := range rel {
		rel[i] = math.Max(float64(rec.Levels[i].MFPTSE), dm.Chain[i]*1e-6)
	}
	if fit, ok := logFit(p.Levels, dm.Chain, rel); ok {
		dm.ChainSlope = fit.Slope
	}
	return nil
}

// verdictE5 checks SGD's slope against the exponent at every dimension (within sigma
// standard errors) and the exact chain's MFPT against SGD with replacement at every level;
// a dimension where SGD was not run or its slope could not be fitted is an uninformative
// check.
func verdictE5(dims []e5Dim, sigma, chainZ Criterion) Verdict {
	var v Verdict
	for _, d := range dims {
		name := fmt.Sprintf("SGD's slope at d = %d", d.D)
		f, ran := d.Fits["sgd"]
		switch {
		case !ran:
			v.add(missing(Paper, sigma, name, "SGD is not among the dynamics in the parameters"))
		case !f.OK:
			v.add(missing(Paper, sigma, name, "fewer than three levels had %d or more escapes, so no slope was "+
				"fitted", minEscapes))
		case !theory.StepStable(d.EtaH, 1):
			v.add(missing(Paper, sigma, name, "eta h* = %.3g >= 2: a full-batch step overshoots the minimum, outside "+
				"the formula's domain", d.EtaH))
		case !(d.Expo > 0):
			v.add(missing(Paper, sigma, name, "the predicted exponent %.3g is not positive (d >= n_c = 2 phi: the "+
				"theory calls this minimum unstable), outside the formula's domain", d.Expo))
		case !(sigma.Value*f.SlopeSE < d.Expo):
			v.add(missing(Paper, sigma, name, "the slope %.3g ± %.3g is too uncertain: %g standard errors span "+
				"the whole predicted slope %.3g, so agreement could not be told from no dependence on c", f.Slope,
				f.SlopeSE, sigma.Value, d.Expo))
		default:
			v.add(withinSE(Paper, sigma, name, f.Slope, f.SlopeSE, d.Expo, f.Levels, 3, "At d = %d SGD's log-log slope "+
				"of the MFPT against c is %.2f ± %.2f against B/(eta h*) + 1 - d/2 = %.2f (%.1f standard errors; "+
				"criterion %g).", d.D, f.Slope, f.SlopeSE, d.Expo, (f.Slope-d.Expo)/f.SlopeSE, sigma.Value))
		}
		for _, dn := range []string{"decoupled-fine", "decoupled"} {
			if g, ok := d.Fits[dn]; ok && g.OK {
				v.remark("d = %d: the decoupled SDE (%s) has slope %.2f ± %.2f, its exact quadrature %.2f over the "+
					"same levels (%.1f standard errors).", d.D, dn, g.Slope, g.SlopeSE, d.QuadSlope,
					(g.Slope-d.QuadSlope)/g.SlopeSE)
			}
		}
	}
	if len(dims) == 0 {
		v.add(missing(Paper, sigma, "SGD's slope", "no dimension was measured"))
	}
	exactChecksE5(dims, &v, chainZ)
	return v
}

// exactChecksE5 checks, per dimension with an exact chain, the chain's MFPT against SGD with
// replacement at every level with enough escapes (the largest difference in standard
// errors), and remarks the chain's slope and how the gap between SGD and the decoupled SDE's
// quadrature at the top level splits (as factors of the MFPT).
func exactChecksE5(dims []e5Dim, v *Verdict, chainZ Criterion) {
	for _, d := range dims {
		if d.Chain == nil {
			if d.ChainWhy != "" {
				v.add(missing(Exact, chainZ, fmt.Sprintf("exact chain's MFPT against SGD with replacement at d = %d",
					d.D), "the exact chain was not solved: %s", d.ChainWhy))
			}
			continue
		}
		v.remark("d = %d: the exact chain's slope is %.2f against %.2f (largest change on the half grid %.2g%%).",
			d.D, d.ChainSlope, d.Expo, 100*d.ChainChange)
		top := len(d.Chain) - 1
		name := fmt.Sprintf("exact chain's MFPT against SGD with replacement at d = %d", d.D)
		if f, ok := d.Fits["sgd-replacement"]; ok {
			z, n := math.Inf(-1), 0
			for i := range d.Chain {
				if i < len(f.SE) && f.SE[i] > 0 && finiteF(f.MFPT[i]) {
					z = math.Max(z, math.Abs(f.MFPT[i]-d.Chain[i])/math.Hypot(f.SE[i], d.ChainSE[i]))
					n++
				}
			}
			if n == 0 {
				z = math.NaN()
			}
			v.add(atMost(Exact, chainZ, name, z, n, "At d = %d the exact chain's MFPT differs from SGD with "+
				"replacement by at most %.1f standard errors over %d levels (criterion %g).", d.D, z, n,
				chainZ.Value))
		} else {
			v.add(missing(Exact, chainZ, name, "SGD with replacement is not among the dynamics"))
		}
		times := map[string]float64{}
		for dn, f := range d.Fits {
			if top < len(f.MFPT) {
				times[dn] = f.MFPT[top]
			}
		}
		v.remark("d = %d, top level: the exact chain's MFPT is %.3g t, %.3g times the decoupled SDE's quadrature; "+
			"the factor splits into %s.", d.D, d.Chain[top], d.Chain[top]/d.Quad[top], gapSplit(times, d.Chain[top]))
	}
}

// renderE5 writes the table, the numbers and one figure per dimension.
func renderE5(env *Env, p *e5Params, dims []e5Dim, res *Result) error {
	tab := Table{Title: "log-log slope of MFPT vs c (± standard error); chain: the exact chain of SGD with " +
		"replacement", Header: append([]string{"d", "h*", "asymptotic exponent", "quadrature slope"},
		append(slices.Clone(p.Dynamics), "chain")...)}
	for _, d := range dims {
		row := []string{fmt.Sprint(d.D), g4(d.HStar), f3(d.Expo), f3(d.QuadSlope)}
		series := []report.Series{{Name: "quadrature (decoupled SDE)", X: p.Levels, Y: d.Quad, Style: report.Dashed}}
		var asym []float64
		for _, c := range p.Levels {
			asym = append(asym, d.Quad[len(d.Quad)-1]*math.Pow(c/p.Levels[len(p.Levels)-1], d.Expo))
		}
		series = append(series, report.Series{Name: fmt.Sprintf("c^%.2f (asymptotic exponent)", d.Expo), X: p.Levels,
			Y: asym, Style: report.Line})
		header := []string{"c", "quadrature"}
		cols := [][]float64{p.Levels, d.Quad}
		for _, dn := range p.Dynamics {
			f := d.Fits[dn]
			cols, header = append(cols, f.MFPT, f.SE), append(header, dn+"_mfpt", dn+"_se")
			series = append(series, report.Series{Name: dn, X: p.Levels, Y: f.MFPT, YErr: f.SE, Style: report.Points})
			if !f.OK {
				row = append(row, "n/a")
				continue
			}
			row = append(row, pmS(f.Slope, f.SlopeSE))
			res.Numbers = append(
				res.Numbers,
				Number{
					Name:  fmt.Sprintf("d=%d %s: log-log slope of MFPT vs c", d.D, dn),
					Value: num.Float(f.Slope),
					Err:   num.Float(f.SlopeSE),
					Theory: num.Float(
						d.Expo,
					),
					Note: fmt.Sprintf("quadrature slope over the same c: %.3f", d.QuadSlope),
				},
			)
		}
		if d.Chain != nil {
			row = append(row, f3(d.ChainSlope))
			cols, header = append(cols, d.Chain), append(header, "chain_mfpt")
			series = append(series, report.Series{Name: "exact chain (replacement)", X: p.Levels, Y: d.Chain,
				Style: report.Line})
			res.Numbers = append(res.Numbers, Number{Name: fmt.Sprintf("d=%d exact chain: log-log slope of MFPT vs c",
				d.D), Value: num.Float(d.ChainSlope), Theory: num.Float(d.Expo), Note: fmt.Sprintf("largest "+
				"half-grid change %.2g%%", 100*d.ChainChange)})
		} else {
			row = append(row, "not solved (d > 2)")
		}
		tab.Rows = append(tab.Rows, row)
		rows := make([][]float64, len(p.Levels))
		for i := range rows {
			for j := range cols {
				rows[i] = append(rows[i], cols[j][i])
			}
		}
		fig, err := env.figure(
			fmt.Sprintf("mfpt_d%d", d.D),
			report.Figure{Title: fmt.Sprintf("E5: mean first-passage time to L > c L*, d = %d", d.D), XLabel: "c",
				YLabel: "MFPT (t = eta steps)", LogX: true, LogY: true, Series: series},
			header,
			rows,
			fmt.Sprintf(
				"Points: mean first-passage time over %d runs with standard errors; dashed: exact MFPT of the "+
					"decoupled SDE; line: c^(B/(eta h*) + 1 - d/2).",
				p.Runs,
			),
		)
		if err != nil {
			return err
		}
		res.Figures = append(res.Figures, fig)
	}
	res.Tables = append(res.Tables, tab)
	if len(dims) > 0 {
		for _, dn := range slices.Sorted(maps.Keys(dims[0].Commands)) {
			res.Notes = append(res.Notes, fmt.Sprintf("d = %d, %s, from the command line with the same store key: "+
				"%s", dims[0].D, dn, dims[0].Commands[dn]))
		}
	}
	return nil
}
