package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sgdlab/sgdlab/curvature"
	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/landscape"
	"github.com/sgdlab/sgdlab/seed"
)

type spectrumCmd struct {
	problemFlags
	Theta   string `help:"Point to analyse: a .npy file or comma-separated numbers. Default: the minimum, found by descending from the model's initialisation (exactly, for linear regression)." placeholder:"FILE.npy|a,b,..."`
	Matrix  string `help:"hessian (exact, R-operator) or gn (Gauss-Newton)." default:"hessian" enum:"hessian,gn"`
	K       int    `help:"Number of top and bottom eigenpairs (0: min(10, P))." default:"0"`
	Probes  int    `help:"Probes for traces and the spectral density." default:"30"`
	Steps   int    `help:"Lanczos steps per density probe." default:"80"`
	MaxIter int    `name:"max-iter" help:"Lanczos iteration limit (0: automatic)." default:"0"`
	MaddoxZ string `name:"maddox-z" help:"Comma-separated z values of the Maddox effective dimension sum lambda/(lambda+z)." default:"0.01,0.1,1"`
	NoBlock bool   `name:"no-blocks" help:"Skip the per-layer analysis."`
	Evals   int    `help:"Loss-and-gradient evaluations allowed when searching the minimum." default:"5000"`
	Seed    uint64 `help:"Seed for initialisation and random probes." default:"1"`
	Out     string `help:"Directory for spectrum.json, density.csv and density.png." placeholder:"DIR"`
}

type spectrumRecord struct {
	Command  string              `json:"command"`
	Version  string              `json:"version"`
	Model    string              `json:"model"`
	Data     string              `json:"data"`
	Loss     string              `json:"loss"`
	Matrix   string              `json:"matrix"`
	Theta    string              `json:"theta"`
	Point    *landscape.Point    `json:"point"`
	Analysis *curvature.Analysis `json:"analysis"`
	Notes    []string            `json:"notes,omitempty"`
	Outputs  map[string]string   `json:"outputs,omitempty"`
}

func (c *spectrumCmd) Run(e *env) error {
	o, err := c.build(e)
	if err != nil {
		return err
	}
	if c.K < 0 || c.K > o.P() {
		return badInput(fmt.Errorf("--k %d must be between 1 and the number of parameters P = %d", c.K, o.P()))
	}
	if c.K == 0 {
		c.K = min(10, o.P())
	}
	var zs []float64
	for _, f := range strings.Split(c.MaddoxZ, ",") {
		z, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || z <= 0 {
			return badInput(fmt.Errorf("--maddox-z %q: values must be positive numbers", c.MaddoxZ))
		}
		zs = append(zs, z)
	}
	w := o.NewWorker(2, 0)
	rec := spectrumRecord{Command: "spectrum", Version: version, Model: o.Model.Spec(), Data: o.Data.Spec, Loss: o.Loss.Name(), Matrix: c.Matrix}
	var theta []float64
	if c.Theta != "" {
		if theta, err = thetaArg(c.Theta, o); err != nil {
			return err
		}
		rec.Theta = c.Theta
		p := landscape.Point{Method: "given"}
		g := make([]float64, o.P())
		p.Loss = w.LossGrad(theta, g)
		p.GradNorm = normOf(g)
		rec.Point = &p
	} else {
		start, _, _ := startTheta("", o, c.Seed)
		p, err := landscape.Minimize(e.ctx, w, start, landscape.MinimizeOptions{MaxEvals: c.Evals})
		if err != nil {
			if p.Theta == nil {
				return err
			}
			rec.Notes = append(rec.Notes, "not at a minimum: "+err.Error())
		}
		theta = p.Theta
		rec.Theta = "minimum (" + p.Method + ")"
		rec.Point = &p
	}
	op := curvature.Hessian(w, theta)
	if c.Matrix == "gn" {
		op = curvature.GaussNewton(w, theta)
	}
	opt := curvature.AnalyzeOptions{K: c.K, Probes: c.Probes, Steps: c.Steps, MaddoxZ: zs, MaxIter: c.MaxIter, Rand: seed.Stream(c.Seed, seed.Extra)}
	if !c.NoBlock {
		for _, b := range o.Model.Blocks() {
			opt.Blocks = append(opt.Blocks, curvature.BlockSpec{Name: b.Name, Off: b.Off, Len: b.Len})
		}
	}
	bar := e.prog.Bar(-1, "spectrum")
	opt.Progress = func(s string) { bar.Describe(s) }
	a, aerr := curvature.Analyze(op, opt)
	bar.Done()
	if aerr != nil && !errors.Is(aerr, curvature.ErrNotConverged) {
		return aerr
	}
	rec.Analysis = a
	if c.Out != "" {
		rec.Outputs = map[string]string{}
		rows := make([][]float64, len(a.DensityGrid))
		for i := range rows {
			rows[i] = []float64{a.DensityGrid[i], a.Density[i], a.DensitySE[i]}
		}
		p := filepath.Join(c.Out, "density.csv")
		if err := report.WriteCSV(p, []string{"eigenvalue", "density", "se"}, rows); err != nil {
			return err
		}
		rec.Outputs["density_csv"] = p
		fig := report.Figure{Title: fmt.Sprintf("Spectral density of %s (SLQ, sigma = %.3g)", c.Matrix, a.DensitySigma), XLabel: "eigenvalue", YLabel: "density", LogY: true,
			Series: []report.Series{{Name: "SLQ density", X: a.DensityGrid, Y: a.Density, Style: report.Line}}}
		p = filepath.Join(c.Out, "density.png")
		if err := fig.WritePNG(p); err != nil {
			return err
		}
		rec.Outputs["density_png"] = p
		p = filepath.Join(c.Out, "spectrum.json")
		rec.Outputs["record"] = p
		if err := report.WriteJSON(p, rec); err != nil {
			return err
		}
	}
	if e.g.JSON {
		if err := e.writeJSON(rec); err != nil {
			return err
		}
	} else {
		printSpectrum(e, &rec)
	}
	if aerr != nil {
		return fmt.Errorf("spectrum written, but: %w", aerr)
	}
	return nil
}

func normOf(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return sqrt(s)
}

func printSpectrum(e *env, r *spectrumRecord) {
	a := r.Analysis
	fmt.Fprintf(e.out, "%s spectrum of %s on %s (P=%d) at %s: L = %.6g, |grad L| = %.3g\n", r.Matrix, r.Model, r.Data, a.Dim, r.Theta, r.Point.Loss, r.Point.GradNorm)
	fmt.Fprintf(e.out, "  top eigenvalues:    %s\n", fmtList(a.Top))
	fmt.Fprintf(e.out, "  bottom eigenvalues: %s\n", fmtList(a.Bottom))
	maxRes := 0.0
	for _, v := range append(append([]float64(nil), a.TopResid...), a.BottomResid...) {
		maxRes = max(maxRes, v)
	}
	fmt.Fprintf(e.out, "  largest residual |H u - lambda u| = %.2g, converged %v, %d matrix-vector products; power iteration top %.6g\n", maxRes, a.Converged, a.Matvecs, a.PowerTop)
	if a.LanczosNote != "" {
		fmt.Fprintf(e.out, "  WARNING: %s\n", a.LanczosNote)
	}
	fmt.Fprintf(e.out, "  trace: Hutchinson %.6g +- %.2g, Hutch++ %.6g +- %.2g\n", a.Hutchinson.Value, a.Hutchinson.SE, a.HutchPP.Value, a.HutchPP.SE)
	fmt.Fprintf(e.out, "  effective dimension: n = %d outlier eigenvalues, h* = %.6g (geometric %.6g, range %.4g..%.4g), gap ratio %.3g\n", a.Outliers.N, a.Outliers.HStar, a.Outliers.HGeo, a.Outliers.HMin, a.Outliers.HMax, a.Outliers.GapRatio)
	fmt.Fprintf(e.out, "    rule: %s\n", a.Outliers.Rule)
	for _, m := range a.Maddox {
		fmt.Fprintf(e.out, "  Maddox N_eff(z=%g) = %.4g +- %.2g\n", m.Z, m.Estimate.Value, m.Estimate.SE)
	}
	for _, b := range a.Blocks {
		fmt.Fprintf(e.out, "  block %-16s size %8d  trace %.5g +- %.2g  top %.5g\n", b.Name, b.Size, b.Trace.Value, b.Trace.SE, b.Top)
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
