package experiment

import (
	"fmt"
	"strings"

	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/landscape"
	"github.com/sgdlab/sgdlab/theory"
)

type x2Params struct {
	Model  string    `json:"model"`
	N      int       `json:"N"`
	W      float64   `json:"teacher_w"`
	Sigmas []float64 `json:"sigmas"` // label noise levels (set L*)
	Eta    float64   `json:"eta"`
	Batch  int       `json:"batch"`
	wellEscape
}

const x2Title = "Escape of a small neural network over a saddle found by NEB"

var x2 = &Experiment{
	ID: "X2", Title: x2Title, Weight: 1,
	Defaults: func(full bool) any {
		p := &x2Params{Model: "mlp:1-1-1:tanh:nobias", N: 200, W: 2, Sigmas: []float64{0.7, 0.8}, Eta: 0.5, Batch: 1,
			wellEscape: wellEscape{Runs: 100, Dynamics: []string{"decoupled-fine", "sgd"}, Substeps: 5, WellR: 0.5, BudgetFactor: 20, SGDFactor: 1, MaxSteps: 200_000, Seed: 1}}
		if full {
			p.N, p.Runs, p.Sigmas, p.MaxSteps = 2000, 400, []float64{0.6, 0.7, 0.8, 0.9}, 50_000_000
		}
		return p
	},
	Run: func(env *Env, params any) (*Result, error) {
		return timed(func() (*Result, error) { return runX2(env, params.(*x2Params)) })
	},
}

func runX2(env *Env, p *x2Params) (*Result, error) {
	res := &Result{ID: "X2", Title: x2Title, Params: p,
		Claim:  "Beyond the paper: a network f = w2 tanh(w1 x) fitting y = tanh(w x) + noise has two minima (w1, w2) and (-w1, -w2) joined through an index-1 saddle at the origin; the escape rate is compared with both theories using Hessians measured at the minimum and at the saddle.",
		Theory: "Power law with h* the mean Hessian eigenvalue at the minimum, n = 2 and det H*/|det H^s| from the measured spectra; Arrhenius exp(-2 B Delta L/(eta h*)) and the frozen-noise form with the same prefactor.",
		Setup: fmt.Sprintf("%s on tanh:N=%d,w=%g,sigma in %v; eta = %g, B = %d; %d runs; exit: entry into the ball of radius %g |theta_B - theta_s| around the other minimum; dynamics %s (fine SDE step eta/%d).",
			p.Model, p.N, p.W, p.Sigmas, p.Eta, p.Batch, p.Runs, p.WellR, strings.Join(p.Dynamics, ", "), p.Substeps),
	}
	tab := Table{Title: "Measured rate against the predictions", Header: []string{"sigma", "L*", "L^s", "eigenvalues at min", "saddle eigenvalues", "SGD noise at saddle / at min (theory: L^s/L*)", "power law", "Arrhenius", "frozen"}}
	for _, dn := range p.Dynamics {
		tab.Header = append(tab.Header, dn+" (95%)", dn+"/power", dn+"/Arrhenius")
	}
	var words []string
	for _, sigma := range p.Sigmas {
		o, err := env.problem(p.Model, fmt.Sprintf("tanh:N=%d,w=%g,sigma=%g,seed=%d", p.N, p.W, sigma, p.Seed), "mse")
		if err != nil {
			return nil, err
		}
		start := make([]float64, o.P())
		for i := range start {
			start[i] = 1
		}
		w := o.NewWorker(1, 0)
		pa, err := landscape.Minimize(env.Ctx, w, start, landscape.MinimizeOptions{})
		if err != nil {
			return nil, err
		}
		prep, err := ensemble.Prepare(env.Ctx, o, pa.Theta, p.Seed)
		if err != nil {
			return nil, err
		}
		br, err := landscape.FindBarrier(env.Ctx, w, prep.Min.Theta, negate(prep.Min.Theta))
		if err != nil {
			return nil, err
		}
		tb := br.Theory()
		prep.HStar = tb.HStar
		pw, ar, fr := theory.PowerLaw(tb, p.Batch, p.Eta), theory.Arrhenius(tb, p.Batch, p.Eta), theory.Frozen(tb, p.Batch, p.Eta)
		nr := noiseRatio(o, br)
		row := []string{g4(sigma), g4(tb.LMin), g4(tb.LSaddle), fmtFloats(prep.Min.Eigs), fmtFloats(br.Saddle.Eigs), fmt.Sprintf("%.3g (%.3g)", nr, tb.LSaddle/tb.LMin), g4(pw), g4(ar), g4(fr)}
		rates, err := p.rates(env, "X2", fmt.Sprintf("sigma=%g", sigma), o, prep, br, p.Eta, p.Batch, 1/pw)
		if err != nil {
			return nil, err
		}
		for _, dn := range p.Dynamics {
			lr := rates[dn]
			row = append(row, fmt.Sprintf("%s (%s..%s)", g4(lr.Kappa), g4(lr.Lo), g4(lr.Hi)), f3(lr.Kappa/pw), f3(lr.Kappa/ar))
			res.Numbers = append(res.Numbers,
				Number{Name: fmt.Sprintf("sigma=%g %s: escape rate", sigma, dn), Value: lr.Kappa, Err: (lr.Hi - lr.Lo) / 3.92, Theory: pw, Note: fmt.Sprintf("Arrhenius predicts %.4g; %d escaped, %d censored", ar, lr.Escaped, lr.Censored)})
			words = append(words, fmt.Sprintf("sigma = %g, %s: measured/power law = %.2f, measured/Arrhenius = %.2f.", sigma, dn, lr.Kappa/pw, lr.Kappa/ar))
		}
		tab.Rows = append(tab.Rows, row)
		res.Notes = append(res.Notes, fmt.Sprintf("sigma = %g: minimum eigenvalues %s (anisotropy %.0f), so 'the typical h*' of THEORY is ambiguous; the mean %.4g is used.", sigma, fmtFloats(prep.Min.Eigs), prep.Min.Eigs[0]/prep.Min.Eigs[len(prep.Min.Eigs)-1], tb.HStar))
	}
	res.Tables = append(res.Tables, tab)
	res.Status = Partial
	res.Notes = append(res.Notes, "At the saddle (the origin) every per-sample gradient of f = w2 tanh(w1 x) vanishes, so real SGD has no noise there at all, whereas the decoupled model keeps noise 2 eta L^s H*/B; SGD's escapes are correspondingly rare (the table's noise column). The budget per SGD run is capped, so its rate is often only an upper bound (the 95% interval).")
	res.Verdict = "Measured against both theories with Hessians taken at the measured minimum and saddle: " + strings.Join(words, " ") + " A factor within 2 counts as agreement. The Hessian at the minimum is strongly anisotropic, while the formula assumes isotropic noise of one typical size h* in the outlier directions; the decoupled SDE (the formula's own dynamics) shows how much of any disagreement comes from that assumption rather than from SGD."
	ok := true
	for _, n := range res.Numbers {
		if strings.Contains(n.Name, "sgd") && (n.Value/n.Theory > 2 || n.Value/n.Theory < 0.5) {
			ok = false
		}
	}
	if ok {
		res.Status = Agrees
	} else {
		res.Status = Deviates
	}
	return res, nil
}

func fmtFloats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = g4(x)
	}
	return "[" + strings.Join(s, ", ") + "]"
}
