package main

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"

	"github.com/sgdlab/sgdlab/escape"
	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/stats"
	"github.com/sgdlab/sgdlab/study"
)

type escapeCmd struct {
	problemFlags
	sgdFlags
	dynFlags
	storeFlags
	// The event, its target and the ensemble.
	Exit     string `help:"${escape_exit}" default:"loss:c=2"`
	To       string `help:"${escape_to}" placeholder:"FILE.npy|a,b,..."`
	Runs     int    `help:"Independent runs; run i uses a generator derived from (seed, i)." default:"100"`
	MaxSteps int64  `help:"${escape_maxsteps}" default:"0" name:"max-steps"`
	// Both directions between two minima, and their occupation.
	Both            bool  `help:"${escape_both}"`
	OccupationRuns  int   `help:"${escape_occruns}" default:"0" name:"occupation-runs"`
	OccupationSteps int64 `help:"Steps of each occupation run." default:"1000000" name:"occupation-steps"`

	Out string `help:"Directory for escape.json, runs.csv, survival.png and mfpt.png." placeholder:"DIR"`
}

type escapeRecord struct {
	header
	*study.EscapeRecord
	Elapsed float64 `json:"elapsed_s"`
}

func (c *escapeCmd) Run(e *env) error {
	if err := firstErr(c.sgdFlags.check(), c.dynFlags.check(), intRange("--runs", int64(c.Runs), 1, math.MaxInt32),
		intRange("--max-steps", c.MaxSteps, 0, 1<<55), outDir("--out", c.Out)); err != nil {
		return err
	}
	ex, err := escape.ParseExit(c.Exit)
	if err != nil {
		return fmt.Errorf("--exit: %w", err)
	}
	both := c.Both || c.OccupationRuns > 0
	if both {
		if ex.Kind != "well" {
			return fault.Invalid("--both measures escapes between two minima: use --exit well[:r=R]")
		}
		if err := firstErr(intRange("--occupation-runs", int64(c.OccupationRuns), 0, 1<<20),
			intRange("--occupation-steps", c.OccupationSteps, 20, 1<<50)); err != nil {
			return err
		}
	}
	to, err := vector("--to", c.To)
	if err != nil {
		return err
	}
	start, senv, bar, closeStore, err := e.ensemble(c.problemFlags, c.dynFlags, c.storeFlags, "runs")
	if err != nil {
		return err
	}
	defer closeStore()
	if both {
		return c.runBoth(e, ex.R, start, to, senv, bar)
	}
	t0 := now()
	rec, runErr := study.Escape(
		e.ctx,
		senv,
		study.EscapeSpec{Problem: c.problem(), Dynamics: c.dynamics(c.sgdFlags), Exit: c.Exit,
			Runs: c.Runs, Seed: c.Seed, MaxSteps: c.MaxSteps, Start: start, To: to},
	)
	bar.Done()
	if rec == nil {
		return runErr
	}
	out := escapeRecord{header: newHeader("escape"), EscapeRecord: rec, Elapsed: since(t0)}
	if err := e.check(out); err != nil {
		return err
	}
	if runErr != nil {
		if len(rec.Trajectory) > 0 && !e.g.JSON {
			fmt.Fprintf(e.out, "stopped; the %d runs that finished:\n", len(rec.Trajectory))
			printEscape(e, &out)
		}
		return ensembleError(runErr, rec.Stats, "run", c.Store)
	}
	if c.Out != "" {
		if err := writeEscape(c.Out, &out); err != nil {
			return err
		}
	}
	if e.g.JSON {
		if err := e.writeJSON(out); err != nil {
			return err
		}
	} else {
		printEscape(e, &out)
	}
	if rec.Diverged > 0 {
		where := "they are not kept (no --store)"
		if c.Store != "" {
			where = "they are recorded in " + c.Store + " as diverged"
		}
		return fault.Diverged(
			"%d of %d runs diverged (parameters or loss not finite): they are not counted as escapes, and %s; "+
				"lower --eta or raise --batch",
			rec.Diverged,
			len(rec.Trajectory),
			where,
		)
	}
	return noEscape(rec, "")
}

// noEscape is the error, printed after the results, for an ensemble of which no run escaped
// at some level: its budget was too short to measure anything there (what names the
// direction of a two-way study).
func noEscape(rec *study.EscapeRecord, what string) error {
	for _, r := range rec.Rates {
		if r.Escaped == 0 {
			exp := "no prediction of the time is available"
			for _, pr := range rec.Predictions {
				if pr.Level == r.Level && !math.IsNaN(float64(pr.MFPT)) {
					exp = fmt.Sprintf("the %s predicts %.4g t = %.4g steps", pr.Name, float64(pr.MFPT),
						float64(pr.Steps))
					break
				}
			}
			return fault.Invalid("no run escaped (%slevel %g) within the budget of %d steps per run (%s): raise "+
				"--max-steps", what, r.Level, rec.MaxSteps, exp)
		}
	}
	return nil
}

type bothRecord struct {
	header
	*study.BothRecord
	Elapsed float64 `json:"elapsed_s"`
}

// runBoth measures the escapes A -> B and B -> A (each an ensemble in the store, resumed like
// any other) and, with --occupation-runs, the occupation of each minimum by long runs.
func (c *escapeCmd) runBoth(e *env, r float64, start, to []float64, senv study.Env, bar bar) error {
	t0 := now()
	rec, err := study.BothWays(e.ctx, senv, study.BothSpec{Problem: c.problem(), Dynamics: c.dynamics(c.sgdFlags),
		WellR: r, Runs: c.Runs, MaxSteps: c.MaxSteps, Seed: c.Seed, Start: start, To: to, OccRuns: c.OccupationRuns,
		OccSteps: c.OccupationSteps, OccBlocks: 20})
	bar.Done()
	if err != nil {
		if rec != nil {
			return ensembleError(err, rec.Stats, "run", c.Store)
		}
		return err
	}
	out := bothRecord{header: newHeader("escape"), BothRecord: rec, Elapsed: since(t0)}
	if err := e.check(out); err != nil {
		return err
	}
	if e.g.JSON {
		if err := e.writeJSON(out); err != nil {
			return err
		}
	} else {
		printBoth(e, rec, out.Elapsed)
	}
	if err := noEscape(rec.AB, "A -> B, "); err != nil {
		return err
	}
	return noEscape(rec.BA, "B -> A, ")
}

// printBoth prints a two-way study.
func printBoth(e *env, rec *study.BothRecord, elapsed float64) {
	fmt.Fprintf(e.out, "escapes both ways between the minima of %s on %s (%.1fs)\n", rec.Model, rec.Data, elapsed)
	fmt.Fprintf(e.out, "  %s\n", rec.AB.Describe)
	fmt.Fprintf(e.out, "  A: h* = %.4g, n = %d; B: h* = %.4g, n = %d; L* = %.4g, L^s = %.4g\n", rec.HStarA, rec.NA,
		rec.HStarB, rec.NB, rec.LStar, rec.LSaddle)
	for _, d := range []struct {
		name string
		lr   escape.LevelRate
	}{{"A -> B", rec.RatesAB}, {"B -> A", rec.RatesBA}} {
		fmt.Fprintf(e.out, "  %s: %d of %d escaped, rate %.4g (95%%: %.4g .. %.4g) per t, MFPT %s\n", d.name,
			d.lr.Escaped, d.lr.Runs, d.lr.Kappa, d.lr.Lo, d.lr.Hi, fv("%.4g t", d.lr.MFPT))
	}
	if se := float64(rec.LogRatioSE); !math.IsNaN(se) && !math.IsInf(se, 0) {
		fmt.Fprintf(e.out, "  occupation ratio p_A/p_B = T_AB/T_BA = %s (x/÷ %.3g, one standard error)\n",
			fv("%.4g", rec.RatioRates), math.Exp(se))
	} else {
		fmt.Fprintf(e.out, "  occupation ratio p_A/p_B = T_AB/T_BA = %s\n", fv("%.4g", rec.RatioRates))
	}
	if occ := rec.Occupation; occ != nil {
		fmt.Fprintf(e.out, "  long runs: A occupied %s +- %s of the time (%d and %d transitions): p_A/p_B = %s\n",
			fv("%.4f", occ.FractionA), fv("%.4f", occ.SE), occ.Transitions[0],
			occ.Transitions[1], fv("%.4g", rec.RatioOccupied))
	}
	for _, p := range rec.Predictions {
		if p.Note != "" && math.IsNaN(float64(p.Ratio)) {
			fmt.Fprintf(e.out, "    %-12s %s\n", p.Name, p.Note)
			continue
		}
		fmt.Fprintf(e.out, "    %-12s predicts p_A/p_B = %s\n", p.Name, fv("%.4g", p.Ratio))
	}
	for _, n := range rec.Notes {
		fmt.Fprintln(e.out, "  note:", n)
	}
}

func printEscape(e *env, r *escapeRecord) {
	fmt.Fprintf(e.out, "escape of %s on %s from its minimum (L* = %.6g, h* = %.5g, n = %d)\n", r.Model, r.Data,
		r.LStar, r.HStar, r.N)
	fmt.Fprintf(e.out, "  %s\n  exit: %s; %d runs, budget %d steps each (%.1fs; %d runs from the store, %d "+
		"computed)\n", r.Describe, r.ExitDetail, r.Runs, r.MaxSteps, r.Elapsed, r.Stats.Stored, r.Stats.Computed)
	if r.Diverged > 0 {
		fmt.Fprintf(e.out, "  DIVERGED: %d runs stopped being finite; they are censored at their divergence, not "+
			"counted as escapes\n", r.Diverged)
	}
	if b := r.Barrier; b != nil {
		fmt.Fprintf(e.out, "  saddle: L^s = %.6g (Delta L = %.4g, Delta log L = %s), negative eigenvalue %.4g\n",
			b.Saddle.Loss, b.DeltaL, deltaLogL("%.4g", b), b.Saddle.NegEig)
	}
	fmt.Fprintf(e.out, "  predicted exponent B/(eta h*) + 1 - n/2 = %.4g\n", r.Exponent)
	for _, lr := range r.Rates {
		mfpt := fmt.Sprintf("MFPT %.4g +- %s t = %.4g steps; CV %s%s", float64(lr.MFPT), fv("%.2g", lr.MFPTSE),
			float64(lr.MFPTSteps), fv("%.2f", lr.CV), expVerdict(lr.Rate))
		switch {
		case lr.Escaped == 1 && lr.Censored == 0:
			mfpt = fmt.Sprintf("MFPT %.4g t = %.4g steps (one escape: no standard error or spread)",
				float64(lr.MFPT), float64(lr.MFPTSteps))
		case lr.Escaped == 0:
			mfpt = fmt.Sprintf("MFPT not measured (no run escaped; above %s t at 95%%)", fv("%.4g", lr.MFPTLo))
		}
		fmt.Fprintf(e.out, "  level %g: %d escaped, %d censored; rate %.4g (95%%: %.4g .. %.4g) per t; %s\n",
			lr.Level, lr.Escaped, lr.Censored, lr.Kappa, lr.Lo, lr.Hi, mfpt)
		if lr.Warning != "" {
			fmt.Fprintf(e.out, "    warning: %s\n", lr.Warning)
		}
		last := ""
		for _, pr := range r.Predictions {
			if pr.Level == lr.Level {
				if math.IsNaN(float64(pr.MFPT)) {
					note := pr.Note
					if note == last {
						note = "not computed (as above)"
					}
					fmt.Fprintf(e.out, "    %-13s %s\n", pr.Name, note)
					last = pr.Note
					continue
				}
				fmt.Fprintf(e.out, "    %-13s rate %s, MFPT %s t (measured/predicted MFPT = %s)\n", pr.Name,
					fv("%.4g", pr.Rate), fv("%.4g", pr.MFPT), fv("%.3f", lr.MFPT/pr.MFPT))
			}
		}
	}
	if s := r.Slope; s != nil {
		fmt.Fprintf(e.out, "  log MFPT vs log c: slope %.3f +- %.3f (theory %.3f), chi2 %.1f on %d dof\n", s.Slope,
			s.SlopeSE, r.Exponent, s.Chi2, s.DOF)
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
func writeEscape(dir string, rec *escapeRecord) error {
	rec.Outputs = map[string]string{}
	runs := rec.Trajectory
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
		series = append(series, report.Series{Name: fmt.Sprintf("level %g", lv.Level), X: xs, Y: ys,
			Style: report.Steps}, report.Series{Name: fmt.Sprintf("exp(-kappa t), kappa = %.3g", lv.Kappa), X: xs,
			Y: fit, Style: report.Dashed})
	}
	if len(series) > 0 {
		fig := report.Figure{Title: "Survival: fraction of runs not yet escaped", XLabel: "t", YLabel: "fraction",
			LogY: true, Series: series}
		p = filepath.Join(dir, "survival.png")
		if err := fig.WritePNG(p); err != nil {
			return err
		}
		rec.Outputs["survival"] = p
	}
	if len(rec.Rates) >= 2 {
		var xs, ys, es, qs []float64
		for _, lr := range rec.Rates {
			xs, ys, es = append(xs, lr.Level), append(ys, float64(lr.MFPT)), append(es, float64(lr.MFPTSE))
			q := math.NaN()
			for _, pr := range rec.Predictions {
				if pr.Level == lr.Level && pr.Name == "quadrature" {
					q = float64(pr.MFPT)
				}
			}
			qs = append(qs, q)
		}
		fig := report.Figure{Title: "Mean first-passage time vs threshold", XLabel: "c = L/L*", YLabel: "MFPT (t)",
			LogX: true, LogY: true, Series: []report.Series{{Name: "measured", X: xs, Y: ys, YErr: es,
				Style: report.Points}, {Name: "quadrature (decoupled SDE)", X: xs, Y: qs, Style: report.Dashed}}}
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
