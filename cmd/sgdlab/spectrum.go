package main

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sgdlab/sgdlab/curvature"
	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/study"
)

type spectrumCmd struct {
	problemFlags
	// The point and the matrix.
	Theta  string `help:"${spectrum_theta}" placeholder:"FILE.npy|a,b,..."`
	Evals  int    `help:"Loss-and-gradient evaluations allowed when searching the minimum." default:"5000"`
	Matrix string `help:"hessian (exact, R-operator) or gn (Gauss-Newton)." default:"hessian" enum:"hessian,gn"`
	// Eigenpairs (Lanczos).
	K       int `help:"Number of top and bottom eigenpairs (0: min(10, P))." default:"0"`
	MaxIter int `help:"Lanczos iteration limit (0: automatic)." default:"0" name:"max-iter"`
	// Traces, densities and effective dimensions (stochastic estimates).
	probeFlags
	Steps   int    `help:"Lanczos steps per density probe." default:"80"`
	MaddoxZ string `help:"${spectrum_maddoxz}" default:"0.01,0.1,1" name:"maddox-z"`
	NoBlock bool   `help:"Skip the per-layer analysis." name:"no-blocks"`
	Out     string `help:"Directory for spectrum.json, density.csv and density.png." placeholder:"DIR"`
}

type spectrumRecord struct {
	header
	*study.SpectrumRecord
}

func (c *spectrumCmd) Run(e *env) error {
	if err := firstErr(intRange("--k", int64(c.K), 0, math.MaxInt32), intRange("--probes", int64(c.Probes), 2, 1<<20),
		intRange("--steps", int64(c.Steps), 1, 1<<16), intRange("--max-iter", int64(c.MaxIter), 0, 1<<20),
		intRange("--evals", int64(c.Evals), 1, 1<<30), outDir("--out", c.Out)); err != nil {
		return err
	}
	var zs []float64
	for _, f := range strings.Split(c.MaddoxZ, ",") {
		z, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(z > 0) || math.IsInf(z, 0) {
			return fault.Invalid("--maddox-z %q: values must be positive finite numbers", c.MaddoxZ)
		}
		zs = append(zs, z)
	}
	theta, err := c.params("--theta", c.Theta)
	if err != nil {
		return err
	}
	bar := e.prog.Bar(-1, "spectrum")
	rec, aerr := study.Spectrum(
		e.ctx,
		e.studyEnv(bar),
		study.SpectrumSpec{Problem: c.problem(), Theta: theta, ThetaName: c.paramsName(c.Theta), Matrix: c.Matrix,
			K: c.K, Probes: c.Probes, Steps: c.Steps, MaxIter: c.MaxIter, MaddoxZ: zs, Blocks: !c.NoBlock,
			Evals: c.Evals, Seed: c.Seed},
	)
	bar.Done()
	if aerr != nil && (rec == nil || !errors.Is(aerr, curvature.ErrNotConverged)) {
		return aerr
	}
	out := spectrumRecord{header: newHeader("spectrum"), SpectrumRecord: rec}
	if err := e.check(out); err != nil {
		return err
	}
	if c.Out != "" {
		if err := writeSpectrum(c.Out, &out); err != nil {
			return err
		}
	}
	if e.g.JSON {
		if err := e.writeJSON(out); err != nil {
			return err
		}
	} else {
		printSpectrum(e, &out)
	}
	if aerr != nil {
		return fmt.Errorf("spectrum written, but: %w", aerr)
	}
	return nil
}

func writeSpectrum(dir string, r *spectrumRecord) error {
	a := r.Analysis
	r.Outputs = map[string]string{}
	rows := make([][]float64, len(a.DensityGrid))
	for i := range rows {
		rows[i] = []float64{a.DensityGrid[i], a.Density[i], a.DensitySE[i]}
	}
	p := filepath.Join(dir, "density.csv")
	if err := report.WriteCSV(p, []string{"eigenvalue", "density", "se"}, rows); err != nil {
		return err
	}
	r.Outputs["density_csv"] = p
	fig := report.Figure{Title: fmt.Sprintf("Spectral density of %s (SLQ, sigma = %.3g)", r.Matrix, a.DensitySigma),
		XLabel: "eigenvalue", YLabel: "density", LogY: true, Series: []report.Series{{Name: "SLQ density",
			X: a.DensityGrid, Y: a.Density, Style: report.Line}}}
	p = filepath.Join(dir, "density.png")
	if err := fig.WritePNG(p); err != nil {
		return err
	}
	r.Outputs["density_png"] = p
	p = filepath.Join(dir, "spectrum.json")
	r.Outputs["record"] = p
	return report.WriteJSON(p, r)
}

func printSpectrum(e *env, r *spectrumRecord) {
	a := r.Analysis
	fmt.Fprintf(e.out, "%s spectrum of %s on %s (P=%d) at %s: L = %.6g, |grad L| = %.3g\n", r.Matrix, r.Model, r.Data,
		a.Dim, r.Theta, r.Point.Loss, r.Point.GradNorm)
	fmt.Fprintf(e.out, "  top eigenvalues:    %s\n", fmtList(a.Top))
	fmt.Fprintf(e.out, "  bottom eigenvalues: %s\n", fmtList(a.Bottom))
	maxRes := 0.0
	for _, v := range append(append([]float64(nil), a.TopResid...), a.BottomResid...) {
		maxRes = max(maxRes, v)
	}
	fmt.Fprintf(
		e.out,
		"  largest residual |H u - lambda u| = %.2g, converged %v, %d matrix-vector products; power iteration top "+
			"%.6g\n",
		maxRes,
		a.Converged,
		a.Matvecs,
		a.PowerTop,
	)
	if a.LanczosNote != "" {
		fmt.Fprintf(e.out, "  WARNING: %s\n", a.LanczosNote)
	}
	fmt.Fprintf(e.out, "  trace: Hutchinson %.6g +- %.2g, Hutch++ %.6g +- %.2g\n", a.Hutchinson.Value,
		a.Hutchinson.SE, a.HutchPP.Value, a.HutchPP.SE)
	gap := fmt.Sprintf("%.3g", a.Outliers.GapRatio)
	if a.Outliers.GapRatio >= (1-1e-9)/curvature.FloorFraction {
		// The rule's denominator is at least FloorFraction lambda_1: the ratio is a floor.
		gap = fmt.Sprintf(">= %.3g (the next eigenvalue is below %g lambda_1)", 1/curvature.FloorFraction,
			curvature.FloorFraction)
	}
	fmt.Fprintf(e.out, "  effective dimension: n = %d outlier eigenvalues, h* = %.6g (geometric %.6g, range "+
		"%.4g..%.4g), gap ratio %s\n", a.Outliers.N, a.Outliers.HStar, a.Outliers.HGeo, a.Outliers.HMin,
		a.Outliers.HMax, gap)
	fmt.Fprintf(e.out, "    rule: %s\n", a.Outliers.Rule)
	for _, m := range a.Maddox {
		fmt.Fprintf(e.out, "  Maddox N_eff(z=%g) = %.4g +- %.2g\n", m.Z, m.Estimate.Value, m.Estimate.SE)
	}
	for _, b := range a.Blocks {
		fmt.Fprintf(e.out, "  block %-16s size %8d  trace %.5g +- %.2g  top %.5g\n", b.Name, b.Size, b.Trace.Value,
			b.Trace.SE, b.Top.Value)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(e.out, "  note:", n)
	}
	printOutputs(e, r.Outputs)
}

func fmtList(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'g', 6, 64)
	}
	return "[" + strings.Join(s, " ") + "]"
}
