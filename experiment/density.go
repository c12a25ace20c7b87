package experiment

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mathext"

	"github.com/sgdlab/sgdlab/report"
	"github.com/sgdlab/sgdlab/stationary"
)

// densityFigure plots the log-binned density of u = L/L* - 1 with the fitted power law,
// the theory's power law and the fitted Gibbs law.
func densityFigure(env *Env, name string, r *stationary.Result, lstar, a float64, title string, phiTheory float64) (Figure, error) {
	lo, hi := math.Inf(1), 0.0
	for _, u := range r.Pooled {
		if u > 0 {
			lo, hi = math.Min(lo, u), math.Max(hi, u)
		}
	}
	const nb = 40
	llo, lhi := math.Log(lo), math.Log(hi)
	counts := make([]float64, nb)
	for _, u := range r.Pooled {
		if u > 0 {
			b := int(float64(nb) * (math.Log(u) - llo) / (lhi - llo + 1e-12))
			counts[min(b, nb-1)]++
		}
	}
	phi, T := r.Power.Param, r.Gibbs.Param
	rate := lstar / T
	lgA, _ := math.Lgamma(a)
	n := float64(len(r.Pooled))
	var xs, ys, es, pw, pt, gb []float64
	var rows [][]float64
	bp := func(u, ph float64) float64 {
		return math.Exp((a-1)*math.Log(u) - ph*math.Log1p(u) - mathext.Lbeta(a, ph-a))
	}
	for b := 0; b < nb; b++ {
		u0, u1 := math.Exp(llo+float64(b)*(lhi-llo)/nb), math.Exp(llo+float64(b+1)*(lhi-llo)/nb)
		uc := math.Sqrt(u0 * u1)
		d := counts[b] / (n * (u1 - u0))
		e := math.Sqrt(counts[b]*r.Tau) / (n * (u1 - u0))
		g := math.Exp(a*math.Log(rate) + (a-1)*math.Log(uc) - rate*uc - lgA)
		xs, ys, es = append(xs, uc), append(ys, d), append(es, e)
		pw, pt, gb = append(pw, bp(uc, phi)), append(pt, bp(uc, phiTheory)), append(gb, g)
		rows = append(rows, []float64{uc, d, e, bp(uc, phi), bp(uc, phiTheory), g})
	}
	f := report.Figure{Title: title, XLabel: "u = L/L* - 1", YLabel: "density", LogX: true, LogY: true, Series: []report.Series{
		{Name: "measured", X: xs, Y: ys, YErr: es, Style: report.Points},
		{Name: fmt.Sprintf("fitted power law, phi = %.2f", phi), X: xs, Y: pw, Style: report.Line},
		{Name: fmt.Sprintf("theory, phi = %.2f", phiTheory), X: xs, Y: pt, Style: report.Dashed},
		{Name: fmt.Sprintf("fitted Gibbs exp(-L/T), T = %.3g", T), X: xs, Y: gb, Style: report.Dashed},
	}}
	return env.figure(name, f, []string{"u", "density", "se", "power_law_fit", "power_law_theory", "gibbs_fit"}, rows,
		"Log-binned density of the sampled relative excess loss with the fitted power law, the theory's power law and the best Gibbs law.")
}
