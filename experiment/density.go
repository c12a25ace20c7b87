package experiment

import (
	"fmt"

	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/stationary"
)

// densityFigure plots the log-binned density of u = L/L* - 1 with the fitted power law,
// the theory's power law and the fitted Gibbs law.
func densityFigure(env *Env, name string, r *stationary.Result, lstar, a float64, title string,
	phiTheory float64) (Figure, error) {
	var xs, ys, es, pw, pt, gb []float64
	var rows [][]float64
	for _, b := range r.Histogram(40, lstar, a, phiTheory) {
		xs, ys, es = append(xs, b.U), append(ys, b.Density), append(es, b.SE)
		pw, pt, gb = append(pw, b.PowerLaw), append(pt, b.PowerTheory), append(gb, b.Gibbs)
		rows = append(rows, []float64{b.U, b.Density, b.SE, b.PowerLaw, b.PowerTheory, b.Gibbs})
	}
	f := report.Figure{Title: title, XLabel: "u = L/L* - 1", YLabel: "density", LogX: true, LogY: true,
		Series: []report.Series{{Name: "measured", X: xs, Y: ys, YErr: es, Style: report.Points},
			{Name: fmt.Sprintf("fitted power law, phi = %.2f", r.Power.Param), X: xs, Y: pw, Style: report.Line},
			{Name: fmt.Sprintf("theory, phi = %.2f", phiTheory), X: xs, Y: pt, Style: report.Dashed},
			{Name: fmt.Sprintf("fitted Gibbs exp(-L/T), T = "+
				"%.3g", r.Gibbs.Param), X: xs, Y: gb, Style: report.Dashed}}}
	return env.figure(
		name,
		f,
		[]string{"u", "density", "se", "power_law_fit", "power_law_theory", "gibbs_fit"},
		rows,
		"Log-binned density of the sampled relative excess loss with the fitted power law, the theory's power law "+
			"and the best Gibbs law.",
	)
}
