package experiment

import (
	"fmt"
	"math"
	"strings"

	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/noise"
	"github.com/sgdlab/sgdlab/seed"
	"github.com/sgdlab/sgdlab/sgd"
)

// noiseTrack trains with SGD recording Noise and L every epoch, and fits log Noise against
// log L (least squares over epochs >= skip, slope error from the residual scatter).
type noiseTrack struct {
	points []noise.TrackPoint
	slope  float64
	se     float64
	// slopeJ is the slope of log Noise against log(2 L JacNorm) (MSE only): 1 when the
	// decoupling holds, whatever the Jacobian factor does.
	slopeJ, seJ float64
	ratio       float64 // Noise / (2 L JacNorm) at the end (MSE only)
	ratioMin    float64 // its range over the fitted epochs
	ratioMax    float64
	jacGrowth   float64 // JacNorm(last) / JacNorm(first fitted epoch)
	final       float64 // final loss
	k           int     // outputs
}

func runNoiseTrack(env *Env, id, modelSpec, dataSpec, loss string, eta float64, batch, epochs, skip int, s uint64) (*noiseTrack, *Figure, error) {
	o, err := env.problem(modelSpec, dataSpec, loss)
	if err != nil {
		return nil, nil, err
	}
	theta := make([]float64, o.P())
	o.Model.Init(theta, seed.Stream(s, seed.Init))
	withJac := loss == "mse"
	tr := noise.NewTrack(o, sgd.Epoch, batch, withJac)
	spe := int64(sgd.StepsPerEpoch(o.N(), batch))
	progress := sgd.Observation{Every: spe, Fn: func(k int64, _ []float64, _ float64) error {
		env.stage("%s: epoch %d/%d", id, k/spe, epochs)
		return nil
	}}
	if _, err := sgd.Train(env.Ctx, o, theta, sgd.Config{Eta: eta, Batch: batch}, int64(epochs)*spe, spe, seed.Stream(s, seed.Batches),
		sgd.Observation{Every: spe, AtStart: true, Fn: tr.Observe}, progress); err != nil {
		return nil, nil, err
	}
	nt := &noiseTrack{points: tr.Points, ratioMin: math.Inf(1), ratioMax: math.Inf(-1), k: o.K()}
	var x, y, xj []float64
	var firstJ float64
	for _, pt := range tr.Points {
		if pt.Epoch >= float64(skip) && pt.Loss > 0 && pt.Noise > 0 {
			x, y = append(x, math.Log(pt.Loss)), append(y, math.Log(pt.Noise))
			if withJac {
				xj = append(xj, math.Log(2*pt.Loss*pt.JacNorm))
				nt.ratioMin, nt.ratioMax = math.Min(nt.ratioMin, pt.Ratio), math.Max(nt.ratioMax, pt.Ratio)
				if firstJ == 0 {
					firstJ = pt.JacNorm
				}
			}
		}
	}
	if len(x) >= 3 {
		f := lineOLS(x, y)
		nt.slope, nt.se = f[0], f[1]
		if withJac {
			f = lineOLS(xj, y)
			nt.slopeJ, nt.seJ = f[0], f[1]
		}
	}
	last := tr.Points[len(tr.Points)-1]
	nt.final = last.Loss
	if withJac {
		nt.ratio = last.Ratio
		nt.jacGrowth = last.JacNorm / firstJ
	}
	var ls, ns, dec []float64
	var rows [][]float64
	for _, pt := range tr.Points {
		ls, ns = append(ls, pt.Loss), append(ns, pt.Noise)
		dec = append(dec, 2*pt.Loss*pt.JacNorm)
		rows = append(rows, []float64{pt.Epoch, pt.Loss, pt.Noise, pt.JacNorm})
	}
	// Reference line Noise = k L through the last point.
	k := last.Noise / last.Loss
	var ref []float64
	for _, l := range ls {
		ref = append(ref, k*l)
	}
	fig, err := env.figure("noise_vs_loss", report.Figure{Title: fmt.Sprintf("%s: Noise vs L along training (%s)", id, loss), XLabel: "L", YLabel: "Noise = (1/N) sum |grad l|^2 - |grad L|^2", LogX: true, LogY: true,
		Series: append([]report.Series{{Name: "Noise, every epoch", X: ls, Y: ns, Style: report.Points}, {Name: "Noise ∝ L", X: ls, Y: ref, Style: report.Dashed}}, decSeries(withJac, ls, dec)...)},
		[]string{"epoch", "loss", "noise", "jac_norm"}, rows, fmt.Sprintf("log-log slope over epochs >= %d: %.3f ± %.3f (proportionality: 1).", skip, nt.slope, nt.se))
	if err != nil {
		return nil, nil, err
	}
	return nt, &fig, nil
}

// decSeries is the decoupled prediction 2 L (1/N) sum |grad f|^2 (MSE only).
func decSeries(on bool, ls, dec []float64) []report.Series {
	if !on {
		return nil
	}
	return []report.Series{{Name: "2 L (1/N) sum |grad f|^2 (decoupling)", X: ls, Y: dec, Style: report.Line}}
}

// lineOLS returns the slope and its standard error of an ordinary least-squares line.
func lineOLS(x, y []float64) [2]float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i] / n
		my += y[i] / n
	}
	var sxx, sxy, syy float64
	for i := range x {
		sxx += (x[i] - mx) * (x[i] - mx)
		sxy += (x[i] - mx) * (y[i] - my)
		syy += (y[i] - my) * (y[i] - my)
	}
	b := sxy / sxx
	resid := (syy - b*sxy) / (n - 2)
	return [2]float64{b, math.Sqrt(math.Max(resid, 0) / sxx)}
}

// noiseVerdict words the result of a Noise-vs-L fit.
func noiseVerdict(res *Result, nt *noiseTrack, skip int) {
	res.Numbers = append(res.Numbers, Number{Name: fmt.Sprintf("log-log slope of Noise vs L (epochs >= %d)", skip), Value: nt.slope, Err: nt.se, Theory: 1},
		Number{Name: "final training loss", Value: nt.final})
	var dec string
	if nt.ratio != 0 {
		res.Numbers = append(res.Numbers,
			Number{Name: "Noise / (2 L (1/N) sum |grad f|^2) at the end", Value: nt.ratio, Theory: 1, Note: fmt.Sprintf("range over the fitted epochs %.3f .. %.3f", nt.ratioMin, nt.ratioMax)},
			Number{Name: "log-log slope of Noise vs 2 L (1/N) sum |grad f|^2", Value: nt.slopeJ, Err: nt.seJ, Theory: 1},
			Number{Name: "growth of (1/N) sum |grad f|^2 over the fitted epochs", Value: nt.jacGrowth})
		dec = fmt.Sprintf(" Noise against the decoupled form 2 L (1/N) sum |grad f|^2: ratio %.3f .. %.3f over the fitted epochs, log-log slope %.3f ± %.3f; (1/N) sum |grad f|^2 itself changed by a factor %.2f.", nt.ratioMin, nt.ratioMax, nt.slopeJ, nt.seJ, nt.jacGrowth)
		if nt.k > 1 {
			dec += fmt.Sprintf(" With K = %d outputs the ratio is close to 1/K, not 1: if the residuals spread evenly over the outputs, E[r_k r_k'] = (2L/K) delta_kk', so the decoupled trace is (2L/K) (1/N) sum |grad f|^2 (ratio times K: %.2f .. %.2f). THEORY's (2L/B) G with G = J^T J/N over-counts multi-output noise by a factor K.", nt.k, nt.ratioMin*float64(nt.k), nt.ratioMax*float64(nt.k))
		}
	}
	z := (nt.slope - 1) / nt.se
	switch {
	case math.Abs(nt.slope-1) <= 0.15:
		res.Status = Agrees
		res.Verdict = fmt.Sprintf("Agrees: Noise and L fall together; the log-log slope is %.3f ± %.3f (proportionality means 1; deviation %.1f standard errors, within 15%% of 1).", nt.slope, nt.se, z) + dec
	default:
		res.Status = Deviates
		res.Verdict = fmt.Sprintf("Deviates: the log-log slope of Noise against L is %.3f ± %.3f, not 1.", nt.slope, nt.se) + dec
	}
	var ep []string
	for _, pt := range nt.points {
		ep = append(ep, fmt.Sprintf("%.0f:%.3g/%.3g", pt.Epoch, pt.Loss, pt.Noise))
	}
	res.Notes = append(res.Notes, "epoch:L/Noise "+strings.Join(ep, " "))
}
