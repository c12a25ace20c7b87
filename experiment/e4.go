package experiment

import (
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/sde"
	"github.com/sgdlab/sgdlab/sgd"
	"github.com/sgdlab/sgdlab/stationary"
	"github.com/sgdlab/sgdlab/theory"
)

type e4Params struct {
	Data     string    `json:"data"`     // 1-D Gaussian regression
	Sampling string    `json:"sampling"` // epoch or replacement
	Etas     []float64 `json:"etas"`
	Batches  []int     `json:"batches"`
	Dynamics []string  `json:"dynamics"` // sgd, sde, sde-fine, decoupled-fine
	Substeps int       `json:"substeps"` // steps per SGD step of the fine SDEs
	Chains   int       `json:"chains"`
	Samples  int       `json:"samples"` // per chain
	Every    int64     `json:"every"`   // SGD steps between samples
	Seed     uint64    `json:"seed"`
}

const e4Title = "Stationary distribution: the exponent phi = 1 + B/(eta h*)"

var e4 = &Experiment{
	ID: "E4", Title: e4Title, Paper: true, Weight: 1.5,
	Defaults: func(full bool) any {
		p := &e4Params{Data: "gauss:N=100000,d=1,seed=1", Sampling: "epoch", Etas: []float64{0.1, 0.5, 1}, Batches: []int{4, 6, 8, 10, 12},
			Dynamics: []string{"sgd", "sde", "sde-fine", "decoupled-fine"}, Substeps: 50, Chains: 2, Samples: 5000, Every: 100, Seed: 1}
		if full {
			p.Chains, p.Samples, p.Substeps = 4, 10000, 200
		}
		return p
	},
	Run: func(env *Env, params any) (*Result, error) {
		return timed(func() (*Result, error) { return runE4(env, params.(*e4Params)) })
	},
}

func runE4(env *Env, p *e4Params) (*Result, error) {
	o, err := env.problem("linear", p.Data, "mse")
	if err != nil {
		return nil, err
	}
	samp, err := sgd.ParseSampling(p.Sampling)
	if err != nil {
		return nil, err
	}
	prep, err := ensemble.Prepare(env.Ctx, o, nil, p.Seed)
	if err != nil {
		return nil, err
	}
	h := prep.HStar
	res := &Result{ID: "E4", Title: e4Title, Paper: true, Params: p,
		Claim:  "For 1-D linear regression (x, y ~ N(0,1), N = 10^5) the parameter sampled every 100 SGD steps follows P(theta) ∝ L^-phi; the fitted phi follows 1 + B/(eta h*) as B varies, for three learning rates; the largest, eta = 1, deviates slightly (finite-eta effect).",
		Theory: fmt.Sprintf("phi = 1 + B/(eta h*) with h* = L''(theta*) = %.5f here (Ito reading; the decoupled SDE's exact stationary law). Real SGD differs by the decoupling error (exact noise 1 + 2 theta^2 against 1 + theta^2 in THEORY section 4), by the finite step eta, and by non-Gaussian noise.", h),
		Setup: fmt.Sprintf("%s, %s sampling; %d chain(s) x %d samples every %d steps per configuration; dynamics %s (fine SDEs use step eta/%d); maximum-likelihood fit of u = L/L* - 1 ~ (1+u)^-phi u^-1/2 with autocorrelation-widened 95%% intervals.",
			o.Data.Spec, p.Sampling, p.Chains, p.Samples, p.Every, strings.Join(p.Dynamics, ", "), p.Substeps)}
	type cell struct {
		phi, se, z float64
		fit        *stationary.Result
	}
	results := map[string]map[[2]float64]cell{}
	for _, d := range p.Dynamics {
		results[d] = map[[2]float64]cell{}
	}
	// Configurations run in parallel, one chain set each (results do not depend on the order).
	type job struct {
		eta float64
		b   int
		dn  string
	}
	var jobs []job
	for _, eta := range p.Etas {
		for _, b := range p.Batches {
			for _, dn := range p.Dynamics {
				jobs = append(jobs, job{eta, b, dn})
			}
		}
	}
	var mu sync.Mutex
	done := 0
	err = parallel(env, len(jobs), func(i int) error {
		j := jobs[i]
		ds, err := parseDyn(j.dn, p.Substeps)
		if err != nil {
			return err
		}
		fac, err := prep.Factory(o, sde.Config{Kind: ds.Kind, Eta: j.eta, Batch: j.b, Sampling: samp, Substeps: ds.Substeps})
		if err != nil {
			return err
		}
		burn := math.Max(10/(j.eta*h), float64(10*p.Every)) * j.eta
		fit, err := env.stationaryFit("E4", o, prep, fac, stationary.Options{Chains: p.Chains, Samples: p.Samples, Every: float64(p.Every) * j.eta,
			Burn: burn, Seed: p.Seed, LStar: prep.Min.Loss, A: 0.5, Workers: 1})
		if err != nil {
			return fmt.Errorf("E4 %s eta=%g B=%d: %w", j.dn, j.eta, j.b, err)
		}
		th := theory.Phi(j.b, j.eta, h)
		mu.Lock()
		defer mu.Unlock()
		results[j.dn][[2]float64{j.eta, float64(j.b)}] = cell{fit.Power.Param, fit.Power.SE, zscore(fit.Power.Param, th, fit.Power.SE), fit}
		done++
		env.stage("E4 %d/%d: %s eta=%g B=%d", done, len(jobs), j.dn, j.eta, j.b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Table and figures.
	tab := Table{Title: "Fitted phi (± standard error) against 1 + B/(eta h*)", Header: append([]string{"eta", "B", "theory"}, p.Dynamics...)}
	var rows [][]float64
	for _, eta := range p.Etas {
		var series []report.Series
		var xs, th []float64
		for _, b := range p.Batches {
			xs = append(xs, float64(b))
			th = append(th, theory.Phi(b, eta, h))
			row := []string{g4(eta), fmt.Sprint(b), f3(theory.Phi(b, eta, h))}
			num := []float64{eta, float64(b), theory.Phi(b, eta, h)}
			for _, dn := range p.Dynamics {
				c := results[dn][[2]float64{eta, float64(b)}]
				row = append(row, pmS(c.phi, c.se))
				num = append(num, c.phi, c.se)
			}
			tab.Rows = append(tab.Rows, row)
			rows = append(rows, num)
		}
		series = append(series, report.Series{Name: "theory 1 + B/(eta h*)", X: xs, Y: th, Style: report.Dashed})
		for _, dn := range p.Dynamics {
			var ys, es []float64
			for _, b := range p.Batches {
				c := results[dn][[2]float64{eta, float64(b)}]
				ys, es = append(ys, c.phi), append(es, c.se)
			}
			series = append(series, report.Series{Name: dn, X: xs, Y: ys, YErr: es, Style: report.Points})
		}
		header := []string{"eta", "B", "theory"}
		for _, dn := range p.Dynamics {
			header = append(header, dn, dn+"_se")
		}
		var sub [][]float64
		for _, r := range rows {
			if r[0] == eta {
				sub = append(sub, r)
			}
		}
		fig, err := env.figure(fmt.Sprintf("phi_eta%g", eta), report.Figure{Title: fmt.Sprintf("E4: fitted phi vs B at eta = %g", eta), XLabel: "batch size B", YLabel: "phi", Series: series},
			header, sub, fmt.Sprintf("Points: maximum-likelihood phi with standard errors; dashed: 1 + B/(eta h*), h* = %.4f.", h))
		if err != nil {
			return nil, err
		}
		res.Figures = append(res.Figures, fig)
	}
	res.Tables = append(res.Tables, tab)
	// Verdict: the decoupled SDE against theory, SGD's relative deviation per eta, and the
	// decomposition of SGD's deviation at the largest eta.
	maxZ := 0.0
	for _, c := range results["decoupled-fine"] {
		maxZ = math.Max(maxZ, math.Abs(c.z))
	}
	relDev := func(dn string, eta float64) float64 {
		s, n := 0.0, 0
		for _, b := range p.Batches {
			c, ok := results[dn][[2]float64{eta, float64(b)}]
			if ok {
				s += c.phi/theory.Phi(b, eta, h) - 1
				n++
			}
		}
		return s / float64(n)
	}
	var words []string
	status := Agrees
	if _, ok := results["decoupled-fine"]; ok {
		res.Numbers = append(res.Numbers, Number{Name: "decoupled SDE (fine step): largest |phi - theory| in standard errors", Value: maxZ})
		words = append(words, fmt.Sprintf("The decoupled SDE integrated finely reproduces phi = 1 + B/(eta h*) in all %d configurations (largest deviation %.1f standard errors): the formula is the exact stationary law of that SDE.", len(results["decoupled-fine"]), maxZ))
	}
	for _, eta := range p.Etas {
		for _, dn := range p.Dynamics {
			res.Numbers = append(res.Numbers, Number{Name: fmt.Sprintf("%s at eta=%g: mean relative deviation of phi from theory", dn, eta), Value: relDev(dn, eta)})
		}
	}
	if _, ok := results["sgd"]; ok {
		var parts []string
		for _, eta := range p.Etas {
			d := relDev("sgd", eta)
			parts = append(parts, fmt.Sprintf("%+.0f%% at eta = %g", 100*d, eta))
			if eta <= 0.5 && math.Abs(d) > 0.1 {
				status = Deviates
			}
		}
		words = append(words, "Real SGD's fitted phi deviates from theory by "+strings.Join(parts, ", ")+" (mean over B).")
	}
	etaMax := p.Etas[len(p.Etas)-1]
	if has(p.Dynamics, "sgd", "sde", "sde-fine", "decoupled-fine") {
		dec := relDev("sde-fine", etaMax) - relDev("decoupled-fine", etaMax)
		disc := relDev("sde", etaMax) - relDev("sde-fine", etaMax)
		rest := relDev("sgd", etaMax) - relDev("sde", etaMax)
		words = append(words, fmt.Sprintf("At eta = %g the deviation splits into the decoupling error %+.0f%% (exact-noise SDE vs decoupled SDE, both fine-stepped), the finite step %+.0f%% (exact-noise SDE at step eta vs fine), and %+.0f%% between SGD and its SDE at the same step (non-Gaussian, bounded batch noise).", etaMax, 100*dec, 100*disc, 100*rest))
		res.Numbers = append(res.Numbers,
			Number{Name: fmt.Sprintf("eta=%g: decoupling error (relative)", etaMax), Value: dec},
			Number{Name: fmt.Sprintf("eta=%g: finite-step error (relative)", etaMax), Value: disc},
			Number{Name: fmt.Sprintf("eta=%g: SGD vs its SDE (relative)", etaMax), Value: rest})
	}
	if status == Agrees {
		words = append([]string{"Agrees: phi follows 1 + B/(eta h*) within 10% for eta <= 0.5."}, words...)
	} else {
		words = append([]string{"Deviates: real SGD's phi is below 1 + B/(eta h*) by more than 10% already at eta <= 0.5; the theory holds for the decoupled SDE it is derived from."}, words...)
	}
	res.Status, res.Verdict = status, strings.Join(words, " ")
	// One stationary density for illustration: SGD and the decoupled SDE at eta = 0.5, smallest B.
	if c, ok := results["sgd"][[2]float64{p.Etas[len(p.Etas)/2], float64(p.Batches[0])}]; ok && c.fit != nil {
		fig, err := densityFigure(env, "density", c.fit, prep.Min.Loss, 0.5, fmt.Sprintf("E4: stationary density of u = L/L* - 1, SGD at eta = %g, B = %d", p.Etas[len(p.Etas)/2], p.Batches[0]),
			theory.Phi(p.Batches[0], p.Etas[len(p.Etas)/2], h))
		if err == nil {
			res.Figures = append(res.Figures, fig)
		}
	}
	return res, nil
}

func has(list []string, names ...string) bool {
	for _, n := range names {
		found := false
		for _, l := range list {
			if l == n {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}
