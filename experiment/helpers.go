package experiment

import (
	"fmt"
	"math"
	"strconv"

	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/escape"
	"github.com/sgdlab/sgdlab/internal/workpool"
	"github.com/sgdlab/sgdlab/landscape"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/noise"
	"github.com/sgdlab/sgdlab/sde"
	"github.com/sgdlab/sgdlab/sgd"
	"github.com/sgdlab/sgdlab/stationary"
	"github.com/sgdlab/sgdlab/stats"
)

// problem loads data and builds the objective.
func (e *Env) problem(modelSpec, dataSpec, loss string) (*model.Objective, error) {
	d, err := data.Load(dataSpec, e.Data)
	if err != nil {
		return nil, err
	}
	return model.Build(modelSpec, loss, d)
}

// dynSpec is a dynamics of an experiment: a name for reports and its configuration.
type dynSpec struct {
	Name     string
	Kind     sde.Kind
	Substeps int
}

// parseDyn maps the names used in experiment parameters to dynamics:
// sgd, sde (exact noise, step eta), sde-fine and decoupled-fine (step eta/substeps),
// decoupled (step eta), langevin-fine.
func parseDyn(name string, substeps int) (dynSpec, error) {
	switch name {
	case "sgd":
		return dynSpec{name, sde.SGD, 1}, nil
	case "sde":
		return dynSpec{name, sde.ExactSDE, 1}, nil
	case "sde-fine":
		return dynSpec{name, sde.ExactSDE, substeps}, nil
	case "decoupled":
		return dynSpec{name, sde.Decoupled, 1}, nil
	case "decoupled-fine":
		return dynSpec{name, sde.Decoupled, substeps}, nil
	case "langevin-fine":
		return dynSpec{name, sde.Langevin, substeps}, nil
	}
	return dynSpec{}, fmt.Errorf("unknown dynamics %q (sgd, sde, sde-fine, decoupled, decoupled-fine, langevin-fine)", name)
}

// ensembleKey identifies an ensemble in the store.
type ensembleKey struct {
	Experiment string    `json:"experiment"`
	Model      string    `json:"model"`
	Data       string    `json:"data"`
	Dynamics   any       `json:"dynamics"`
	Extra      string    `json:"extra"`
	Start      []float64 `json:"start"`
}

// stationaryFit runs (or resumes) the chains of one configuration and fits them.
func (e *Env) stationaryFit(id string, o *model.Objective, p *ensemble.Prepared, fac *sde.Factory, opt stationary.Options) (*stationary.Result, error) {
	key := ensembleKey{Experiment: id, Model: o.Model.Spec(), Data: o.Data.Spec, Dynamics: fac.Key(),
		Extra: fmt.Sprintf("samples=%d every=%g burn=%g a=%g", opt.Samples, opt.Every, opt.Burn, opt.A), Start: p.Min.Theta}
	chains, err := ensemble.Stationary(e.Ctx, e.Ens, id+" "+fac.Describe(), key, fac, p.Min.Theta, opt)
	if err != nil {
		return nil, err
	}
	return stationary.Fit(chains, opt.A, opt.LStar)
}

// escapeRates runs (or resumes) an escape ensemble and estimates the rates per level.
func (e *Env) escapeRates(id string, o *model.Objective, p *ensemble.Prepared, fac *sde.Factory, spec escape.ExitSpec, exit string, ec escape.Context, opt escape.Options) ([]escape.LevelRate, []escape.Run, error) {
	key := ensembleKey{Experiment: id, Model: o.Model.Spec(), Data: o.Data.Spec, Dynamics: fac.Key(),
		Extra: fmt.Sprintf("exit=%s max_steps=%d", exit, opt.MaxSteps), Start: p.Min.Theta}
	runs, err := ensemble.Escape(e.Ctx, e.Ens, id+" "+fac.Describe()+" "+exit, key, fac, spec, ec, p.Min.Theta, opt)
	if err != nil {
		return nil, nil, err
	}
	levels := spec.C
	if levels == nil {
		levels = []float64{1}
	}
	return escape.Rates(runs, levels, fac.Config().Eta), runs, nil
}

func f3(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
func g4(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }
func pmS(v, e float64) string {
	if math.IsNaN(e) || e == 0 {
		return g4(v)
	}
	return g4(v) + " ± " + strconv.FormatFloat(e, 'g', 2, 64)
}

// zscore is (a - b)/se (NaN when se is 0).
func zscore(a, b, se float64) float64 {
	if se == 0 {
		return math.NaN()
	}
	return (a - b) / se
}

// logFit fits log y = A + B log x with the relative errors of y.
func logFit(x, y, sy []float64) (stats.LineFit, bool) {
	var lx, ly, ls []float64
	for i := range x {
		if y[i] > 0 && sy[i] > 0 && !math.IsInf(y[i], 0) && !math.IsNaN(sy[i]) {
			lx, ly, ls = append(lx, math.Log(x[i])), append(ly, math.Log(y[i])), append(ls, sy[i]/y[i])
		}
	}
	if len(lx) < 3 {
		return stats.LineFit{}, false
	}
	return stats.FitLine(lx, ly, ls), true
}

// parallel runs fn(0..n-1) on env.Ens.Workers goroutines and returns the first error.
func parallel(env *Env, n int, fn func(i int) error) error {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return workpool.Run(env.Ctx, idx, env.Ens.Workers, func(i int) (struct{}, error) { return struct{}{}, fn(i) }, nil)
}

// noiseRatio is Noise(theta_s) / Noise(theta*): SGD's noise strength at the saddle relative
// to the minimum; the theory's model (noise ∝ L with H frozen at the minimum) gives L^s/L*.
func noiseRatio(o *model.Objective, br *landscape.Barrier) float64 {
	w := o.NewWorker(2, 0)
	at := func(th []float64) float64 {
		return noise.NewState(w, th, sgd.Replacement, 1).MeasureStrength(false).Noise
	}
	return at(br.Saddle.Theta) / at(br.MinA.Theta)
}

// wellEscape holds the ensemble settings of the escapes over a real saddle (X1, X2): each
// run ends on entering the ball of radius WellR |theta_B - theta_s| around the other
// minimum (a committed transition, the event Kramers' rate counts).
type wellEscape struct {
	Runs     int      `json:"runs"`
	Dynamics []string `json:"dynamics"`
	Substeps int      `json:"substeps"`
	WellR    float64  `json:"well_radius"`
	// Budget per run: BudgetFactor times the predicted MFPT (SGD: times SGDFactor more),
	// at most MaxSteps steps.
	BudgetFactor float64 `json:"budget_factor"`
	SGDFactor    float64 `json:"sgd_factor"`
	MaxSteps     int64   `json:"max_steps"`
	Seed         uint64  `json:"seed"`
}

// rates runs (or resumes) one ensemble per dynamics of w from prep's minimum over the
// barrier br, with SGD's eta and B, a budget scaled from mfpt (in t), and returns the rate
// of each dynamics; stage labels the progress line.
func (w *wellEscape) rates(env *Env, id, stage string, o *model.Objective, prep *ensemble.Prepared, br *landscape.Barrier, eta float64, batch int, mfpt float64) (map[string]escape.LevelRate, error) {
	exit := fmt.Sprintf("well:r=%g", w.WellR)
	spec, err := escape.ParseExit(exit)
	if err != nil {
		return nil, err
	}
	out := map[string]escape.LevelRate{}
	for _, dn := range w.Dynamics {
		ds, err := parseDyn(dn, w.Substeps)
		if err != nil {
			return nil, err
		}
		env.stage("%s: %s %s", id, stage, dn)
		fac, err := prep.Factory(o, sde.Config{Kind: ds.Kind, Eta: eta, Batch: batch, Sampling: sgd.Epoch, Substeps: ds.Substeps})
		if err != nil {
			return nil, err
		}
		budget := w.BudgetFactor * mfpt / eta
		if ds.Kind == sde.SGD {
			budget *= w.SGDFactor
		}
		ec := escape.Context{Obj: o, ThetaStar: prep.Min.Theta, LStar: prep.Min.Loss, NewLand: fac.NewLandscape, LambdaMax: prep.Min.Eigs[0],
			SaddleTheta: br.Saddle.Theta, SaddleDir: br.Saddle.NegVec, OtherMin: br.MinB.Theta}
		rates, _, err := env.escapeRates(id, o, prep, fac, spec, exit, ec,
			escape.Options{Runs: w.Runs, Seed: w.Seed, MaxSteps: int64(math.Min(budget, float64(w.MaxSteps)))})
		if err != nil {
			return nil, err
		}
		out[dn] = rates[0]
	}
	return out, nil
}
