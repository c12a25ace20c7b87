package main

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"

	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/landscape"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/sde"
	"github.com/sgdlab/sgdlab/sgd"
	"github.com/sgdlab/sgdlab/stationary"
)

// dynFlags choose the dynamics of the stationary and escape commands.
type dynFlags struct {
	Dynamics      string  `help:"sgd (real SGD), sde (exact noise covariance), decoupled (sqrt(2 eta L H*/B)), logland (log-landscape in tau time), langevin (constant noise)." default:"sgd" enum:"sgd,sde,decoupled,logland,langevin"`
	Scheme        string  `help:"SDE integration: ito (Euler-Maruyama) or stratonovich (stochastic Heun)." default:"ito" enum:"ito,stratonovich"`
	Substeps      int     `help:"SDE steps per SGD step (the SDE step is eta/substeps)." default:"1"`
	Eps           float64 `help:"Log-landscape regularisation: integrate log(L + eps); required when L* = 0." default:"0"`
	Temperature   float64 `help:"Langevin temperature T (0: matched to SGD at the minimum, T = eta L* h*/B)." default:"0"`
	LangevinNoise string  `name:"langevin-noise" help:"isotropic (sqrt(2T) dW) or hessian (sqrt(2 eta L* H*/B) dW, the Arrhenius model)." default:"isotropic" enum:"isotropic,hessian"`
	Start         string  `help:"Minimum to start from (.npy or comma-separated); default: found by descending from the model's initialisation." placeholder:"FILE.npy|a,b,..."`
	Workers       int     `help:"Parallel workers (results do not depend on it; 0: one per core)." default:"0"`
}

// prepare finds (or checks) the minimum and builds the dynamics of the flags.
func (d dynFlags) prepare(e *env, o *model.Objective, s sgdFlags) (*ensemble.Prepared, *sde.Factory, error) {
	var start []float64
	if d.Start != "" {
		th, err := thetaArg(d.Start, o)
		if err != nil {
			return nil, nil, err
		}
		start = th
	}
	p, err := ensemble.Prepare(e.ctx, o, start, s.Seed)
	if err != nil {
		if errors.Is(err, ensemble.ErrNotMinimum) || start == nil {
			return nil, nil, badInput(err)
		}
		return nil, nil, err
	}
	kind, _ := sde.ParseKind(d.Dynamics)
	scheme, _ := sde.ParseScheme(d.Scheme)
	cfg, err := s.config()
	if err != nil {
		return nil, nil, badInput(err)
	}
	fac, err := p.Factory(o, sde.Config{Kind: kind, Eta: cfg.Eta, Batch: cfg.Batch, Sampling: cfg.Sampling, Momentum: cfg.Momentum,
		Scheme: scheme, Substeps: d.Substeps, Temperature: d.Temperature, LangevinHessian: d.LangevinNoise == "hessian", Eps: d.Eps})
	if err != nil {
		return nil, nil, badInput(err)
	}
	return p, fac, nil
}

func (d dynFlags) workers() int {
	if d.Workers > 0 {
		return d.Workers
	}
	return numCPU()
}

type stationaryCmd struct {
	problemFlags
	sgdFlags
	dynFlags
	storeFlags
	Chains  int    `help:"Independent chains." default:"4"`
	Samples int    `help:"Samples per chain after burn-in." default:"10000"`
	Every   int64  `help:"SGD steps (of length eta in t) between samples." default:"100"`
	Burn    int64  `help:"Burn-in in SGD steps (0: ten relaxation times 10/(eta * smallest eigenvalue of H*))." default:"0"`
	Valley  int    `help:"Check that samples stay in the valley of the minimum by descending from them (every sample: 1, never: 0)." default:"1"`
	Out     string `help:"Directory for stationary.json, stationary.csv and stationary.png." placeholder:"DIR"`
}

type stationaryRecord struct {
	Command     string             `json:"command"`
	Version     string             `json:"version"`
	Model       string             `json:"model"`
	Data        string             `json:"data"`
	Dynamics    string             `json:"dynamics"`
	Describe    string             `json:"dynamics_description"`
	Eta         float64            `json:"eta"`
	Batch       int                `json:"batch"`
	Sampling    string             `json:"sampling"`
	Seed        uint64             `json:"seed"`
	LStar       float64            `json:"L_star"`
	HStar       float64            `json:"h_star"`
	N           int                `json:"n_directions"`
	Eigs        []float64          `json:"hessian_eigenvalues"`
	PhiFit      float64            `json:"phi"`
	PhiSE       float64            `json:"phi_se"`
	PhiLo       float64            `json:"phi_ci95_lo"`
	PhiHi       float64            `json:"phi_ci95_hi"`
	PhiTheory   float64            `json:"phi_predicted"`
	PhiStrat    float64            `json:"phi_predicted_stratonovich"`
	Deviation   float64            `json:"deviation_sigma"`
	Result      *stationary.Result `json:"fit"`
	Conventions map[string]string  `json:"conventions"`
	Notes       []string           `json:"notes,omitempty"`
	Outputs     map[string]string  `json:"outputs,omitempty"`
	Elapsed     float64            `json:"elapsed_s"`
}

func (c *stationaryCmd) Run(e *env) error {
	o, err := c.build(e)
	if err != nil {
		return err
	}
	if c.Every < 1 || c.Chains < 1 || c.Samples < 10 {
		return badInput(errors.New("need --every >= 1, --chains >= 1 and --samples >= 10"))
	}
	p, fac, err := c.prepare(e, o, c.sgdFlags)
	if err != nil {
		return err
	}
	m := p.Min
	eta := c.Eta
	burn := c.Burn
	if burn <= 0 {
		burn = int64(math.Ceil(10 / (eta * m.MinEig())))
		burn = max(burn, 10*c.Every)
	}
	rec := stationaryRecord{Command: "stationary", Version: version, Model: o.Model.Spec(), Data: o.Data.Spec, Dynamics: c.Dynamics,
		Describe: fac.Describe(), Eta: eta, Batch: c.Batch, Sampling: c.Sampling, Seed: c.Seed,
		LStar: m.Loss, HStar: p.HStar, N: p.N, Eigs: m.Eigs[:min(len(m.Eigs), 20)]}
	rec.PhiTheory = 1 + float64(c.Batch)/(eta*p.HStar)
	rec.PhiStrat = rec.PhiTheory - 0.5
	rec.Conventions = map[string]string{
		"prediction": "phi = 1 + B/(eta h*) (Ito); P(theta) ∝ L^-phi inside the valley",
		"fit":        fmt.Sprintf("maximum likelihood for u = L/L* - 1 ~ u^(n/2-1) (1+u)^(-phi) with n = %d; interval 95%%, widened by the autocorrelation time", p.N),
		"gibbs":      "alternative P ∝ exp(-L/T): u ~ Gamma(n/2, L*/T)",
		"time":       "t = eta * steps; samples every --every steps after --burn steps",
		"loss":       "L = (1/N) sum 1/2 (f - y)^2",
	}
	if p.Note != "" {
		rec.Notes = append(rec.Notes, p.Note)
	}
	opt := stationary.Options{Chains: c.Chains, Samples: c.Samples, Every: float64(c.Every) * eta, Burn: float64(burn) * eta,
		Seed: c.Seed, Workers: c.workers(), LStar: m.Loss, A: float64(p.N) / 2}
	if c.Valley > 0 {
		opt.InValley = landscape.Basin(o, fac.NewLandscape, m.Theta, m.Eigs[0])
	}
	env, closeStore, err := c.open(c.workers())
	if err != nil {
		return err
	}
	defer closeStore()
	if env.Shard.N > 1 {
		rec.Notes = append(rec.Notes, fmt.Sprintf("shard %s: the fit uses this shard's chains only", env.Shard))
	}
	bar := e.prog.Bar(int64(len(env.Shard.Indices(c.Chains))), "chains")
	opt.Progress = func(d int) { bar.Set(int64(d)) }
	t0 := now()
	key := struct {
		runKey
		Samples int     `json:"samples"`
		Every   int64   `json:"every"`
		Burn    int64   `json:"burn"`
		Valley  int     `json:"valley"`
		A       float64 `json:"a"`
	}{runKey{Model: o.Model.Spec(), Data: o.Data.Spec, Loss: o.Loss.Name(), Dynamics: fac.Key(), Momentum: c.Momentum, Start: m.Theta}, c.Samples, c.Every, burn, c.Valley, opt.A}
	chains, err := ensemble.Stationary(e.ctx, env, "stationary "+o.Model.Spec()+" "+o.Data.Spec+" "+c.Dynamics, key, fac, m.Theta, opt)
	bar.Done()
	rec.Elapsed = since(t0)
	var res *stationary.Result
	if err == nil {
		res, err = stationary.Fit(chains, opt.A, opt.LStar)
	}
	if res != nil {
		rec.Result = res
		rec.PhiFit, rec.PhiSE, rec.PhiLo, rec.PhiHi = res.Power.Param, res.Power.SE, res.Power.Lo, res.Power.Hi
		if res.Power.SE > 0 {
			rec.Deviation = (res.Power.Param - rec.PhiTheory) / res.Power.SE
		}
		if res.Left > 0 {
			rec.Notes = append(rec.Notes, fmt.Sprintf("%d chain(s) left the valley; their samples up to that point are kept", res.Left))
		}
		if n := deviationNote(c.Dynamics, c.Eta, rec.HStar, c.Substeps, rec.Deviation); n != "" {
			rec.Notes = append(rec.Notes, n)
		}
	}
	if err != nil {
		var de *sgd.DivergenceError
		if errors.As(err, &de) {
			return err
		}
		return badInput(err)
	}
	if c.Out != "" {
		rec.Outputs = map[string]string{}
		if err := writeStationary(c.Out, &rec, res, p.N); err != nil {
			return err
		}
	}
	if e.g.JSON {
		return e.writeJSON(rec)
	}
	fmt.Fprintf(e.out, "stationary distribution of %s on %s\n  %s\n", rec.Model, rec.Data, rec.Describe)
	fmt.Fprintf(e.out, "  minimum: L* = %.6g, h* = %.6g, n = %d directions; %d chains x %d samples every %d steps after %d burn-in steps (%.1fs)\n",
		rec.LStar, rec.HStar, rec.N, c.Chains, c.Samples, c.Every, burn, rec.Elapsed)
	fmt.Fprintf(e.out, "  fitted phi = %.4f +- %.4f (95%%: %.4f .. %.4f), autocorrelation time %.2f samples, ESS %.0f\n", rec.PhiFit, rec.PhiSE, rec.PhiLo, rec.PhiHi, res.Tau, res.ESS)
	fmt.Fprintf(e.out, "  predicted phi = 1 + B/(eta h*) = %.4f (Stratonovich reading %.4f): deviation %.1f standard errors\n", rec.PhiTheory, rec.PhiStrat, rec.Deviation)
	fmt.Fprintf(e.out, "  goodness of fit: KS distance %.4f (p = %.3g); Gibbs alternative T = %.4g: KS p = %.3g\n", res.Power.KS, res.Power.KSp, res.Gibbs.Param, res.Gibbs.KSp)
	fmt.Fprintf(e.out, "  %s\n", res.Summary)
	for _, n := range rec.Notes {
		fmt.Fprintln(e.out, "  note:", n)
	}
	printOutputs(e, rec.Outputs)
	return nil
}

// writeStationary writes the log-binned density of u = L/L* - 1 with the fitted power law
// and Gibbs densities.
func writeStationary(dir string, rec *stationaryRecord, res *stationary.Result, n int) error {
	var xs, ys, es, pw, pt, gb []float64
	var rows [][]float64
	for _, b := range res.Histogram(40, rec.LStar, float64(n)/2, rec.PhiTheory) {
		xs, ys, es = append(xs, b.U), append(ys, b.Density), append(es, b.SE)
		pw, pt, gb = append(pw, b.PowerLaw), append(pt, b.PowerTheory), append(gb, b.Gibbs)
		rows = append(rows, []float64{b.U, b.Density, b.SE, b.PowerLaw, b.PowerTheory, b.Gibbs})
	}
	path := filepath.Join(dir, "stationary.csv")
	if err := report.WriteCSV(path, []string{"u", "density", "se", "power_law_fit", "power_law_theory", "gibbs_fit"}, rows); err != nil {
		return err
	}
	rec.Outputs["histogram_csv"] = path
	fig := report.Figure{Title: fmt.Sprintf("Stationary density of u = L/L* - 1 (%s, eta=%g, B=%d)", rec.Dynamics, rec.Eta, rec.Batch),
		XLabel: "u = L/L* - 1", YLabel: "density", LogX: true, LogY: true, Series: []report.Series{
			{Name: "measured", X: xs, Y: ys, YErr: es, Style: report.Points},
			{Name: fmt.Sprintf("fitted power law, phi = %.3f", res.Power.Param), X: xs, Y: pw, Style: report.Line},
			{Name: fmt.Sprintf("theory, phi = %.3f", rec.PhiTheory), X: xs, Y: pt, Style: report.Dashed},
			{Name: fmt.Sprintf("Gibbs exp(-L/T), T = %.3g", res.Gibbs.Param), X: xs, Y: gb, Style: report.Dashed},
		}}
	path = filepath.Join(dir, "stationary.png")
	if err := fig.WritePNG(path); err != nil {
		return err
	}
	rec.Outputs["histogram_png"] = path
	path = filepath.Join(dir, "stationary.json")
	rec.Outputs["record"] = path
	return report.WriteJSON(path, rec)
}

// deviationNote says where to look when the fitted phi is more than 3 standard errors from
// 1 + B/(eta h*): the theory describes the continuous SDE, so a coarse SDE step or real SGD
// (which is not its SDE) are the usual reasons.
func deviationNote(dynamics string, eta, hstar float64, substeps int, dev float64) string {
	if math.Abs(dev) <= 3 {
		return ""
	}
	if dynamics == "sgd" {
		return "real SGD is not the SDE the theory is derived for: compare --dynamics sde and --dynamics decoupled with --substeps 20 to separate the finite step from the decoupling (sgdlab reproduce E4 does this)"
	}
	if dt := eta * hstar / float64(max(substeps, 1)); dt > 0.05 {
		return fmt.Sprintf("the SDE step is large (dt h* = %.3g): the Euler-Maruyama discretisation error grows with dt h*; rerun with --substeps %d or more for the continuous SDE the theory describes", dt, int(math.Ceil(dt/0.05))*max(substeps, 1))
	}
	return ""
}
