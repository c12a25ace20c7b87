package study

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/noise"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/seed"
	"github.com/sgdlab/sgdlab/sgd"
)

// TrainSpec describes an SGD training run.
type TrainSpec struct {
	Problem
	Eta      float64 `json:"eta"`
	Batch    int     `json:"batch"`
	Sampling string  `json:"sampling"`
	Momentum float64 `json:"momentum"`
	Seed     uint64  `json:"seed"` // initial parameters and batch order derive from it
	Steps    int64   `json:"steps"`
	// LogEvery is the number of steps between full-data loss points (0: one epoch).
	LogEvery int64 `json:"log_every"`
	// NoiseEvery is the number of steps between measurements of Noise and L (0: none).
	NoiseEvery int64 `json:"noise_every,omitempty"`
	// NoJacobian skips the decoupled trace (2L/K) (1/N) sum |J|_F^2 of the Noise measurements
	// (one more backward pass per output).
	NoJacobian bool `json:"no_jacobian,omitempty"`
	// Checkpoints are steps at which the parameters are kept in the record.
	Checkpoints []int64 `json:"checkpoints,omitempty"`
	// Estimate times a few steps and one Noise measurement on a sample of the data before
	// training and reports the expected wall time (TrainRecord.Estimate, and a stage message).
	Estimate bool `json:"estimate,omitempty"`
	// Init starts from these parameters instead of the model's initialisation.
	Init     []float64 `json:"-"`
	InitName string    `json:"-"`
}

// Checkpoint is the parameter vector after Step updates.
type Checkpoint struct {
	Step  int64     `json:"step"`
	Theta []float64 `json:"theta"`
}

// TrainRecord is the outcome of a training run.
type TrainRecord struct {
	Subject
	N           int                `json:"N"`
	D           int                `json:"inputs"`
	K           int                `json:"outputs"`
	P           int                `json:"P"`
	Eta         float64            `json:"eta"`
	Batch       int                `json:"batch"`
	Sampling    string             `json:"sampling"`
	Momentum    float64            `json:"momentum"`
	Seed        uint64             `json:"seed"`
	Init        string             `json:"init"`
	Steps       int64              `json:"steps"`
	Epochs      float64            `json:"epochs"`
	Time        float64            `json:"t"`
	InitialLoss num.Float          `json:"initial_loss"`
	FinalLoss   num.Float          `json:"final_loss"`
	Elapsed     float64            `json:"elapsed_s"`
	StepsPerSec float64            `json:"steps_per_s"`
	Curve       []sgd.LossPoint    `json:"loss_curve"`
	Noise       []noise.TrackPoint `json:"noise,omitempty"`
	Checkpoints []Checkpoint       `json:"checkpoints,omitempty"`
	Estimate    *TrainEstimate     `json:"estimate,omitempty"`
	Theta       []float64          `json:"-"` // final parameters (nil after divergence; not stored)
	Error       string             `json:"error,omitempty"`
	Conventions map[string]string  `json:"conventions"`
}

// MaxSteps bounds a training run's length (so that step counts and times stay exact).
const MaxSteps = 1 << 53

// Train runs SGD and records the loss curve (and, on request, Noise and L, and parameter
// checkpoints). With a run store in env, a finished run is stored and a repeated request
// returns it without training. A divergence or interruption returns the partial record
// with the error; its final loss is evaluated at the parameters it stopped at.
func Train(ctx context.Context, env Env, spec TrainSpec) (*TrainRecord, error) {
	o, err := spec.Problem.Build(ctx, env)
	if err != nil {
		return nil, err
	}
	samp, err := sgd.ParseSampling(spec.Sampling)
	if err != nil {
		return nil, err
	}
	cfg := sgd.Config{Eta: spec.Eta, Batch: spec.Batch, Sampling: samp, Momentum: spec.Momentum}
	if err := cfg.Validate(o.N()); err != nil {
		return nil, err
	}
	if spec.Steps < 1 || spec.Steps > MaxSteps {
		return nil, fault.Invalid("the training length must be between 1 and 2^53 steps, got %d", spec.Steps)
	}
	if spec.LogEvery <= 0 {
		spec.LogEvery = int64(sgd.StepsPerEpoch(o.N(), spec.Batch))
	}
	if spec.Init != nil {
		if err := checkPoint(o, spec.Init, "the initial parameters"); err != nil {
			return nil, fault.Field("init", err)
		}
	}
	key := keyOf("train", o)
	key.Extra = struct {
		Spec    TrainSpec `json:"spec"`
		Init    string    `json:"init"`
		Version int       `json:"noise_version"` // the noise track's fields
	}{spec, digest(spec.Init), noise.Version}
	return Memo(ctx, env, ensemble.Spec{Kind: "train", Label: label("train", o.Model.Spec(), o.Data.Spec), Key: key,
		Seed: spec.Seed}, func() (*TrainRecord, error) { return train(ctx, env, o, cfg, spec) })
}

func train(ctx context.Context, env Env, o *model.Objective, cfg sgd.Config, spec TrainSpec) (*TrainRecord, error) {
	theta := make([]float64, o.P())
	initName := spec.InitName
	if spec.Init != nil {
		copy(theta, spec.Init)
	} else {
		o.Model.Init(theta, seed.Stream(spec.Seed, seed.Init))
		initName = "model initialisation (seed)"
	}
	spe := int64(sgd.StepsPerEpoch(o.N(), cfg.Batch))
	rec := &TrainRecord{Subject: subjectOf(o), N: o.N(), D: o.Data.D, K: o.K(), P: o.P(),
		Eta: cfg.Eta, Batch: cfg.Batch, Sampling: cfg.Sampling.String(), Momentum: cfg.Momentum, Seed: spec.Seed,
		Init: initName, Conventions: TrainConventions(o.Loss.Name(), cfg.Sampling.String())}
	obs := []sgd.Observation{{Every: max(1, spe), Fn: func(k int64, _ []float64, _ float64) error {
		env.stage("training: epoch %d of %d", k/max(spe, 1), spec.Steps/max(spe, 1))
		return nil
	}}}
	var track *noise.Track
	if spec.NoiseEvery > 0 {
		_, mse := o.Loss.(model.MSE)
		track = noise.NewTrack(o, cfg.Sampling, cfg.Batch, mse && !spec.NoJacobian)
		obs = append(obs, sgd.Observation{Every: spec.NoiseEvery, AtStart: true, Fn: track.Observe})
	}
	if len(spec.Checkpoints) > 0 {
		obs = append(obs, sgd.Observation{Every: 1, AtStart: true, Fn: func(k int64, th []float64, _ float64) error {
			if slices.Contains(spec.Checkpoints, k) {
				rec.Checkpoints = append(rec.Checkpoints, Checkpoint{Step: k, Theta: slices.Clone(th)})
			}
			return nil
		}})
	}
	if spec.Estimate {
		est, err := estimateTraining(o, cfg, spec, theta)
		if err != nil {
			return nil, err
		}
		rec.Estimate = est
		msg := fmt.Sprintf("training: estimated %s per epoch, %s for %d epochs (%s)", seconds(est.EpochSeconds),
			seconds(est.TotalSeconds), spec.Steps/max(spe, 1), est.Basis)
		env.stage("%s", msg)
		if est.TotalSeconds > LongWork && env.Notice != nil {
			env.Notice(msg)
		}
	}
	start := time.Now()
	tr, runErr := sgd.Train(
		ctx,
		o,
		theta,
		cfg,
		spec.Steps,
		spec.LogEvery,
		seed.Stream(spec.Seed, seed.Batches),
		obs...)
	rec.Elapsed = time.Since(start).Seconds()
	rec.Steps, rec.Time, rec.Curve = tr.Steps, tr.Time, tr.Curve
	rec.Epochs = float64(tr.Steps) / float64(max(spe, 1))
	rec.StepsPerSec = float64(tr.Steps) / math.Max(rec.Elapsed, 1e-9)
	if track != nil {
		rec.Noise = track.Finite()
	}
	if n := len(tr.Curve); n > 0 {
		rec.InitialLoss, rec.FinalLoss = num.Float(tr.Curve[0].Loss), num.Float(tr.Curve[n-1].Loss)
	}
	if errors.Is(runErr, fault.ErrDiverged) {
		rec.FinalLoss = num.Float(math.NaN())
	} else {
		rec.Theta = theta
	}
	if runErr != nil {
		rec.Error = runErr.Error()
	}
	return rec, runErr
}

// TrainEstimate is a training run's wall time, predicted before it starts from a few timed
// steps and one timed Noise measurement on a sample of the data (scaled by N / sample).
type TrainEstimate struct {
	StepSeconds  float64 `json:"step_s"`
	NoiseSeconds float64 `json:"noise_s,omitempty"` // one Noise measurement over all N samples
	EpochSeconds float64 `json:"epoch_s"`           // an epoch's steps and its share of measurements
	TotalSeconds float64 `json:"total_s"`
	Basis        string  `json:"basis"`
}

// estimateSteps is the number of SGD steps timed (after one untimed) by estimateTraining.
const estimateSteps = 5

// estimateTraining times steps of SGD from a copy of theta (with its own random stream, so
// that the training run is unchanged) and, when Noise is measured, one measurement on the
// first m samples, m = max(2B, N/100).
func estimateTraining(o *model.Objective, cfg sgd.Config, spec TrainSpec, theta []float64) (*TrainEstimate, error) {
	th := slices.Clone(theta)
	r, err := sgd.New(o, cfg, seed.Stream(spec.Seed, seed.Extra))
	if err != nil {
		return nil, err
	}
	r.Step(th)
	start := time.Now()
	for range estimateSteps {
		r.Step(th)
	}
	est := &TrainEstimate{StepSeconds: time.Since(start).Seconds() / estimateSteps}
	spe := float64(sgd.StepsPerEpoch(o.N(), cfg.Batch))
	est.EpochSeconds = spe * est.StepSeconds
	est.Basis = fmt.Sprintf("%d timed steps", estimateSteps)
	measurements := 0.0
	if spec.NoiseEvery > 0 {
		m := min(o.N(), max(2*cfg.Batch, o.N()/100))
		sub, err := model.NewObjective(o.Model, o.Loss, o.Data.Head(m))
		if err != nil {
			return nil, err
		}
		sub.Ctx = o.Ctx
		_, mse := o.Loss.(model.MSE)
		tr := noise.NewTrack(sub, cfg.Sampling, cfg.Batch, mse && !spec.NoJacobian)
		start := time.Now()
		if err := tr.Observe(0, theta, 0); err != nil {
			return nil, err
		}
		est.NoiseSeconds = time.Since(start).Seconds() * float64(o.N()) / float64(m)
		est.EpochSeconds += est.NoiseSeconds * spe / float64(spec.NoiseEvery)
		measurements = 1 + math.Floor(float64(spec.Steps)/float64(spec.NoiseEvery))
		est.Basis += fmt.Sprintf(" and one Noise measurement on %d of %d samples", m, o.N())
	}
	est.TotalSeconds = float64(spec.Steps)*est.StepSeconds + measurements*est.NoiseSeconds
	return est, nil
}

// seconds formats a duration in seconds for people (s, min or h).
func seconds(s float64) string {
	switch {
	case s < 120:
		return fmt.Sprintf("%.3g s", s)
	case s < 7200:
		return fmt.Sprintf("%.3g min", s/60)
	}
	return fmt.Sprintf("%.3g h", s/3600)
}

// TrainConventions states the conventions of a training record.
func TrainConventions(loss, sampling string) map[string]string {
	c := map[string]string{
		"sampling": sampling + " (" + map[string]string{"epoch": "random partition into floor(N/B) batches per " +
			"epoch, without replacement", "replacement": "B i.i.d. indices per step"}[sampling] + ")",
		"time": "t = eta * steps",
	}
	if loss == "ce" {
		c["loss"] = "L = (1/N) sum_mu -log softmax(f_mu)[y_mu]"
	} else {
		c["loss"] = "L = (1/N) sum_mu 1/2 |f_mu - y_mu|^2 (no averaging over outputs)"
	}
	return c
}

// digest is a short hash of a parameter vector (for store keys; "" for nil).
func digest(v []float64) string {
	if v == nil {
		return ""
	}
	h := sha256.New()
	var b [8]byte
	for _, x := range v {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(x))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}
