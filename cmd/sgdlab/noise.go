package main

import (
	"fmt"
	"math"
	"path/filepath"

	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/noise"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/study"
)

type noiseCmd struct {
	// The point, and the SGD whose noise is measured there (on the problem below).
	Theta    string `help:"${noise_theta}" placeholder:"FILE.npy|a,b,..."`
	Batch    int    `help:"Mini-batch size B of the SGD whose noise is measured." default:"1"`
	Sampling string `help:"epoch (without replacement) or replacement." default:"epoch" enum:"epoch,replacement"`
	// The forms it is compared with and how.
	Minimum string `help:"${noise_minimum}" default:"auto"`
	K       int    `help:"Top eigenvectors in the overlap measure (0: min(5, P-1))." default:"0"`
	NoFig1  bool   `help:"Skip the paper's Fig. 1 spectra." name:"no-fig1"`
	probeFlags
	Out string `help:"Directory for noise.json, fig1.csv and fig1.png." placeholder:"DIR"`
	problemFlags
}

type noiseRecord struct {
	header
	*study.NoiseRecord
}

func (c *noiseCmd) Run(e *env) error {
	if err := firstErr(intRange("--batch", int64(c.Batch), 1, math.MaxInt32), intRange("--k", int64(c.K), 0,
		math.MaxInt32),
		intRange("--probes", int64(c.Probes), 2, 1<<20), outDir("--out", c.Out)); err != nil {
		return err
	}
	theta, err := c.params("--theta", c.Theta)
	if err != nil {
		return err
	}
	spec := study.NoiseSpec{Problem: c.problem(), Theta: theta, ThetaName: c.paramsName(c.Theta), Batch: c.Batch,
		Sampling: c.Sampling, Minimum: c.Minimum, TopK: c.K, Probes: c.Probes, Fig1: !c.NoFig1, Seed: c.Seed}
	if c.Minimum != "auto" && c.Minimum != "none" {
		if spec.MinimumTheta, err = vector("--minimum", c.Minimum); err != nil {
			return err
		}
		spec.Minimum = "given"
	}
	bar := e.prog.Bar(-1, "noise")
	rec, err := study.Noise(e.ctx, e.studyEnv(bar), spec)
	bar.Done()
	if err != nil {
		return err
	}
	out := noiseRecord{header: newHeader("noise"), NoiseRecord: rec}
	if err := e.check(out); err != nil {
		return err
	}
	if c.Out != "" {
		out.Outputs = map[string]string{}
		if f := rec.Analysis.Fig1; f != nil {
			if err := writeFig1(c.Out, "fig1", f, out.Outputs); err != nil {
				return err
			}
		}
		p := filepath.Join(c.Out, "noise.json")
		out.Outputs["record"] = p
		if err := report.WriteJSON(p, out); err != nil {
			return err
		}
	}
	if e.g.JSON {
		return e.writeJSON(out)
	}
	printNoise(e, &out)
	return nil
}

func printNoise(e *env, r *noiseRecord) {
	a := r.Analysis
	fmt.Fprintf(e.out, "SGD noise of %s on %s at %s\n", r.Model, r.Data, r.Theta)
	fmt.Fprintf(e.out, "  N=%d P=%d K=%d, B=%d, sampling %s: Sigma = %.4g (M - g g^T)\n", a.N, a.P, a.K, a.B,
		a.Sampling, a.C)
	fmt.Fprintf(e.out, "  L = %.6g, |grad L| = %.3g\n", a.Loss, a.GradNorm)
	st := a.Strength
	fmt.Fprintf(e.out, "  Noise = (1/N) sum |grad l|^2 - |grad L|^2 = %.6g", st.Noise)
	if st.JacNorm > 0 {
		ratio := fv("%.4f", st.Ratio)
		if st.Noise == 0 {
			ratio = "not defined: Noise = 0"
		}
		fmt.Fprintf(e.out, "; (2L/K) (1/N) sum |J|_F^2 = %.6g (its ratio to Noise %s)",
			2*st.Loss/float64(a.K)*st.JacNorm, ratio)
	}
	fmt.Fprintln(e.out)
	if r.Minimum != nil {
		fmt.Fprintf(e.out, "  minimum for H*: L* = %.6g, |grad| = %.2g (%s)\n", r.Minimum.Loss, r.Minimum.GradNorm,
			r.Minimum.Method)
	}
	for _, ag := range []*noise.Agreement{a.Decoupled, a.HessianForm} {
		if ag == nil {
			continue
		}
		fmt.Fprintf(e.out, "  exact Sigma vs %s [%s]:\n", ag.Form, ag.Method)
		if ag.Undefined != "" {
			fmt.Fprintf(e.out, "    not defined: %s\n", ag.Undefined)
			continue
		}
		fmt.Fprintf(e.out, "    trace ratio %.4f%s, cosine %.4f%s, top-%d overlap %.4f\n", float64(ag.TraceRatio),
			pm(ag.TraceSE), float64(ag.Cosine), pm(ag.CosineSE), ag.K, float64(ag.Overlap))
	}
	if lc := a.Linear; lc != nil {
		fmt.Fprintf(
			e.out,
			"  Gaussian linear regression: exact Sigma vs c[(E y^2 + |theta|^2) I + theta theta^T]: largest "+
				"deviation %.2f standard errors\n",
			lc.MaxZ,
		)
		fmt.Fprintf(
			e.out,
			"    decoupling gap |Sigma - c 2L G|_F / |Sigma|_F = %.4f; c theta theta^T explains %s of it "+
				"(|theta|^2 = %.4g), the rest is within %.2f standard errors of finite-N noise\n",
			lc.GapNorm,
			fv("%.1f%%", 100*lc.GapExplained),
			lc.ThetaNorm2,
			lc.MaxZGap,
		)
	}
	if f := a.Fig1; f != nil {
		fmt.Fprintf(e.out, "  Fig. 1: (1/N) sum l grad f grad f^T vs L G [%s]\n", f.Method)
		fmt.Fprintf(e.out, "    top eigenvalues %.4g vs %.4g (ratio %.4f); Frobenius cosine %.4f; histogram "+
			"overlap %.3f\n", f.Weighted[0], f.Decoupled[0], float64(f.TopRatio), float64(f.Cosine), f.HistAgree)
	}
	for _, n := range append(append([]string(nil), r.Notes...), a.Notes...) {
		fmt.Fprintln(e.out, "  note:", n)
	}
	printOutputs(e, r.Outputs)
}

func pm(se num.Float) string {
	if se == 0 || math.IsNaN(float64(se)) {
		return ""
	}
	return fmt.Sprintf(" +- %.2g", float64(se))
}

// writeFig1 writes the histograms of the two Fig. 1 spectra as CSV and PNG.
func writeFig1(dir, name string, f *noise.Spectra, out map[string]string) error {
	var rows [][]float64
	var xs []float64
	for i := range f.HistW {
		xs = append(xs, f.Edges[i])
		rows = append(rows, []float64{f.Edges[i], f.Edges[i+1], f.HistW[i], f.HistD[i]})
	}
	p := filepath.Join(dir, name+".csv")
	if err := report.WriteCSV(p, []string{"log10_lo", "log10_hi", "fraction_weighted", "fraction_decoupled"},
		rows); err != nil {
		return err
	}
	out[name+"_csv"] = p
	fig := report.Figure{Title: "Eigenvalue histograms (paper's Fig. 1)", XLabel: "log10 eigenvalue",
		YLabel: "fraction of eigenvalues", Series: []report.Series{{Name: "(1/N) sum l grad f grad f^T", X: xs,
			Y: f.HistW, Style: report.Steps}, {Name: "L * (1/N) sum grad f grad f^T", X: xs, Y: f.HistD,
			Style: report.Steps}}}
	p = filepath.Join(dir, name+".png")
	out[name+"_png"] = p
	return fig.WritePNG(p)
}
