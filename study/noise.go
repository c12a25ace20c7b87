package study

import (
	"context"
	"errors"
	"fmt"

	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/internal/memory"
	"github.com/sgdlab/sgdlab/landscape"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/noise"
	"github.com/sgdlab/sgdlab/sgd"
)

// NoiseSpec asks for the SGD noise covariance at a point against its approximations.
type NoiseSpec struct {
	Problem
	Theta     []float64 `json:"-"` // the point (nil: the model's initialisation from Seed)
	ThetaName string    `json:"-"`
	Batch     int       `json:"batch"`
	Sampling  string    `json:"sampling"`
	// Minimum says where H* of the (2L/B) H* form is taken: "auto" (descend from Theta when
	// P <= AutoMinimumLimit; a descent that fails skips the form with a note), "none", or
	// "given" with MinimumTheta.
	Minimum      string    `json:"minimum"`
	MinimumTheta []float64 `json:"-"`
	TopK         int       `json:"top_k"`  // eigenvectors in the overlap measure (0: min(5, P-1))
	Probes       int       `json:"probes"` // probes of stochastic estimates (0: 30)
	Fig1         bool      `json:"fig1"`
	Seed         uint64    `json:"seed"`
}

// AutoMinimumLimit is the largest P for which Minimum "auto" searches a minimum.
const AutoMinimumLimit = 20000

// NoiseRecord is the noise analysis at one point.
type NoiseRecord struct {
	Subject
	Theta    string           `json:"theta"`
	Minimum  *landscape.Point `json:"minimum,omitempty"`
	Analysis *noise.Analysis  `json:"analysis"`
	Notes    []string         `json:"notes,omitempty"`
}

// Noise measures the exact noise covariance at the point and compares it with the
// decoupled form (2L/B) G and the Hessian form (2L/B) H*, and computes the paper's Fig. 1
// spectra. With a run store in env the analysis is stored and reused.
func Noise(ctx context.Context, env Env, spec NoiseSpec) (*NoiseRecord, error) {
	o, err := spec.Problem.Build(ctx, env)
	if err != nil {
		return nil, err
	}
	mode, err := sgd.ParseSampling(spec.Sampling)
	if err != nil {
		return nil, err
	}
	if spec.Batch < 1 || spec.Batch > o.N() {
		return nil, fault.Field("batch", fault.Invalid("batch size B = %d must be between 1 and N = %d", spec.Batch,
			o.N()))
	}
	if spec.TopK < 0 || spec.TopK > o.P() {
		return nil, fault.Field("k", fault.Invalid("top-k = %d must be between 1 and P = %d", spec.TopK, o.P()))
	}
	if spec.TopK == 0 {
		spec.TopK = min(5, max(o.P()-1, 1))
	}
	if err := checkProbes(spec.Probes); err != nil {
		return nil, err
	}
	if spec.Probes == 0 {
		spec.Probes = 30
	}
	if err := env.limit().Check("the noise analysis", noiseBytes(o, spec.Probes)); err != nil {
		return nil, err
	}
	theta := spec.Theta
	name := spec.ThetaName
	if theta == nil {
		theta, name = initial(o, spec.Seed), fmt.Sprintf("model initialisation (seed %d)", spec.Seed)
	} else if err := checkPoint(o, theta, "the point"); err != nil {
		return nil, fault.Field("theta", err)
	}
	if spec.Minimum == "given" {
		if err := checkPoint(o, spec.MinimumTheta, "the minimum"); err != nil {
			return nil, fault.Field("minimum", err)
		}
	}
	key := keyOf("noise", o)
	key.Extra = struct {
		Spec    NoiseSpec `json:"spec"`
		Theta   string    `json:"theta"`
		Minimum string    `json:"minimum_theta"`
		Version int       `json:"noise_version"`
	}{spec, digest(theta), digest(spec.MinimumTheta), noise.Version}
	compute := func() (*NoiseRecord, error) { return analyzeNoise(ctx, env, o, mode, theta, name, spec) }
	return Memo(ctx, env, ensemble.Spec{Kind: "noise", Label: label("noise", o.Model.Spec(), o.Data.Spec, name),
		Key: key, Seed: spec.Seed}, compute)
}

// noiseBytes estimates the analysis's memory: dense P x P covariances for small P, the
// N x N Gram route or probe vectors otherwise.
func noiseBytes(o *model.Objective, probes int) int64 {
	P, NK := int64(o.P()), int64(o.N()*o.K())
	if P <= noise.DenseLimit {
		return memory.Add(workerBytes(o), memory.Floats(6, P, P))
	}
	return memory.Add(workerBytes(o), memory.Floats(4, min(NK, 20000), min(NK, 20000)),
		memory.Floats(int64(probes)+20, P))
}

func analyzeNoise(ctx context.Context, env Env, o *model.Objective, mode sgd.Sampling, theta []float64, name string,
	spec NoiseSpec) (*NoiseRecord, error) {
	w := o.NewWorker(2, 0)
	rec := &NoiseRecord{Subject: subjectOf(o), Theta: name}
	opt := noise.AnalyzeOptions{TopK: spec.TopK, Probes: spec.Probes, Fig1: spec.Fig1, Seed: spec.Seed,
		Progress: env.Stage}
	switch {
	case spec.Minimum == "given":
		if err := checkMinimum(w, spec.MinimumTheta); err != nil {
			return nil, fault.Field("minimum", fault.AsInvalid(fmt.Errorf("the minimum: %w", err)))
		}
		opt.WStar, opt.ThetaStar = w, spec.MinimumTheta
	case spec.Minimum == "auto" && o.P() <= AutoMinimumLimit:
		env.stage("finding the minimum for H*")
		p, err := landscape.Minimize(ctx, w, theta, landscape.MinimizeOptions{})
		if err == nil {
			err = checkMinimum(w, p.Theta) // a descent can stop on a saddle
		}
		switch {
		case errors.Is(err, context.Canceled):
			return nil, err
		case err != nil:
			rec.Notes = append(
				rec.Notes,
				"the Hessian form (2L/B) H* is not measured: the descent from the point found no minimum ("+
					err.Error()+"); give a minimum to compare with it",
			)
		default:
			rec.Minimum = &p
			opt.WStar, opt.ThetaStar = w, p.Theta
		}
	case spec.Minimum == "auto":
		rec.Notes = append(
			rec.Notes,
			fmt.Sprintf(
				"the Hessian form (2L/B) H* is not measured: P = %d is above the automatic minimum search's limit "+
					"%d; give a minimum",
				o.P(),
				AutoMinimumLimit,
			),
		)
	case spec.Minimum != "none":
		return nil, fault.Invalid("minimum %q: use auto, none or given", spec.Minimum)
	}
	a, err := noise.NewState(w, theta, mode, spec.Batch).Analyze(opt)
	if ctx.Err() != nil {
		return nil, ctx.Err() // the passes stopped working: the numbers are meaningless
	}
	rec.Analysis = a
	return rec, err
}

// checkMinimum refuses an H* point that is not a minimum (a stationary point with negative
// curvature gives a Hessian form of negative trace), where the Hessian is formed densely.
func checkMinimum(w *model.Worker, theta []float64) error {
	if len(theta) > landscape.DenseHessianLimit {
		return nil
	}
	_, err := landscape.Characterize(w, theta, 1)
	return err
}
