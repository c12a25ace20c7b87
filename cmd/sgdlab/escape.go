package main

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sort"

	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/escape"
	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/landscape"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/sde"
	"github.com/sgdlab/sgdlab/stats"
	"github.com/sgdlab/sgdlab/theory"
)

type escapeCmd struct {
	problemFlags
	sgdFlags
	dynFlags
	storeFlags
	Exit     string `help:"Exit condition: loss:c=2 (L > c L*; several: loss:c=1.5,2,3), basin[:every=100] (descent ends elsewhere), ball:r=R, surface (dividing surface at the saddle)." default:"loss:c=2"`
	Runs     int    `help:"Independent runs; run i uses a generator derived from (seed, i)." default:"100"`
	MaxSteps int64  `name:"max-steps" help:"Budget per run in steps; runs that have not escaped are censored (0: 30 times the predicted mean first-passage time, at least 10^4 steps)." default:"0"`
	To       string `help:"The other minimum, for basin/surface exits and barrier predictions (default: searched from -theta* and random starts)." placeholder:"FILE.npy|a,b,..."`
	Out      string `help:"Directory for escape.json, runs.csv, survival.png and mfpt.png." placeholder:"DIR"`
}

// escapePrediction is one theory's prediction for one level.
type escapePrediction struct {
	Name  string  `json:"name"`
	Level float64 `json:"level"`
	Rate  float64 `json:"rate"` // per unit t (NaN: not predicted)
	MFPT  float64 `json:"mfpt"` // in t
	Steps float64 `json:"mfpt_steps"`
	Note  string  `json:"note,omitempty"`
}

type escapeRecord struct {
	Command     string             `json:"command"`
	Version     string             `json:"version"`
	Model       string             `json:"model"`
	Data        string             `json:"data"`
	Dynamics    string             `json:"dynamics"`
	Describe    string             `json:"dynamics_description"`
	Exit        string             `json:"exit"`
	Eta         float64            `json:"eta"`
	Batch       int                `json:"batch"`
	Sampling    string             `json:"sampling"`
	Seed        uint64             `json:"seed"`
	Runs        int                `json:"runs"`
	MaxSteps    int64              `json:"max_steps"`
	LStar       float64            `json:"L_star"`
	HStar       float64            `json:"h_star"`
	N           int                `json:"n"`
	Exponent    float64            `json:"exponent_predicted"`
	Barrier     *landscape.Barrier `json:"barrier,omitempty"`
	Rates       []escape.LevelRate `json:"rates"`
	Predictions []escapePrediction `json:"predictions"`
	Slope       *stats.LineFit     `json:"log_mfpt_vs_log_c,omitempty"`
	Conventions map[string]string  `json:"conventions"`
	Notes       []string           `json:"notes,omitempty"`
	Elapsed     float64            `json:"elapsed_s"`
	Outputs     map[string]string  `json:"outputs,omitempty"`
}

func (c *escapeCmd) Run(e *env) error {
	o, err := c.build(e)
	if err != nil {
		return err
	}
	spec, err := escape.ParseExit(c.Exit)
	if err != nil {
		return badInput(err)
	}
	if c.Runs < 1 {
		return badInput(errors.New("--runs must be at least 1"))
	}
	p, fac, err := c.prepare(e, o, c.sgdFlags)
	if err != nil {
		return err
	}
	m := p.Min
	rec := escapeRecord{Command: "escape", Version: version, Model: o.Model.Spec(), Data: o.Data.Spec, Dynamics: c.Dynamics, Describe: fac.Describe(),
		Eta: c.Eta, Batch: c.Batch, Sampling: c.Sampling, Seed: c.Seed, Runs: c.Runs, LStar: m.Loss, HStar: p.HStar, N: p.N,
		Exponent: theory.Exponent(c.Batch, c.Eta, p.HStar, p.N)}
	if p.Note != "" {
		rec.Notes = append(rec.Notes, p.Note)
	}
	rec.Conventions = map[string]string{
		"time":     "t = eta * steps; rates per unit t; MFPT in t and in steps",
		"rate":     "maximum likelihood for exponential waiting times with right censoring: escaped / total observed time; 95% exact Poisson interval",
		"mfpt":     "mean of the escape times when no run was censored, else 1/rate",
		"exponent": "kappa ∝ (L^s/L*)^-(B/(eta h*) + 1 - n/2)",
	}
	ec := escape.Context{Obj: o, ThetaStar: m.Theta, LStar: m.Loss, NewLand: fac.NewLandscape, LambdaMax: m.Eigs[0]}
	w := o.NewWorker(2, 0)
	// A barrier is needed for surface exits and for rate predictions of basin exits.
	if spec.Kind == "basin" || spec.Kind == "surface" || spec.Kind == "well" {
		bf := barrierFlags{From: "", To: c.To}
		br, notes, err := bf.withStart(e, o, w, m.Theta, c.Seed)
		if err != nil {
			if spec.Kind != "basin" {
				return err
			}
			rec.Notes = append(rec.Notes, "no barrier predictions: "+err.Error())
		} else {
			rec.Barrier = br
			rec.Notes = append(rec.Notes, notes...)
			ec.SaddleTheta, ec.SaddleDir, ec.OtherMin = br.Saddle.Theta, br.Saddle.NegVec, br.MinB.Theta
		}
	}
	rec.Exit = c.Exit
	if ex, err := spec.New(ec); err == nil {
		rec.Exit = ex.Describe()
	}
	rec.Predictions = c.predict(o, p, fac, spec, rec.Barrier)
	budget := c.MaxSteps
	if budget <= 0 {
		budget = 1_000_000
		for _, pr := range rec.Predictions {
			if pr.Name == "power law" || pr.Name == "quadrature" {
				if !math.IsNaN(pr.Steps) && !math.IsInf(pr.Steps, 0) {
					budget = max(int64(math.Min(30*pr.Steps, 1e10)), 10000)
				}
			}
		}
	}
	rec.MaxSteps = budget
	env, closeStore, err := c.open(c.workers())
	if err != nil {
		return err
	}
	defer closeStore()
	if env.Shard.N > 1 {
		rec.Notes = append(rec.Notes, fmt.Sprintf("shard %s: the rates below use this shard's runs only; merge the shard stores and rerun with the merged --store for the full ensemble", env.Shard))
	}
	bar := e.prog.Bar(int64(len(env.Shard.Indices(c.Runs))), "runs")
	t0 := now()
	key := runKey{Model: o.Model.Spec(), Data: o.Data.Spec, Loss: o.Loss.Name(), Dynamics: fac.Key(), Momentum: c.Momentum, Exit: c.Exit, MaxSteps: budget, Start: m.Theta}
	runs, err := ensemble.Escape(e.ctx, env, "escape "+o.Model.Spec()+" "+o.Data.Spec+" "+c.Dynamics+" "+c.Exit, key, fac, spec, ec, m.Theta,
		escape.Options{Runs: c.Runs, Seed: c.Seed, Workers: c.workers(), MaxSteps: budget, Progress: func(d, _ int) { bar.Set(int64(d)) }})
	bar.Done()
	rec.Elapsed = since(t0)
	if err != nil {
		return err
	}
	levels := spec.C
	if levels == nil {
		levels = []float64{1}
	}
	rec.Rates = escape.Rates(runs, levels, c.Eta)
	if len(levels) >= 3 {
		var x, y, sy []float64
		for _, r := range rec.Rates {
			if r.Escaped > 0 && r.MFPTSE > 0 {
				x, y, sy = append(x, math.Log(r.Level)), append(y, math.Log(r.MFPT)), append(sy, r.MFPTSE/r.MFPT)
			}
		}
		if len(x) >= 3 {
			f := stats.FitLine(x, y, sy)
			rec.Slope = &f
		}
	}
	if c.Out != "" {
		rec.Outputs = map[string]string{}
		if err := writeEscape(c.Out, &rec, runs); err != nil {
			return err
		}
	}
	if e.g.JSON {
		if err := e.writeJSON(rec); err != nil {
			return err
		}
	} else {
		printEscape(e, &rec)
	}
	for _, r := range rec.Rates {
		if r.Escaped == 0 {
			exp := "unknown"
			for _, pr := range rec.Predictions {
				if pr.Level == r.Level && !math.IsNaN(pr.MFPT) {
					exp = fmt.Sprintf("%.4g t = %.4g steps (%s)", pr.MFPT, pr.Steps, pr.Name)
					break
				}
			}
			return badInput(fmt.Errorf("no run escaped (level %g) within the budget of %d steps per run; the expected time is %s: raise --max-steps", r.Level, budget, exp))
		}
	}
	return nil
}

// predict evaluates the theories for the exit levels.
func (c *escapeCmd) predict(o *model.Objective, p *ensemble.Prepared, fac *sde.Factory, spec escape.ExitSpec, br *landscape.Barrier) []escapePrediction {
	var out []escapePrediction
	eta, B := c.Eta, c.Batch
	add := func(name string, level, rate, mfpt float64, note string) {
		out = append(out, escapePrediction{Name: name, Level: level, Rate: rate, MFPT: mfpt, Steps: mfpt / eta, Note: note})
	}
	switch spec.Kind {
	case "loss":
		for _, cl := range spec.C {
			t, err := theory.MFPTLossLevel(eta, B, p.HStar, p.N, p.Min.Loss, cl)
			note := "decoupled SDE, isotropic H* = h* I, exact 1-D quadrature of the radial diffusion"
			if err != nil {
				t, note = math.NaN(), err.Error()
			}
			add("quadrature", cl, 1/t, t, note)
		}
	case "basin", "surface", "well":
		if br == nil {
			return nil
		}
		tb := br.Theory()
		half := 1.0
		note := ""
		if spec.Kind == "surface" {
			half, note = 0.5, "first hitting of the dividing surface: about 1/(2 kappa)"
		}
		for _, th := range []struct {
			name string
			k    float64
		}{{"power law", theory.PowerLaw(tb, B, eta)}, {"Arrhenius", theory.Arrhenius(tb, B, eta)}, {"frozen noise", theory.Frozen(tb, B, eta)}} {
			add(th.name, 1, th.k/half, half/th.k, note)
		}
		if o.P() == 1 {
			// One dimension: exact MFPT of the decoupled SDE along the true landscape.
			land := fac.NewLandscape()
			g := make([]float64, 1)
			mu := func(x float64) float64 { land.LossGrad([]float64{x}, g); return -g[0] }
			D := func(x float64) float64 { return eta * land.LossGrad([]float64{x}, nil) * tb.HStar / float64(B) }
			x0, xs, xb := p.Min.Theta[0], br.Saddle.Theta[0], br.MinB.Theta[0]
			target := xb
			switch spec.Kind {
			case "surface":
				target = xs
			case "well":
				target = xb + spec.R*(xs-xb)
			}
			refl := x0 + 10*(x0-xs)
			if t, err := theory.MFPT1D(mu, D, refl, x0, target, 200000); err == nil {
				add("quadrature", 1, 1/t, t, "decoupled SDE on the exact 1-D landscape")
			}
		}
	}
	return out
}

func printEscape(e *env, r *escapeRecord) {
	fmt.Fprintf(e.out, "escape of %s on %s from its minimum (L* = %.6g, h* = %.5g, n = %d)\n", r.Model, r.Data, r.LStar, r.HStar, r.N)
	fmt.Fprintf(e.out, "  %s\n  exit: %s; %d runs, budget %d steps each (%.1fs)\n", r.Describe, r.Exit, r.Runs, r.MaxSteps, r.Elapsed)
	if b := r.Barrier; b != nil {
		fmt.Fprintf(e.out, "  saddle: L^s = %.6g (Delta L = %.4g, Delta log L = %.4g), negative eigenvalue %.4g\n", b.Saddle.Loss, b.DeltaL, b.DeltaLogL, b.Saddle.NegEig)
	}
	fmt.Fprintf(e.out, "  predicted exponent B/(eta h*) + 1 - n/2 = %.4g\n", r.Exponent)
	for _, lr := range r.Rates {
		fmt.Fprintf(e.out, "  level %g: %d escaped, %d censored; rate %.4g (95%%: %.4g .. %.4g) per t; MFPT %.4g +- %.2g t = %.4g steps; CV %.2f%s\n",
			lr.Level, lr.Escaped, lr.Censored, lr.Kappa, lr.Lo, lr.Hi, lr.MFPT, lr.MFPTSE, lr.MFPTSteps, lr.CV, expVerdict(lr.Rate))
		if lr.Warning != "" {
			fmt.Fprintf(e.out, "    warning: %s\n", lr.Warning)
		}
		for _, pr := range r.Predictions {
			if pr.Level == lr.Level {
				fmt.Fprintf(e.out, "    %-13s rate %.4g, MFPT %.4g t (measured/predicted MFPT = %.3f)\n", pr.Name, pr.Rate, pr.MFPT, lr.MFPT/pr.MFPT)
			}
		}
	}
	if s := r.Slope; s != nil {
		fmt.Fprintf(e.out, "  log MFPT vs log c: slope %.3f +- %.3f (theory %.3f), chi2 %.1f on %d dof\n", s.Slope, s.SlopeSE, r.Exponent, s.Chi2, s.DOF)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(e.out, "  note:", n)
	}
	printOutputs(e, r.Outputs)
}

func expVerdict(r stats.Rate) string {
	if r.ExpStat == 0 {
		return ""
	}
	if r.ExpReject {
		return fmt.Sprintf(", not exponential (Stephens %.2f > 1.094)", r.ExpStat)
	}
	return fmt.Sprintf(", consistent with exponential (Stephens %.2f)", r.ExpStat)
}

// writeEscape writes per-run times, the survival curves and MFPT vs level.
func writeEscape(dir string, rec *escapeRecord, runs []escape.Run) error {
	var rows [][]float64
	for _, r := range runs {
		for j, lv := range rec.Rates {
			esc := 0.0
			if r.Escaped[j] {
				esc = 1
			}
			rows = append(rows, []float64{float64(r.Index), lv.Level, r.Times[j], float64(r.Steps[j]), esc})
		}
	}
	p := filepath.Join(dir, "runs.csv")
	if err := report.WriteCSV(p, []string{"run", "level", "t", "steps", "escaped"}, rows); err != nil {
		return err
	}
	rec.Outputs["runs"] = p
	var series []report.Series
	for j, lv := range rec.Rates {
		var ts []float64
		for _, r := range runs {
			if r.Escaped[j] {
				ts = append(ts, r.Times[j])
			}
		}
		sort.Float64s(ts)
		var xs, ys, fit []float64
		for i, t := range ts {
			xs = append(xs, t)
			ys = append(ys, 1-float64(i+1)/float64(len(runs)))
			fit = append(fit, math.Exp(-lv.Kappa*t))
		}
		if len(xs) == 0 {
			continue
		}
		series = append(series, report.Series{Name: fmt.Sprintf("level %g", lv.Level), X: xs, Y: ys, Style: report.Steps},
			report.Series{Name: fmt.Sprintf("exp(-kappa t), kappa = %.3g", lv.Kappa), X: xs, Y: fit, Style: report.Dashed})
	}
	if len(series) > 0 {
		fig := report.Figure{Title: "Survival: fraction of runs not yet escaped", XLabel: "t", YLabel: "fraction", LogY: true, Series: series}
		p = filepath.Join(dir, "survival.png")
		if err := fig.WritePNG(p); err != nil {
			return err
		}
		rec.Outputs["survival"] = p
	}
	if len(rec.Rates) >= 2 {
		var xs, ys, es, qs []float64
		for _, lr := range rec.Rates {
			xs, ys, es = append(xs, lr.Level), append(ys, lr.MFPT), append(es, lr.MFPTSE)
			q := math.NaN()
			for _, pr := range rec.Predictions {
				if pr.Level == lr.Level && pr.Name == "quadrature" {
					q = pr.MFPT
				}
			}
			qs = append(qs, q)
		}
		fig := report.Figure{Title: "Mean first-passage time vs threshold", XLabel: "c = L/L*", YLabel: "MFPT (t)", LogX: true, LogY: true,
			Series: []report.Series{{Name: "measured", X: xs, Y: ys, YErr: es, Style: report.Points}, {Name: "quadrature (decoupled SDE)", X: xs, Y: qs, Style: report.Dashed}}}
		p = filepath.Join(dir, "mfpt.png")
		if err := fig.WritePNG(p); err != nil {
			return err
		}
		rec.Outputs["mfpt"] = p
	}
	p = filepath.Join(dir, "escape.json")
	rec.Outputs["record"] = p
	return report.WriteJSON(p, rec)
}

// runKey identifies an ensemble in the store: everything that determines a trajectory
// except the seed and the number of runs (so that adding runs extends the same record).
type runKey struct {
	Model    string    `json:"model"`
	Data     string    `json:"data"`
	Loss     string    `json:"loss"`
	Dynamics any       `json:"dynamics"`
	Momentum float64   `json:"momentum"`
	Exit     string    `json:"exit,omitempty"`
	MaxSteps int64     `json:"max_steps,omitempty"`
	Sampling string    `json:"sampling,omitempty"`
	Start    []float64 `json:"start"`
}
