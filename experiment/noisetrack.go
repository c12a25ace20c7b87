package experiment

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/noise"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/sgd"
	"github.com/sgdlab/sgdlab/stats"
	"github.com/sgdlab/sgdlab/study"
)

type noiseParams struct {
	Data   string  `json:"data"`
	Model  string  `json:"model"`
	Loss   string  `json:"loss"`
	Eta    float64 `json:"eta"`
	Batch  int     `json:"batch"`
	Epochs int     `json:"epochs"`
	Skip   int     `json:"fit_from_epoch"`
	Seed   uint64  `json:"seed"`
	// NoiseEvery is the number of epochs between Noise measurements (0: 1); NoJacobian skips
	// the decoupled trace (one backward pass per output, costly for a CNN).
	NoiseEvery int  `json:"noise_every_epochs,omitempty"`
	NoJacobian bool `json:"no_jacobian,omitempty"`
	// StandInData and StandInModel replace Data and Model when Data is not on this machine
	// (E3: the paper's CNN on Fashion-MNIST when CIFAR-10 is absent).
	StandInData  string `json:"stand_in_data,omitempty"`
	StandInModel string `json:"stand_in_model,omitempty"`
}

func (p *noiseParams) Validate() error {
	var c check
	c.that(positive(p.Eta), "eta = %v must be a positive finite number", p.Eta)
	c.that(p.Batch >= 1, "batch = %d must be at least 1", p.Batch)
	c.that(p.Epochs >= 3 && p.Epochs <= 1e6, "epochs = %d must be between 3 and 10^6", p.Epochs)
	c.that(p.Skip >= 0 && p.Skip <= p.Epochs-2, "fit_from_epoch = %d must leave at least three epochs to fit", p.Skip)
	c.that(p.Loss == "mse" || p.Loss == "ce", "loss %q: use mse or ce", p.Loss)
	c.that(p.NoiseEvery >= 0 && p.NoiseEvery <= p.Epochs, "noise_every_epochs = %d must be between 0 and epochs",
		p.NoiseEvery)
	c.that((p.StandInData == "") == (p.StandInModel == ""), "stand_in_data and stand_in_model go together")
	return c.err
}

// noiseExperiment makes a Noise-against-L experiment of the paper (E2, E3, E6: they differ
// in data, network, loss and the paper's claim); note, if set, amends a result.
func noiseExperiment(id, title string, weight float64, defaults func(full bool) *noiseParams, claim string,
	note func(*noiseParams, *Result)) *Experiment {
	return &Experiment{
		ID: id, Title: title, Paper: true, Weight: weight,
		Defaults: func(full bool) Params { return defaults(full) },
		Run: func(env *Env, params Params) (*Result, error) {
			return timed(func() (*Result, error) {
				p := params.(*noiseParams)
				r, err := runNoiseExperiment(env, id, title, claim, p)
				if r != nil && note != nil {
					note(p, r)
				}
				return r, err
			})
		},
	}
}

// noiseTrack is Noise and L along training with the fits that judge proportionality.
type noiseTrack struct {
	Points []noise.TrackPoint
	K      int  // outputs
	MSE    bool // the decoupled comparison applies
	Skip   int  // first epoch of the fits
	Fitted int  // points in the fits
	// Slope of log Noise against log L over the fitted epochs, with its standard error.
	Slope, SlopeSE float64
	// LRange is max L / min L over the fitted epochs: the range the slope is measured on.
	LRange float64
	// Ratio is (2L/K) JacNorm / Noise (MSE only), its range over the fitted epochs.
	RatioMin, RatioMax float64
	// SlopeJ is the slope of log Noise against log((2L/K) JacNorm) (MSE only).
	SlopeJ, SlopeJSE float64
	JacGrowth        float64 // JacNorm at the end / at the first fitted epoch
	FinalLoss        float64
	// EpochSeconds is the wall time per epoch of the training run (with its Noise
	// measurements), as recorded when it was computed; EstimatedEpochSeconds the estimate
	// made before it started (study.TrainEstimate).
	EpochSeconds, EstimatedEpochSeconds float64
}

func runNoiseExperiment(env *Env, id, title, claim string, p *noiseParams) (*Result, error) {
	res := &Result{ID: id, Title: title, Paper: true, Params: p, Claim: claim,
		Theory: "Noise = (1/N) sum |grad l|^2 - |grad L|^2 ~ (2L/K) (1/N) sum |J|_F^2 for the MSE loss with K " +
			"outputs (docs/theory.md, \"SGD noise\"): proportional to L once the Jacobian factor settles. The " +
			"theory gives no formula for cross-entropy.",
		Setup: fmt.Sprintf(
			"%s, %s, %s loss, eta = %g, B = %d, %d epochs, the model's initialisation (seed %d); Noise and L over "+
				"the full training set every %d epoch(s); least-squares slope of log Noise vs log L from epoch %d.",
			p.Data,
			p.Model,
			p.Loss,
			p.Eta,
			p.Batch,
			p.Epochs,
			p.Seed,
			max(p.NoiseEvery, 1),
			p.Skip,
		)}
	nt, err := measureNoiseTrack(env, id, p)
	if errors.Is(err, data.ErrNotAvailable) && p.StandInData != "" {
		res.Notes = append(res.Notes, fmt.Sprintf("Stand-in: %s with %s replaces %s with %s, because %v. The claim "+
			"is tested on other data with the same architecture.", p.StandInData, p.StandInModel, p.Data, p.Model,
			err))
		stand := *p
		stand.Data, stand.Model = p.StandInData, p.StandInModel
		res.Setup = strings.Replace(strings.Replace(res.Setup, p.Data, stand.Data+" (stand-in)", 1), p.Model,
			stand.Model, 1)
		nt, err = measureNoiseTrack(env, id, &stand)
	}
	if errors.Is(err, data.ErrNotAvailable) {
		var v Verdict
		v.add(missing(Paper, critNoiseSlope, "log-log slope of Noise against L", "%v", err))
		res.judge(v)
		return res, nil
	}
	if err != nil {
		return nil, err
	}
	if err := renderNoiseTrack(env, id, p, nt, res); err != nil {
		return nil, err
	}
	res.judge(verdictNoise(nt, critNoiseSlope, critNoiseRange, critNoiseRatio))
	return res, nil
}

// measureNoiseTrack trains with SGD recording Noise and L every epoch (through the study
// layer: stored and reused) and fits log Noise against log L over epochs >= Skip.
func measureNoiseTrack(env *Env, id string, p *noiseParams) (*noiseTrack, error) {
	prob := study.Problem{Model: p.Model, Data: p.Data, Loss: p.Loss}
	o, err := prob.Build(env.Ctx, env.Study)
	if err != nil {
		return nil, err
	}
	spe := int64(sgd.StepsPerEpoch(o.N(), p.Batch))
	every := int64(max(p.NoiseEvery, 1)) * spe
	env.stage("%s: training", id)
	tr, err := study.Train(
		env.Ctx,
		env.Study,
		study.TrainSpec{Problem: prob, Eta: p.Eta, Batch: p.Batch, Sampling: "epoch", Seed: p.Seed,
			Steps: int64(p.Epochs) * spe, LogEvery: spe, NoiseEvery: every, NoJacobian: p.NoJacobian,
			Estimate: true},
	)
	if err != nil {
		return nil, err
	}
	nt := &noiseTrack{Points: tr.Noise, K: o.K(), MSE: p.Loss == "mse" && !p.NoJacobian, Skip: p.Skip,
		EpochSeconds: tr.Elapsed / float64(p.Epochs), FinalLoss: float64(tr.FinalLoss), EstimatedEpochSeconds: math.NaN(),
		RatioMin: math.Inf(
			1,
		), RatioMax: math.Inf(-1), Slope: math.NaN(), SlopeSE: math.NaN(), SlopeJ: math.NaN(), SlopeJSE: math.NaN()}
	if tr.Estimate != nil {
		nt.EstimatedEpochSeconds = tr.Estimate.EpochSeconds
	}
	var x, y, xj []float64
	lmin, lmax, firstJ := math.Inf(1), 0.0, 0.0
	for _, pt := range tr.Noise {
		if pt.Epoch < float64(p.Skip) || !(pt.Loss > 0) || !(pt.Noise > 0) {
			continue
		}
		x, y = append(x, math.Log(pt.Loss)), append(y, math.Log(pt.Noise))
		lmin, lmax = math.Min(lmin, pt.Loss), math.Max(lmax, pt.Loss)
		if nt.MSE {
			xj = append(xj, math.Log(2*pt.Loss/float64(nt.K)*pt.JacNorm))
			r := noise.DecoupledRatio(pt.Loss, pt.JacNorm, pt.Noise, nt.K)
			nt.RatioMin, nt.RatioMax = math.Min(nt.RatioMin, r), math.Max(nt.RatioMax, r)
			if firstJ == 0 {
				firstJ = pt.JacNorm
			}
		}
	}
	nt.Fitted, nt.LRange = len(x), lmax/lmin
	if len(x) >= 3 {
		nt.Slope, nt.SlopeSE = stats.FitLineOLS(x, y)
		if nt.MSE {
			nt.SlopeJ, nt.SlopeJSE = stats.FitLineOLS(xj, y)
		}
	}
	if last := tr.Noise[len(tr.Noise)-1]; nt.MSE && firstJ > 0 {
		nt.JacGrowth = last.JacNorm / firstJ
	}
	return nt, nil
}

// verdictNoise checks proportionality: the fitted log-log slope of Noise against L within
// slopeTol of 1, informative only over a fit in which L falls by minRange or more. For the
// MSE loss it also checks the decoupled trace (2L/K) (1/N) sum |J|_F^2 against Noise, an
// approximation check that decides neither status.
func verdictNoise(nt *noiseTrack, slopeTol, minRange, ratioTol Criterion) Verdict {
	var v Verdict
	if nt.Fitted < 3 || !finiteF(nt.Slope) {
		v.add(missing(Paper, slopeTol, "log-log slope of Noise against L", "fewer than three epochs from epoch %d "+
			"on had positive Noise and L, so no slope was fitted", nt.Skip))
		return v
	}
	c := newCheck(Paper, slopeTol, "log-log slope of Noise against L", math.Abs(nt.Slope-1),
		"Over a factor %.3g in L the log-log slope of Noise against L is %.3f ± %.3f, %.3f from 1 (criterion "+
			"%g).", nt.LRange, nt.Slope, nt.SlopeSE, math.Abs(nt.Slope-1), slopeTol.Value)
	c.SE, c.Target, c.also = num.Float(nt.SlopeSE), 1, []Criterion{minRange}
	if nt.LRange < minRange.Value {
		c.Claim += fmt.Sprintf(" Not informative: L falls only by a factor %.3g over the fit (criterion %g).",
			nt.LRange, minRange.Value)
		c.Outcome, c.N = Uninformative, nt.Fitted
	} else {
		c = c.decide(math.Abs(nt.Slope-1) <= slopeTol.Value, nt.Fitted, 3, "")
	}
	v.add(c)
	if !nt.MSE {
		return v
	}
	dev := math.Max(math.Abs(nt.RatioMin-1), math.Abs(nt.RatioMax-1))
	v.add(atMost(Approx, ratioTol, "decoupled trace against Noise", dev, nt.Fitted, "The decoupled trace (2L/K) "+
		"(1/N) sum |J|_F^2 (K = %d) over Noise ranges over %.3f .. %.3f over the fit, up to %.3f from 1 (criterion "+
		"%g).", nt.K, nt.RatioMin, nt.RatioMax, dev, ratioTol.Value))
	v.remark("Against that trace the log-log slope is %.3f ± %.3f; (1/N) sum |J|_F^2 itself changed by a factor "+
		"%.3g.", nt.SlopeJ, nt.SlopeJSE, nt.JacGrowth)
	return v
}

func renderNoiseTrack(env *Env, id string, p *noiseParams, nt *noiseTrack, res *Result) error {
	res.Numbers = append(res.Numbers, Number{Name: fmt.Sprintf("log-log slope of Noise vs L (epochs >= %d)", p.Skip),
		Value: num.Float(nt.Slope), Err: num.Float(nt.SlopeSE), Theory: 1},
		Number{Name: "factor by which L falls over the fit", Value: num.Float(nt.LRange)},
		Number{Name: "final training loss", Value: num.Float(nt.FinalLoss)})
	res.Numbers = append(res.Numbers, Number{Name: "wall time per epoch, s (training and Noise measurements, " +
		"when first computed)", Value: num.Float(nt.EpochSeconds)},
		Number{Name: "wall time per epoch estimated before training, s (timed steps and one Noise measurement on " +
			"a sample of the data)", Value: num.Float(nt.EstimatedEpochSeconds)})
	if nt.MSE {
		last := nt.Points[len(nt.Points)-1]
		res.Numbers = append(res.Numbers, Number{Name: "(2L/K) (1/N) sum |J|_F^2 / Noise at the end",
			Value: num.Float(noise.DecoupledRatio(last.Loss, last.JacNorm, last.Noise, nt.K)), Theory: 1,
			Note: fmt.Sprintf("range over the fitted epochs %.3f .. %.3f; K = %d", nt.RatioMin, nt.RatioMax,
				nt.K)}, Number{Name: "log-log slope of Noise vs " +
			"(2L/K) (1/N) sum |J|_F^2", Value: num.Float(nt.SlopeJ), Err: num.Float(nt.SlopeJSE), Theory: 1},
			Number{Name: "growth of (1/N) sum |J|_F^2 over the fitted epochs", Value: num.Float(nt.JacGrowth)})
	}
	var ls, ns, dec []float64
	var rows [][]float64
	var ep []string
	for _, pt := range nt.Points {
		ls, ns = append(ls, pt.Loss), append(ns, pt.Noise)
		dec = append(dec, 2*pt.Loss/float64(nt.K)*pt.JacNorm)
		rows = append(rows, []float64{pt.Epoch, pt.Loss, pt.Noise, pt.JacNorm})
		ep = append(ep, fmt.Sprintf("%.0f:%.3g/%.3g", pt.Epoch, pt.Loss, pt.Noise))
	}
	last := nt.Points[len(nt.Points)-1]
	k := last.Noise / last.Loss // reference line Noise = k L through the last point
	var ref []float64
	for _, l := range ls {
		ref = append(ref, k*l)
	}
	series := []report.Series{{Name: "Noise, every epoch", X: ls, Y: ns, Style: report.Points}, {Name: "Noise ∝ L",
		X: ls, Y: ref, Style: report.Dashed}}
	if nt.MSE {
		series = append(series, report.Series{Name: "(2L/K) (1/N) sum |J|_F^2 (decoupling)", X: ls, Y: dec,
			Style: report.Line})
	}
	fig, err := env.figure("noise_vs_loss", report.Figure{Title: fmt.Sprintf("%s: Noise vs L along training (%s)", id,
		p.Loss), XLabel: "L", YLabel: "Noise = (1/N) sum |grad l|^2 - |grad L|^2", LogX: true, LogY: true,
		Series: series}, []string{"epoch", "loss", "noise", "jac_norm"}, rows,
		fmt.Sprintf("log-log slope over epochs >= "+
			"%d: %.3f ± %.3f (proportionality: 1).", p.Skip, nt.Slope, nt.SlopeSE))
	if err != nil {
		return err
	}
	res.Figures = append(res.Figures, fig)
	res.Notes = append(res.Notes, "epoch:L/Noise "+strings.Join(ep, " "))
	return nil
}
