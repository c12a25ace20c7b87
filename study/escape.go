package study

import (
	"context"
	"fmt"
	"math"

	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/escape"
	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/internal/memory"
	"github.com/sgdlab/sgdlab/landscape"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/sde"
	"github.com/sgdlab/sgdlab/stats"
	"github.com/sgdlab/sgdlab/theory"
)

// EscapeSpec describes an escape ensemble: independent runs of the dynamics from a minimum
// until the exit (docs/theory.md, "Escape").
type EscapeSpec struct {
	Problem
	Dynamics
	Exit     string    // exit spec: loss:c=..., basin, ball:r=..., surface, well[:r=...]
	Runs     int       // ensemble size
	Seed     uint64    // run i uses seed.Stream(Seed, i)
	MaxSteps int64     // budget per run in steps (0: 30 times the predicted MFPT, at least 10^4)
	Start    []float64 // the minimum (nil: found from the model's initialisation)
	To       []float64 // the other minimum for barrier exits (nil: searched)
	// Minimum and Barrier, when set, are used instead of being found again (experiments that
	// already have them).
	Minimum *landscape.Prepared `json:"-"`
	Barrier *landscape.Barrier  `json:"-"`
}

// Prediction is one theory's prediction for one exit level.
type Prediction struct {
	Name  string    `json:"name"`
	Level float64   `json:"level"`
	Rate  num.Float `json:"rate" check:"nonneg"`    // per unit t
	MFPT  num.Float `json:"mfpt" check:"pos"`       // in t
	Steps num.Float `json:"mfpt_steps" check:"pos"` // in steps
	Note  string    `json:"note,omitempty"`
}

// EscapeRecord is what an escape ensemble measured, with the predictions it is compared to.
type EscapeRecord struct {
	Model       string             `json:"model"`
	Data        string             `json:"data"`
	Dynamics    Dynamics           `json:"dynamics"`
	Describe    string             `json:"dynamics_description"`
	Exit        string             `json:"exit"`
	ExitDetail  string             `json:"exit_description"`
	Seed        uint64             `json:"seed"`
	Runs        int                `json:"runs"`
	Shard       string             `json:"shard"`
	MaxSteps    int64              `json:"max_steps"`
	LStar       float64            `json:"L_star"`
	HStar       float64            `json:"h_star"`
	N           int                `json:"n"`
	Exponent    float64            `json:"exponent_predicted"`
	Barrier     *landscape.Barrier `json:"barrier,omitempty"`
	Rates       []escape.LevelRate `json:"rates"`
	Predictions []Prediction       `json:"predictions"`
	Slope       *stats.LineFit     `json:"log_mfpt_vs_log_c,omitempty"`
	Stats       ensemble.Stats     `json:"trajectories"`
	Diverged    int                `json:"diverged"` // runs that stopped being finite (never counted as escapes)
	Conventions map[string]string  `json:"conventions"`
	Notes       []string           `json:"notes,omitempty"`
	Trajectory  []escape.Run       `json:"-"`
}

// runBytes is an upper bound of the memory one escape run's record takes while the
// ensemble collects them (three values per level and the slice headers).
func runBytes(levels int) int64 { return int64(160 + 48*levels) }

// Escape runs (or resumes from the store) an escape ensemble and estimates the escape
// rates and mean first-passage times. Runs that diverge are counted in the record and
// censored at their divergence in the rates. On error (an interruption) the record holds
// the runs that finished, all of them recorded in the store.
func Escape(ctx context.Context, env Env, spec EscapeSpec) (*EscapeRecord, error) {
	o, err := spec.Problem.Build(ctx, env)
	if err != nil {
		return nil, err
	}
	ex, err := escape.ParseExit(spec.Exit)
	if err != nil {
		return nil, err
	}
	if spec.Runs < 1 {
		return nil, fault.Invalid("an escape ensemble needs at least 1 run, got %d", spec.Runs)
	}
	levels := ex.Levels()
	if err := env.limit().Check(fmt.Sprintf("%d escape runs", spec.Runs),
		memory.Mul(env.Ens.Shard.Count(int64(spec.Runs)), runBytes(len(levels)))); err != nil {
		return nil, err
	}
	p, fac, err := dynamicsAt(ctx, env, o, spec.Dynamics, spec.Minimum, spec.Start, spec.Seed)
	if err != nil {
		return nil, err
	}
	m := p.Min
	rec := &EscapeRecord{Model: o.Model.Spec(), Data: o.Data.Spec, Dynamics: spec.Dynamics, Describe: fac.Describe(),
		Exit: ex.String(), Seed: spec.Seed, Runs: spec.Runs, Shard: env.Ens.Shard.String(), LStar: m.Loss,
		HStar: p.HStar, N: p.N, Exponent: theory.Exponent(spec.Batch, spec.Eta, p.HStar, p.N),
		Conventions: escapeConventions()}
	if p.Note != "" {
		rec.Notes = append(rec.Notes, p.Note)
	}
	if rec.Exponent <= 0 {
		rec.Notes = append(rec.Notes, fmt.Sprintf("the predicted exponent %.4g <= 0: n = %d >= n_c = 2 phi = %.4g, "+
			"a minimum the SDE's criterion calls unstable; the barrier formulas, which assume escape from a stable "+
			"minimum, are outside their validity here", rec.Exponent, p.N, theory.NCritical(spec.Batch, spec.Eta,
			p.HStar)))
	}
	ec := escape.Context{Obj: o, ThetaStar: m.Theta, LStar: m.Loss, NewLand: fac.NewLandscape, LambdaMax: m.Eigs[0]}
	if ex.Kind == "basin" || ex.Kind == "surface" || ex.Kind == "well" {
		br := spec.Barrier
		var notes []string
		if br == nil {
			br, notes, err = barrierFrom(ctx, env, o, o.NewWorker(2, 0), m.Theta, spec.To, spec.Seed)
		}
		switch {
		case err != nil && ex.Kind != "basin":
			return nil, err
		case err != nil:
			rec.Notes = append(rec.Notes, "no barrier predictions: "+err.Error())
		default:
			rec.Barrier = br
			rec.Notes = append(rec.Notes, notes...)
			ec.SaddleTheta, ec.SaddleDir, ec.OtherMin = br.Saddle.Theta, br.Saddle.NegVec, br.MinB.Theta
		}
	}
	exit, err := ex.New(ec)
	if err != nil {
		return nil, err
	}
	rec.ExitDetail = exit.Describe()
	var note string
	if rec.Predictions, note = predictEscape(p, fac, ex, rec.Barrier, spec.Eta, spec.Batch, o.P()); note != "" {
		rec.Notes = append(rec.Notes, note)
	}
	rec.MaxSteps = spec.MaxSteps
	if rec.MaxSteps <= 0 {
		rec.MaxSteps = defaultBudget(rec.Predictions)
	}
	if env.Ens.Shard.N > 1 {
		rec.Notes = append(
			rec.Notes,
			fmt.Sprintf(
				"shard %s: the rates use this shard's runs only; merge the shard stores and rerun with the merged "+
					"store for the whole ensemble",
				env.Ens.Shard,
			),
		)
	}
	key := keyOf("escape", o)
	key.Dynamics, key.Exit, key.MaxSteps, key.Start = fac.Key(), rec.Exit, rec.MaxSteps, m.Theta
	opt := escape.Options{Seed: spec.Seed, MaxSteps: rec.MaxSteps}
	env.stage("escape runs")
	runs, st, runErr := ensemble.Run(ctx, env.Ens, ensemble.Spec{Kind: "escape", Label: label("escape", rec.Model,
		rec.Data, spec.Kind, rec.Exit), Key: key, Seed: spec.Seed, Size: int64(spec.Runs)}, func(i int) (escape.Run,
		error) {
		return escape.Trajectory(ctx, fac, ex, ec, m.Theta, i, opt)
	})
	rec.Trajectory, rec.Stats = runs, st
	for _, r := range runs {
		if r.Diverged {
			rec.Diverged++
		}
	}
	rec.Rates = escape.Rates(runs, levels, spec.Eta)
	rec.Slope = mfptSlope(rec.Rates)
	return rec, runErr
}

// defaultBudget is 30 times the predicted MFPT in steps (at least 10^4, at most 10^10), or
// 10^6 steps without a prediction.
func defaultBudget(preds []Prediction) int64 {
	budget := int64(1_000_000)
	for _, pr := range preds {
		if s := float64(pr.Steps); (pr.Name == "power law" || pr.Name == "quadrature") && !math.IsNaN(s) &&
			!math.IsInf(s, 0) {
			budget = max(int64(math.Min(30*s, 1e10)), 10000)
		}
	}
	return budget
}

// mfptSlope fits log MFPT against log c over the levels with escapes (three or more).
func mfptSlope(rates []escape.LevelRate) *stats.LineFit {
	var x, y, sy []float64
	for _, r := range rates {
		mf, se := float64(r.MFPT), float64(r.MFPTSE)
		if r.Escaped > 0 && se > 0 {
			x, y, sy = append(x, math.Log(r.Level)), append(y, math.Log(mf)), append(sy, se/mf)
		}
	}
	if len(x) < 3 {
		return nil
	}
	f := stats.FitLine(x, y, sy)
	if math.IsNaN(f.Slope+f.SlopeSE) || math.IsInf(f.Slope+f.SlopeSE, 0) {
		return nil // a degenerate fit (levels too close to separate in double precision)
	}
	return &f
}

func escapeConventions() map[string]string {
	return map[string]string{
		"time": "t = eta * steps; rates per unit t; MFPT in t and in steps",
		"rate": "maximum likelihood for exponential waiting times with right censoring: escaped / total " +
			"observed time; 95% exact Poisson interval",
		"mfpt":     "mean of the escape times when no run was censored, else 1/rate",
		"exponent": "kappa ∝ (L^s/L*)^-(B/(eta h*) + 1 - n/2)",
	}
}

// predictEscape evaluates the theories for the exit's levels: the decoupled SDE's exact
// quadrature for loss levels; the power law, Arrhenius and frozen-noise rates over a
// barrier, and the exact quadrature on one-parameter landscapes. It returns none, with a
// note saying why, when eta h* >= 2: a full-batch step then overshoots the minimum, which no
// SDE of SGD describes.
func predictEscape(p *landscape.Prepared, fac *sde.Factory, ex escape.ExitSpec, br *landscape.Barrier, eta float64, B,
	P int) ([]Prediction, string) {
	if !theory.StepStable(eta, p.HStar) {
		return nil, fmt.Sprintf("eta h* = %.4g >= 2: a full-batch step overshoots the minimum (gradient descent "+
			"itself leaves it), so the SDE predictions do not apply and are not shown", eta*p.HStar)
	}
	var out []Prediction
	add := func(name string, level, rate, mfpt float64, note string) {
		if !(mfpt > 0) || math.IsInf(mfpt, 0) || math.IsInf(mfpt/eta, 0) {
			// An escape so slow (or a level so high) that its time overflows: no number to show.
			why := "not computed: the predicted time is beyond floating-point range"
			if note != "" {
				why += " (" + note + ")"
			}
			rate, mfpt, note = math.NaN(), math.NaN(), why
		}
		out = append(out, Prediction{Name: name, Level: level, Rate: num.Float(rate), MFPT: num.Float(mfpt),
			Steps: num.Float(mfpt / eta), Note: note})
	}
	switch ex.Kind {
	case "loss":
		for _, cl := range ex.C {
			t, err := theory.MFPTLossLevel(eta, B, p.HStar, p.N, p.Min.Loss, cl)
			note := "decoupled SDE, isotropic H* = h* I, exact 1-D quadrature of the radial diffusion"
			if err != nil {
				t, note = math.NaN(), err.Error()
			}
			add("quadrature", cl, 1/t, t, note)
		}
	case "basin", "surface", "well":
		if br == nil {
			return nil, ""
		}
		tb, undefined := br.Theory(), br.Degenerate()
		half, note := 1.0, ""
		if ex.Kind == "surface" {
			half, note = 0.5, "first hitting of the dividing surface: about 1/(2 kappa)"
		}
		for _, th := range []struct {
			name string
			k    float64
		}{{"power law", theory.PowerLaw(tb, B, eta)}, {"Arrhenius", theory.Arrhenius(tb, B, eta)}, {"frozen noise",
			theory.Frozen(tb, B, eta)}} {
			if undefined != "" {
				nan := num.Float(math.NaN())
				out = append(out, Prediction{Name: th.name, Level: 1, Rate: nan, MFPT: nan, Steps: nan,
					Note: undefined})
				continue
			}
			add(th.name, 1, th.k/half, half/th.k, note)
		}
		if P == 1 {
			target := br.MinB.Theta[0]
			switch ex.Kind {
			case "surface":
				target = br.Saddle.Theta[0]
			case "well":
				target = br.MinB.Theta[0] + ex.R*(br.Saddle.Theta[0]-br.MinB.Theta[0])
			}
			if t, err := Quadrature1D(fac.NewLandscape(), p, br, eta, B, target); err == nil {
				add("quadrature", 1, 1/t, t, "decoupled SDE on the exact 1-D landscape")
			}
		}
	}
	return out, ""
}

// Quadrature1D is the decoupled SDE's exact mean first-passage time on a one-parameter
// landscape from the minimum to target (beyond the saddle), reflecting far behind the
// minimum: T = int s int m of docs/theory.md, "Exact one-dimensional times".
func Quadrature1D(land model.Landscape, p *landscape.Prepared, br *landscape.Barrier, eta float64, B int,
	target float64) (float64, error) {
	g := make([]float64, 1)
	x := make([]float64, 1)
	hstar := br.Theory().HStar
	mu := func(v float64) float64 { x[0] = v; land.LossGrad(x, g); return -g[0] }
	D := func(v float64) float64 { x[0] = v; return eta * land.LossGrad(x, nil) * hstar / float64(B) }
	x0, xs := p.Min.Theta[0], br.Saddle.Theta[0]
	return theory.MFPT1D(mu, D, x0+10*(x0-xs), x0, target, 200000)
}
