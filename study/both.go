package study

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/escape"
	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/landscape"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/theory"
)

// BothSpec asks for the escapes between two minima in both directions and, optionally, the
// occupation of each by long runs (docs/theory.md, "Which minimum SGD prefers").
type BothSpec struct {
	Problem
	Dynamics
	WellR    float64   // core radius as a fraction of |theta_X - theta_s| (the well exit's r)
	Runs     int       // escape runs per direction
	MaxSteps int64     // escape budget per run (0: the default of Escape)
	Seed     uint64    // seed of the runs and of the minimum search
	Start    []float64 // minimum A (nil: found from the model's initialisation)
	To       []float64 // minimum B (nil: searched)
	// OccRuns long runs of OccSteps steps each, in OccBlocks blocks, measure the occupation
	// (0 runs: not measured).
	OccRuns   int
	OccSteps  int64
	OccBlocks int
	// NA and NB, when positive, set the number of outlier directions at A and B for the
	// predictions (the top NA or NB Hessian eigenvalues), instead of counting every direction
	// of a small model: X3's gated directions are inert at B (curvature 0.01), not outliers.
	NA, NB int
	// MinA, MinB and the barriers, when set, are used instead of being found again.
	MinA, MinB   *landscape.Prepared `json:"-"`
	BarAB, BarBA *landscape.Barrier  `json:"-"`
}

// RatioPrediction is one theory's p_A/p_B = kappa_BA/kappa_AB.
type RatioPrediction struct {
	Name  string    `json:"name"`
	Ratio num.Float `json:"ratio"` // p_A / p_B
	Note  string    `json:"note,omitempty"`
}

// BothRecord is what BothWays measured: the two escape ensembles, the occupation ratio
// p_A/p_B they imply by renewal (T_AB/T_BA), the occupation of the long runs, and the
// predictions.
type BothRecord struct {
	Model    string        `json:"model"`
	Data     string        `json:"data"`
	Dynamics Dynamics      `json:"dynamics"`
	AB, BA   *EscapeRecord `json:"-"`
	// MinA and MinB are the two minima (to reuse for other dynamics).
	MinA, MinB *landscape.Prepared `json:"-"`
	RatesAB    escape.LevelRate    `json:"rate_a_to_b"`
	RatesBA    escape.LevelRate    `json:"rate_b_to_a"`
	// RatioRates is p_A/p_B = T_AB/T_BA from the mean first-passage times, with the
	// standard error of its logarithm.
	RatioRates    num.Float               `json:"occupation_ratio_from_rates"`
	LogRatioSE    num.Float               `json:"log_ratio_se"`
	Occupation    *escape.OccupationStats `json:"occupation,omitempty"`
	RatioOccupied num.Float               `json:"occupation_ratio_measured"`
	LogOccSE      num.Float               `json:"log_occupation_ratio_se"`
	HStarA        float64                 `json:"h_star_a"`
	HStarB        float64                 `json:"h_star_b"`
	NA            int                     `json:"n_a"`
	NB            int                     `json:"n_b"`
	LStar         float64                 `json:"L_star"`
	LSaddle       float64                 `json:"L_saddle"`
	Predictions   []RatioPrediction       `json:"predictions"`
	Stats         ensemble.Stats          `json:"occupation_runs"`
	Notes         []string                `json:"notes,omitempty"`
}

// BothWays runs (or resumes from the store) the escapes A -> B and B -> A, and the long
// occupation runs.
func BothWays(ctx context.Context, env Env, spec BothSpec) (*BothRecord, error) {
	o, err := spec.Problem.Build(ctx, env)
	if err != nil {
		return nil, err
	}
	if !(spec.WellR > 0 && spec.WellR < 1) {
		return nil, fault.Invalid("the core radius r = %v must be in (0, 1)", spec.WellR)
	}
	if spec.OccRuns < 0 || (spec.OccRuns > 0 && (spec.OccSteps < 1 || spec.OccBlocks < 2)) {
		return nil, fault.Invalid("occupation runs need at least 1 step and 2 blocks each")
	}
	pA := spec.MinA
	if pA == nil {
		if pA, err = Minimum(ctx, env, o, spec.Start, spec.Seed); err != nil {
			return nil, err
		}
	}
	rec := &BothRecord{Model: o.Model.Spec(), Data: o.Data.Spec, Dynamics: spec.Dynamics}
	brAB := spec.BarAB
	if brAB == nil {
		var notes []string
		if brAB, notes, err = barrierFrom(ctx, env, o, o.NewWorker(2, 0), pA.Min.Theta, spec.To,
			spec.Seed); err != nil {
			return nil, err
		}
		rec.Notes = append(rec.Notes, notes...)
	}
	pB := spec.MinB
	if pB == nil {
		if pB, err = Minimum(ctx, env, o, brAB.MinB.Theta, spec.Seed); err != nil {
			return nil, err
		}
	}
	brBA := spec.BarBA
	if brBA == nil {
		if brBA, _, err = barrierFrom(ctx, env, o, o.NewWorker(2, 0), pB.Min.Theta, pA.Min.Theta,
			spec.Seed); err != nil {
			return nil, err
		}
	}
	rec.MinA, rec.MinB = pA, pB
	exit := fmt.Sprintf("well:r=%g", spec.WellR)
	one := func(p *landscape.Prepared, br *landscape.Barrier) (*EscapeRecord, error) {
		return Escape(ctx, env, EscapeSpec{Problem: spec.Problem, Dynamics: spec.Dynamics, Exit: exit, Runs: spec.Runs,
			Seed: spec.Seed, MaxSteps: spec.MaxSteps, Minimum: p, Barrier: br})
	}
	if rec.AB, err = one(pA, brAB); err != nil {
		return rec, err
	}
	if rec.BA, err = one(pB, brBA); err != nil {
		return rec, err
	}
	rec.RatesAB, rec.RatesBA = rec.AB.Rates[0], rec.BA.Rates[0]
	tAB, tBA := float64(rec.RatesAB.MFPT), float64(rec.RatesBA.MFPT)
	rec.RatioRates = num.Float(tAB / tBA)
	rec.LogRatioSE = num.Float(math.Hypot(float64(rec.RatesAB.MFPTSE)/tAB, float64(rec.RatesBA.MFPTSE)/tBA))
	ta, tb := restrict(brAB, spec.NA), restrict(brBA, spec.NB)
	rec.HStarA, rec.HStarB, rec.NA, rec.NB = ta.HStar, tb.HStar, ta.N, tb.N
	rec.LStar, rec.LSaddle = ta.LMin, ta.LSaddle
	eta, b := spec.Eta, spec.Batch
	for _, m := range []struct {
		name string
		logK func(theory.Barrier, int, float64) float64
	}{{"power law", theory.LogPowerLaw}, {"Arrhenius", theory.LogArrhenius}, {"frozen noise", theory.LogFrozen}} {
		// The ratio from the logarithms of the rates: either rate alone may underflow.
		r := math.Exp(m.logK(tb, b, eta) - m.logK(ta, b, eta))
		p := RatioPrediction{Name: m.name, Ratio: num.Float(r)}
		switch {
		case math.IsNaN(float64(ta.DetRatio)) || math.IsNaN(float64(tb.DetRatio)):
			p.Ratio = num.Float(math.NaN())
			p.Note = "not computed: a flat Hessian direction among the n outlier directions at a minimum or its " +
				"saddle leaves the harmonic prefactor undefined"
		case math.IsNaN(r) || math.IsInf(r, 0) || r == 0:
			p.Ratio = num.Float(math.NaN())
			p.Note = "not computed: the predicted ratio is beyond floating-point range"
		}
		rec.Predictions = append(rec.Predictions, p)
	}
	if qa, qb := quadOf(rec.AB.Predictions), quadOf(rec.BA.Predictions); qa > 0 && qb > 0 {
		rec.Predictions = append(rec.Predictions, RatioPrediction{Name: "quadrature", Ratio: num.Float(qa / qb),
			Note: "decoupled SDE, exact 1-D mean first-passage times from each minimum"})
	}
	rec.RatioOccupied, rec.LogOccSE = num.Float(math.NaN()), num.Float(math.NaN())
	if spec.OccRuns > 0 {
		fac, err := Factory(o, pA, spec.Dynamics)
		if err != nil {
			return rec, err
		}
		cores := [2]escape.Core{{Center: pA.Min.Theta, Radius: spec.WellR * dist(pA.Min.Theta, brAB.Saddle.Theta)},
			{Center: pB.Min.Theta, Radius: spec.WellR * dist(pB.Min.Theta, brAB.Saddle.Theta)}}
		key := keyOf("occupation", o)
		key.Dynamics, key.Start, key.Exit, key.Extra = fac.Key(), pA.Min.Theta, exit,
			map[string]any{"steps": spec.OccSteps, "blocks": spec.OccBlocks, "b": pB.Min.Theta}
		env.stage("occupation runs")
		runs, st, err := ensemble.Run(ctx, env.Ens, ensemble.Spec{Kind: "occupation", Label: label("occupation",
			rec.Model, rec.Data, spec.Kind), Key: key, Seed: spec.Seed, Size: int64(spec.OccRuns)},
			func(i int) (escape.OccupationRun, error) {
				return escape.OccupationTrajectory(ctx, fac, cores, pA.Min.Theta, i, spec.Seed, spec.OccSteps,
					spec.OccBlocks)
			})
		rec.Stats = st
		if err != nil {
			return rec, err
		}
		occ := escape.Occupations(runs)
		rec.Occupation = &occ
		if f := float64(occ.FractionA); f > 0 && f < 1 {
			rec.RatioOccupied = num.Float(f / (1 - f))
			rec.LogOccSE = num.Float(float64(occ.SE) / (f * (1 - f)))
		} else {
			rec.Notes = append(rec.Notes, fmt.Sprintf("the long runs spent a fraction %.4g of their time in A: "+
				"one minimum was never occupied, so the occupation ratio is not measured (longer runs would "+
				"see transitions)", f))
		}
	}
	return rec, nil
}

// quadOf returns the quadrature MFPT among predictions (0 when absent).
func quadOf(ps []Prediction) float64 {
	for _, p := range ps {
		if p.Name == "quadrature" && float64(p.MFPT) > 0 {
			return float64(p.MFPT)
		}
	}
	return 0
}

// restrict is br's theory inputs over the n directions of largest curvature at the minimum
// (n <= 0: br.Theory()): h* their mean, and det H*/|det H^s| over them and, at the saddle,
// the negative direction and the n - 1 largest positive ones.
func restrict(br *landscape.Barrier, n int) theory.Barrier {
	t := br.Theory()
	if n <= 0 || !br.MinA.Dense || n > len(br.MinA.Eigs) {
		return t
	}
	mins := slices.Clone(br.MinA.Eigs)
	slices.Sort(mins)
	slices.Reverse(mins)
	var pos []float64
	for _, v := range br.Saddle.Eigs {
		if v > 0 {
			pos = append(pos, v)
		}
	}
	slices.Sort(pos)
	slices.Reverse(pos)
	if len(pos) < n-1 {
		return t
	}
	logDet, hs := -math.Log(t.HSaddleNeg), 0.0
	for i := 0; i < n; i++ {
		logDet += math.Log(mins[i])
		hs += mins[i]
		if i < n-1 {
			logDet -= math.Log(pos[i])
		}
	}
	t.N, t.HStar, t.DetRatio = n, hs/float64(n), num.Float(math.Exp(logDet))
	// A flat direction among the n at either point leaves the ratio undefined, as in
	// landscape.Barrier.Degenerate.
	if landscape.Flat(mins[:n]) > 0 || landscape.Flat(append(slices.Clone(pos[:n-1]), -t.HSaddleNeg)) > 0 {
		t.DetRatio = num.Float(math.NaN())
	}
	return t
}
