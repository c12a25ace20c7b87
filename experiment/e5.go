package experiment

import (
	"fmt"
	"math"
	"strings"

	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/escape"
	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/sde"
	"github.com/sgdlab/sgdlab/sgd"
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
}

const e5Title = "Escape exponent: mean first-passage time to L > c L*"

var e5 = &Experiment{
	ID: "E5", Title: e5Title, Paper: true, Weight: 1.5,
	Defaults: func(full bool) any {
		p := &e5Params{N: 10000, Dims: []int{1, 2, 3}, Eta: 0.1, Batch: 1, Sampling: "epoch", Levels: []float64{1.2, 1.4, 1.6, 1.8, 2.0, 2.2},
			Runs: 400, Dynamics: []string{"sgd", "sde-fine", "decoupled-fine"}, Substeps: 10, BudgetFactor: 100, MaxSteps: 20_000_000, Seed: 1}
		if full {
			p.Dims, p.Levels, p.Runs, p.MaxSteps = []int{1, 2, 3, 4}, []float64{1.2, 1.4, 1.6, 1.8, 2.0, 2.2, 2.4, 2.6}, 500, 500_000_000
		}
		return p
	},
	Run: func(env *Env, params any) (*Result, error) {
		return timed(func() (*Result, error) { return runE5(env, params.(*e5Params)) })
	},
}

func runE5(env *Env, p *e5Params) (*Result, error) {
	samp, err := sgd.ParseSampling(p.Sampling)
	if err != nil {
		return nil, err
	}
	spec, err := escape.ParseExit("loss:c=" + joinFloats(p.Levels))
	if err != nil {
		return nil, err
	}
	res := &Result{ID: "E5", Title: e5Title, Paper: true, Params: p,
		Claim:  "Linear regression, x, y ~ N(0,1), N = 10^4, B = 1, eta = 0.1: the mean first time L exceeds c L* (100 runs) grows as a power of c with log-log slope B/(eta h*) + 1 - d/2 = 11 - d/2.",
		Theory: "kappa ∝ c^-(B/(eta h*) + 1 - d/2) asymptotically (Kramers on log L, valid when (B/(eta h*)) log c is large); for the decoupled SDE the exact MFPT follows from a 1-D quadrature of the radial diffusion, which also gives the local slope over the c range used.",
		Setup: fmt.Sprintf("N = %d, eta = %g, B = %d, %s sampling; levels c = %v; %d runs per dimension and dynamics; dynamics %s (fine SDEs use step eta/%d); budget %g x the exact decoupled MFPT at the top level, at most %d steps; censored runs enter the rate by maximum likelihood.",
			p.N, p.Eta, p.Batch, p.Sampling, p.Levels, p.Runs, strings.Join(p.Dynamics, ", "), p.Substeps, p.BudgetFactor, p.MaxSteps)}
	tab := Table{Title: "log-log slope of MFPT vs c (± standard error)", Header: append([]string{"d", "h*", "asymptotic exponent", "quadrature slope"}, p.Dynamics...)}
	status := Agrees
	var words []string
	for _, d := range p.Dims {
		o, err := env.problem("linear", fmt.Sprintf("gauss:N=%d,d=%d,seed=%d", p.N, d, p.Seed), "mse")
		if err != nil {
			return nil, err
		}
		prep, err := ensemble.Prepare(env.Ctx, o, nil, p.Seed)
		if err != nil {
			return nil, err
		}
		h, ls := prep.HStar, prep.Min.Loss
		expo := theory.Exponent(p.Batch, p.Eta, h, d)
		quad := make([]float64, len(p.Levels))
		for i, c := range p.Levels {
			quad[i], _ = theory.MFPTLossLevel(p.Eta, p.Batch, h, d, ls, c)
		}
		ones := make([]float64, len(quad))
		for i := range ones {
			ones[i] = quad[i] * 1e-6
		}
		qfit, _ := logFit(p.Levels, quad, ones)
		budget := int64(math.Min(p.BudgetFactor*quad[len(quad)-1]/p.Eta, float64(p.MaxSteps)))
		row := []string{fmt.Sprint(d), g4(h), f3(expo), f3(qfit.Slope)}
		series := []report.Series{{Name: "quadrature (decoupled SDE)", X: p.Levels, Y: quad, Style: report.Dashed}}
		// Asymptotic power law through the quadrature's top point.
		var asym []float64
		for _, c := range p.Levels {
			asym = append(asym, quad[len(quad)-1]*math.Pow(c/p.Levels[len(p.Levels)-1], expo))
		}
		series = append(series, report.Series{Name: fmt.Sprintf("c^%.2f (asymptotic exponent)", expo), X: p.Levels, Y: asym, Style: report.Line})
		csvHeader := []string{"c", "quadrature"}
		cols := [][]float64{p.Levels, quad}
		for _, dn := range p.Dynamics {
			ds, err := parseDyn(dn, p.Substeps)
			if err != nil {
				return nil, err
			}
			env.stage("E5: d=%d %s", d, dn)
			fac, err := prep.Factory(o, sde.Config{Kind: ds.Kind, Eta: p.Eta, Batch: p.Batch, Sampling: samp, Substeps: ds.Substeps})
			if err != nil {
				return nil, err
			}
			ec := escape.Context{Obj: o, ThetaStar: prep.Min.Theta, LStar: ls, NewLand: fac.NewLandscape, LambdaMax: prep.Min.Eigs[0]}
			rates, _, err := env.escapeRates("E5", o, prep, fac, spec, "loss:c="+joinFloats(p.Levels), ec, escape.Options{Runs: p.Runs, Seed: p.Seed, MaxSteps: budget})
			if err != nil {
				return nil, fmt.Errorf("E5 d=%d %s: %w", d, dn, err)
			}
			var ys, es []float64
			for _, r := range rates {
				ys, es = append(ys, r.MFPT), append(es, r.MFPTSE)
			}
			cols = append(cols, ys, es)
			csvHeader = append(csvHeader, dn+"_mfpt", dn+"_se")
			series = append(series, report.Series{Name: dn, X: p.Levels, Y: ys, YErr: es, Style: report.Points})
			fit, ok := logFit(p.Levels, ys, es)
			if !ok {
				row = append(row, "n/a")
				continue
			}
			row = append(row, pmS(fit.Slope, fit.SlopeSE))
			res.Numbers = append(res.Numbers, Number{Name: fmt.Sprintf("d=%d %s: log-log slope of MFPT vs c", d, dn), Value: fit.Slope, Err: fit.SlopeSE, Theory: expo,
				Note: fmt.Sprintf("quadrature slope over the same c: %.3f", qfit.Slope)})
			if dn == "sgd" {
				z := (fit.Slope - expo) / fit.SlopeSE
				if math.Abs(z) > 3 {
					status = Deviates
				}
				words = append(words, fmt.Sprintf("d = %d: SGD slope %.2f ± %.2f against B/(eta h*) + 1 - d/2 = %.2f (%.1f standard errors); the exact MFPT of the decoupled SDE has local slope %.2f over this c range, so part of any difference is the approach to the asymptotic power law.", d, fit.Slope, fit.SlopeSE, expo, z, qfit.Slope))
			}
		}
		tab.Rows = append(tab.Rows, row)
		var rows [][]float64
		for i := range p.Levels {
			r := make([]float64, len(cols))
			for j := range cols {
				r[j] = cols[j][i]
			}
			rows = append(rows, r)
		}
		fig, err := env.figure(fmt.Sprintf("mfpt_d%d", d), report.Figure{Title: fmt.Sprintf("E5: mean first-passage time to L > c L*, d = %d", d), XLabel: "c", YLabel: "MFPT (t = eta steps)", LogX: true, LogY: true, Series: series},
			csvHeader, rows, fmt.Sprintf("Points: mean first-passage time over %d runs with standard errors; dashed: exact MFPT of the decoupled SDE; line: c^(B/(eta h*) + 1 - d/2).", p.Runs))
		if err != nil {
			return nil, err
		}
		res.Figures = append(res.Figures, fig)
	}
	res.Tables = append(res.Tables, tab)
	res.Status = status
	lead := "Agrees: the SGD slopes match B/(eta h*) + 1 - d/2 within 3 standard errors."
	if status == Deviates {
		lead = "Deviates: the measured slopes of real SGD differ from B/(eta h*) + 1 - d/2 by more than 3 standard errors; compare the fine-stepped SDEs (the theory's own dynamics) and the exact quadrature in the table."
	}
	res.Verdict = lead + " " + strings.Join(words, " ")
	return res, nil
}

func joinFloats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}
