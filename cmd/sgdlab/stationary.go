package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"

	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/stats"
	"github.com/sgdlab/sgdlab/study"
)

type stationaryCmd struct {
	// The chains and how they are sampled: burn-in, then samples every Every steps,
	// stopping a chain that leaves the minimum's valley (the law is the one inside it).
	Chains  int    `help:"Independent chains." default:"4"`
	Samples int    `help:"Samples per chain after burn-in." default:"10000"`
	Every   int64  `help:"SGD steps (of length eta in t) between samples." default:"100"`
	Burn    int64  `help:"${stationary_burn}" default:"0"`
	Valley  int    `help:"${stationary_valley}" default:"1" enum:"0,1"`
	Out     string `help:"Directory for stationary.json, stationary.csv and stationary.png." placeholder:"DIR"`
	// The problem, the dynamics and the store.
	problemFlags
	sgdFlags
	dynFlags
	storeFlags
}

type stationaryRecord struct {
	header
	*study.StationaryRecord
	PhiFit  float64 `json:"phi"`
	PhiSE   float64 `json:"phi_se"`
	PhiLo   float64 `json:"phi_ci95_lo"`
	PhiHi   float64 `json:"phi_ci95_hi"`
	Elapsed float64 `json:"elapsed_s"`
}

func (c *stationaryCmd) Run(e *env) error {
	if err := firstErr(c.sgdFlags.check(), c.dynFlags.check(), intRange("--chains", int64(c.Chains), 1, math.MaxInt32),
		intRange("--samples", int64(c.Samples), 10, math.MaxInt32), intRange("--every", c.Every, 1, 1<<40),
		intRange("--burn", c.Burn, 0, 1<<50), outDir("--out", c.Out)); err != nil {
		return err
	}
	start, senv, bar, closeStore, err := e.ensemble(c.problemFlags, c.dynFlags, c.storeFlags, "chains")
	if err != nil {
		return err
	}
	defer closeStore()
	t0 := now()
	rec, err := study.Stationary(
		e.ctx,
		senv,
		study.StationarySpec{Problem: c.problem(), Dynamics: c.dynamics(c.sgdFlags), Chains: c.Chains,
			Samples: c.Samples, Every: c.Every, Burn: c.Burn, Valley: c.Valley == 1, Seed: c.Seed, Start: start},
	)
	bar.Done()
	if err != nil {
		if rec == nil {
			return err
		}
		return ensembleError(err, rec.Stats, "chain", c.Store)
	}
	out := stationaryRecord{header: newHeader("stationary"), StationaryRecord: rec, Elapsed: since(t0)}
	res := rec.Fit
	out.PhiFit, out.PhiSE, out.PhiLo, out.PhiHi = res.Power.Param, res.Power.SE, res.Power.Lo, res.Power.Hi
	if err := e.check(out); err != nil {
		return err
	}
	if c.Out != "" {
		if err := writeStationary(c.Out, &out); err != nil {
			return err
		}
	}
	if e.g.JSON {
		return e.writeJSON(out)
	}
	fmt.Fprintf(e.out, "stationary distribution of %s on %s\n  %s\n", rec.Model, rec.Data, rec.Describe)
	fmt.Fprintf(
		e.out,
		"  minimum: L* = %.6g, h* = %.6g, n = %d directions; %d chains x %d samples every %d steps after %d "+
			"burn-in steps (%.1fs; %d chains from the store, %d computed)\n",
		rec.LStar,
		rec.HStar,
		rec.N,
		c.Chains,
		c.Samples,
		c.Every,
		rec.Burn,
		out.Elapsed,
		rec.Stats.Stored,
		rec.Stats.Computed,
	)
	fmt.Fprintf(e.out, "  fitted phi = %.4f +- %.4f (95%%: %.4f .. %.4f), autocorrelation time %.2f samples, ESS "+
		"%.0f\n", out.PhiFit, out.PhiSE, out.PhiLo, out.PhiHi, res.Tau, res.ESS)
	fmt.Fprintf(e.out, "  predicted phi = 1 + B/(eta h*) = %.4f (Stratonovich reading %.4f): deviation %.1f "+
		"standard errors\n", rec.PhiTheory, rec.PhiStrat, rec.Deviation)
	fmt.Fprintf(e.out, "  goodness of fit: KS distance %.4f (p = %.3g); Gibbs alternative T = %.4g: KS p = %.3g\n",
		res.Power.KS, res.Power.KSp, res.Gibbs.Param, res.Gibbs.KSp)
	fmt.Fprintf(e.out, "  %s\n", res.Summary)
	printTails(e, rec)
	for _, n := range rec.Notes {
		fmt.Fprintln(e.out, "  note:", n)
	}
	printOutputs(e, out.Outputs)
	return nil
}

// ensembleError explains what was kept when an ensemble stopped: the finished
// trajectories are in the store (resume by repeating the command), or were lost without one.
func ensembleError(err error, st ensemble.Stats, what, storePath string) error {
	kept := fmt.Sprintf("%d %ss finished but without --store none was kept; pass --store FILE to keep them across "+
		"interruptions", st.Computed, what)
	if storePath != "" {
		kept = fmt.Sprintf("%d finished %ss are recorded in %s; run the same command again to resume",
			st.Stored+st.Computed, what, storePath)
	}
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("interrupted: %s: %w", kept, err)
	default:
		return fmt.Errorf("%w (%s)", err, kept)
	}
}

// writeStationary writes the log-binned density of u = L/L* - 1 with the fitted power law
// and Gibbs densities.
func writeStationary(dir string, r *stationaryRecord) error {
	r.Outputs = map[string]string{}
	var xs, ys, es, pw, pt, gb []float64
	var rows [][]float64
	for _, b := range r.Fit.Histogram(40, r.LStar, float64(r.N)/2, r.PhiTheory) {
		xs, ys, es = append(xs, b.U), append(ys, b.Density), append(es, b.SE)
		pw, pt, gb = append(pw, b.PowerLaw), append(pt, b.PowerTheory), append(gb, b.Gibbs)
		rows = append(rows, []float64{b.U, b.Density, b.SE, b.PowerLaw, b.PowerTheory, b.Gibbs})
	}
	path := filepath.Join(dir, "stationary.csv")
	if err := report.WriteCSV(path, []string{"u", "density", "se", "power_law_fit", "power_law_theory", "gibbs_fit"},
		rows); err != nil {
		return err
	}
	r.Outputs["histogram_csv"] = path
	fig := report.Figure{Title: fmt.Sprintf("Stationary density of u = L/L* - 1 (%s, eta=%g, B=%d)", r.Dynamics.Kind,
		r.Dynamics.Eta, r.Dynamics.Batch), XLabel: "u = L/L* - 1", YLabel: "density", LogX: true, LogY: true,
		Series: []report.Series{{Name: "measured", X: xs, Y: ys, YErr: es, Style: report.Points},
			{Name: fmt.Sprintf("fitted power law, phi = %.3f", r.Fit.Power.Param), X: xs, Y: pw,
				Style: report.Line}, {Name: fmt.Sprintf("theory, phi = %.3f", r.PhiTheory), X: xs, Y: pt,
				Style: report.Dashed}, {Name: fmt.Sprintf("Gibbs exp(-L/T), T = %.3g", r.Fit.Gibbs.Param),
				X: xs, Y: gb, Style: report.Dashed}}}
	path = filepath.Join(dir, "stationary.png")
	if err := fig.WritePNG(path); err != nil {
		return err
	}
	r.Outputs["histogram_png"] = path
	path = filepath.Join(dir, "stationary.json")
	r.Outputs["record"] = path
	return report.WriteJSON(path, r)
}

// printTails prints the tail estimates beside the bulk fit, and the exact chain's phi_eta and
// Kesten exponent for linear models.
func printTails(e *env, rec *study.StationaryRecord) {
	for _, t := range []*stats.Tail{rec.TailHill, rec.TailCSN} {
		if t != nil {
			fmt.Fprintf(e.out, "  tail index of |theta - theta*| (%s, %s, k = %d): alpha = %.3f +- %.3f (95%%: "+
				"%.3f .. "+
				"%.3f), KS %.3g\n", t.Method, t.Choice, t.K, t.Alpha, t.SE, t.CILo, t.CIHi, t.KS)
		}
	}
	if rec.TailHill != nil {
		fmt.Fprintf(e.out, "    as a tail phi = (alpha + n)/2 = %.4f; the bulk fit's phi implies alpha = 2 phi - n "+
			"= %.3f\n",
			float64(rec.PhiTail), 2*rec.Fit.Power.Param-float64(rec.N))
	}
	if fs := rec.FiniteStep; fs != nil {
		fmt.Fprintf(e.out, "  exact chain: finite-step phi_eta = %s (covariance equation); Kesten alpha = %s",
			fv("%.4f", fs.PhiEta), fv("%.4f", fs.Alpha))
		if fs.AlphaSE > 0 {
			fmt.Fprintf(e.out, " +- %.3f", float64(fs.AlphaSE))
		}
		fmt.Fprintf(e.out, ", phi_K = (alpha + p)/2 = %s\n    (%s)\n", fv("%.4f", fs.PhiK), fs.Method)
		for _, n := range fs.Notes {
			fmt.Fprintln(e.out, "    note:", n)
		}
	}
}
