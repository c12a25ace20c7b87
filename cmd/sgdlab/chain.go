package main

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"

	"github.com/sgdlab/sgdlab/escape"
	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/study"
)

type chainCmd struct {
	problemFlags
	Eta   float64 `help:"Learning rate eta (> 0)." required:""`
	Batch int     `help:"Mini-batch size B (1 <= B <= N); batches are drawn with replacement." default:"1"`
	Exit  string  `help:"${chain_exit}" default:"loss:c=2"`
	// The discretisation.
	Grid    int     `help:"${chain_grid}" default:"0"`
	Batches int     `help:"${chain_batches}" default:"0"`
	Sets    int     `help:"Independent Monte Carlo batch sets for the error when B > 1 (0: 4)." default:"0"`
	Margin  float64 `help:"${chain_margin}" default:"0"`
	// Where the chain starts and what it escapes to.
	Start   string `help:"${dyn_start}" placeholder:"FILE.npy|a,b"`
	To      string `help:"${escape_to}" placeholder:"FILE.npy|a,b"`
	Seed    uint64 `help:"Seed of the minimum search and of the Monte Carlo batches." default:"1"`
	Workers int    `help:"Parallel workers for the transition (0: one per core)." default:"0"`
	Out     string `help:"Directory for chain.json, density.csv and density.png." placeholder:"DIR"`
}

type chainRecord struct {
	header
	*study.ChainRecord
	Elapsed float64 `json:"elapsed_s"`
}

func (c *chainCmd) Run(e *env) error {
	if err := firstErr(finite("--eta", c.Eta, 0, false), intRange("--batch", int64(c.Batch), 1, math.MaxInt32),
		intRange("--grid", int64(c.Grid), 0, 1<<16), cond(c.Grid == 0 || c.Grid >= 8,
			"--grid %d must be at least 8 intervals (0: the default)", c.Grid),
		intRange("--batches", int64(c.Batches), 0, 1<<30), intRange("--sets", int64(c.Sets), 0, 1000),
		intRange("--workers", int64(c.Workers), 0, 4096), finite("--margin", c.Margin, 0, true),
		outDir("--out", c.Out)); err != nil {
		return err
	}
	if _, err := escape.ParseExit(c.Exit); err != nil {
		return fmt.Errorf("--exit: %w", err)
	}
	start, err := c.params("--start", c.Start)
	if err != nil {
		return err
	}
	to, err := vector("--to", c.To)
	if err != nil {
		return err
	}
	b := e.prog.Bar(-1, "exact chain")
	senv := e.studyEnv(b)
	senv.Ens.Workers = dynFlags{Workers: c.Workers}.workers()
	t0 := now()
	rec, err := study.Chain(e.ctx, senv, study.ChainSpec{Problem: c.problem(), Eta: c.Eta, Batch: c.Batch,
		Exit: c.Exit, Grid: c.Grid, Batches: c.Batches, Sets: c.Sets, Margin: c.Margin, Seed: c.Seed, Start: start,
		To: to})
	b.Done()
	if err != nil {
		return err
	}
	out := chainRecord{header: newHeader("chain"), ChainRecord: rec, Elapsed: since(t0)}
	if err := e.check(out); err != nil {
		return err
	}
	if c.Out != "" {
		if err := writeChain(c.Out, &out); err != nil {
			return err
		}
	}
	if e.g.JSON {
		return e.writeJSON(out)
	}
	fmt.Fprintf(e.out, "exact SGD chain of %s on %s: eta = %g, B = %d, with replacement (%.1fs)\n", rec.Model,
		rec.Data, rec.Eta, rec.Batch, out.Elapsed)
	fmt.Fprintf(e.out, "  minimum: L* = %.6g, h* = %.5g; the paper's phi = 1 + B/(eta h*) = %.4g\n", rec.LStar,
		rec.HStar, rec.Phi)
	for _, r := range rec.Levels {
		mc := ""
		if r.MFPTSE > 0 {
			mc = fmt.Sprintf(" +- %.2g (Monte Carlo batches)", float64(r.MFPTSE))
		}
		fmt.Fprintf(e.out, "  level %g: MFPT %.5g t%s = %.5g steps; escape rate %s (1 - lambda = %s)\n",
			r.Level, float64(r.MFPT), mc, float64(r.MFPTSteps), fv("%.4g per t", r.Rate), fv("%.4g per step",
				r.RatePerStep))
		set := ""
		if r.MFPTSE > 0 {
			set = ", first batch set"
		}
		fmt.Fprintf(e.out, "    grid %d (%d unknowns): half grid %.5g t, change %.2g%%%s; residuals %.1e (MFPT), "+
			"%s (law)\n", r.Grid, r.Unknowns, float64(r.CoarseMFPT), 100*float64(r.GridChange), set, r.Residual,
			fv("%.1e", r.EigResidual))
		for _, pr := range rec.Predictions {
			if pr.Level == r.Level {
				fmt.Fprintf(e.out, "    %-13s MFPT %s t (chain/prediction = %s)\n", pr.Name, fv("%.4g", pr.MFPT),
					fv("%.3f", r.MFPT/pr.MFPT))
			}
		}
		for _, w := range r.Warnings {
			fmt.Fprintln(e.out, "    warning:", w)
		}
	}
	for _, n := range rec.Notes {
		fmt.Fprintln(e.out, "  note:", n)
	}
	printOutputs(e, out.Outputs)
	return nil
}

// writeChain writes the record, the quasi-stationary density beside the paper's law (CSV),
// and its figure: the density in one dimension, the two marginals in two.
func writeChain(dir string, r *chainRecord) error {
	r.Outputs = map[string]string{}
	if len(r.Density) > 0 {
		p := len(r.Density[0].Theta)
		head := []string{"theta", "chain_density", "paper_density"}
		if p == 2 {
			head = []string{"theta1", "theta2", "chain_density", "paper_density"}
		}
		var rows [][]float64
		for _, d := range r.Density {
			rows = append(rows, append(append([]float64(nil), d.Theta...), d.Chain, d.Paper))
		}
		path := filepath.Join(dir, "density.csv")
		if err := report.WriteCSV(path, head, rows); err != nil {
			return err
		}
		r.Outputs["density_csv"] = path
		var series []report.Series
		for axis := 0; axis < p; axis++ {
			xs, ch, pa := marginal(r.Density, axis)
			name := ""
			if p == 2 {
				name = fmt.Sprintf(" (marginal of theta%d)", axis+1)
			}
			series = append(series, report.Series{Name: "exact chain" + name, X: xs, Y: ch, Style: report.Line},
				report.Series{Name: fmt.Sprintf("paper L^-phi, phi = %.3g%s", r.Phi, name), X: xs, Y: pa,
					Style: report.Dashed})
		}
		fig := report.Figure{Title: fmt.Sprintf("Quasi-stationary law of SGD (eta=%g, B=%d) in %s", r.Eta, r.Batch,
			r.Levels[len(r.Levels)-1].Region), XLabel: "theta", YLabel: "density", Series: series}
		path = filepath.Join(dir, "density.png")
		if err := fig.WritePNG(path); err != nil {
			return err
		}
		r.Outputs["density_png"] = path
	}
	path := filepath.Join(dir, "chain.json")
	r.Outputs["record"] = path
	return report.WriteJSON(path, r)
}

// marginal sums the density over the other coordinate (in two dimensions) and returns the
// node positions along axis with both densities.
func marginal(dens []study.ChainDensity, axis int) (xs, chainD, paperD []float64) {
	type acc struct{ c, p float64 }
	sum := map[float64]*acc{}
	for _, d := range dens {
		x := d.Theta[axis]
		if sum[x] == nil {
			sum[x] = &acc{}
		}
		sum[x].c += d.Chain
		sum[x].p += d.Paper
	}
	for x := range sum {
		xs = append(xs, x)
	}
	sort.Float64s(xs)
	// The other coordinate's spacing turns sums into integrals: normalise each to one.
	var tc, tp float64
	for i := 1; i < len(xs); i++ {
		w := xs[i] - xs[i-1]
		tc += w * (sum[xs[i]].c + sum[xs[i-1]].c) / 2
		tp += w * (sum[xs[i]].p + sum[xs[i-1]].p) / 2
	}
	for _, x := range xs {
		chainD, paperD = append(chainD, sum[x].c/tc), append(paperD, sum[x].p/tp)
	}
	return xs, chainD, paperD
}
