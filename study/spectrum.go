package study

import (
	"context"
	"errors"
	"math"

	"github.com/sgdlab/sgdlab/curvature"
	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/internal/memory"
	"github.com/sgdlab/sgdlab/landscape"
	"github.com/sgdlab/sgdlab/seed"
)

// SpectrumSpec asks for the Hessian (or Gauss-Newton) spectrum at a point.
type SpectrumSpec struct {
	Problem
	Theta     []float64 // the point (nil: the minimum found from the model's initialisation)
	ThetaName string
	Matrix    string    // hessian or gn
	K         int       // top and bottom eigenpairs (0: min(10, P))
	Probes    int       // probes of traces and the density (0: 30)
	Steps     int       // Lanczos steps per density probe (0: 80)
	MaxIter   int       // Lanczos iteration limit (0: automatic)
	MaddoxZ   []float64 // z values of sum lambda/(lambda + z)
	Blocks    bool      // per-layer analysis
	Evals     int       // evaluations allowed in the minimum search (0: 5000)
	Seed      uint64
}

// SpectrumRecord is the spectral analysis at one point.
type SpectrumRecord struct {
	Subject
	Matrix   string              `json:"matrix"`
	Theta    string              `json:"theta"`
	Point    *landscape.Point    `json:"point"`
	Analysis *curvature.Analysis `json:"analysis"`
	Notes    []string            `json:"notes,omitempty"`
}

// Spectrum runs Lanczos (top and bottom eigenpairs), power iteration, Hutchinson and
// Hutch++ traces, the SLQ density, the effective dimension and per-layer traces. A Lanczos
// run that does not converge is returned with the record and an error wrapping
// curvature.ErrNotConverged.
func Spectrum(ctx context.Context, env Env, spec SpectrumSpec) (*SpectrumRecord, error) {
	o, err := spec.Problem.Build(ctx, env)
	if err != nil {
		return nil, err
	}
	P := o.P()
	if spec.K < 0 || spec.K > P {
		return nil, fault.Field("k", fault.Invalid("k = %d must be between 1 and the number of parameters P = %d",
			spec.K, P))
	}
	if spec.K == 0 {
		spec.K = min(10, P)
	}
	if spec.Steps < 0 || spec.MaxIter < 0 || spec.Evals < 0 {
		return nil, fault.Invalid("steps, iteration and evaluation limits must be positive")
	}
	if err := checkProbes(spec.Probes); err != nil {
		return nil, err
	}
	for _, z := range spec.MaddoxZ {
		if !(z > 0) || math.IsInf(z, 0) {
			return nil, fault.Invalid("Maddox z = %v must be a positive finite number", z)
		}
	}
	if spec.Matrix != "hessian" && spec.Matrix != "gn" {
		return nil, fault.Invalid("matrix %q: use hessian or gn", spec.Matrix)
	}
	// Lanczos keeps its basis (up to a few hundred vectors of length P) and the probes.
	vecs := int64(max(spec.Probes, 30) + 4*spec.K + max(spec.MaxIter, 300))
	if err := env.limit().Check("the spectrum analysis", memory.Add(workerBytes(o), memory.Floats(vecs,
		int64(P)))); err != nil {
		return nil, err
	}
	w := o.NewWorker(2, 0)
	rec := &SpectrumRecord{Subject: subjectOf(o), Matrix: spec.Matrix}
	theta := spec.Theta
	if theta != nil {
		if err := checkPoint(o, theta, "the point"); err != nil {
			return nil, fault.Field("theta", err)
		}
		rec.Theta = spec.ThetaName
		p := landscape.Point{Method: "given"}
		g := make([]float64, P)
		p.Loss = w.LossGrad(theta, g)
		p.GradNorm = math.Sqrt(dot(g, g))
		rec.Point = &p
	} else {
		env.stage("finding the minimum")
		p, err := landscape.Minimize(ctx, w, initial(o, spec.Seed), landscape.MinimizeOptions{MaxEvals: spec.Evals})
		if err != nil {
			if p.Theta == nil || errors.Is(err, context.Canceled) {
				return nil, notCancelled(err, "finding the minimum: %w")
			}
			rec.Notes = append(rec.Notes, "not at a minimum: "+err.Error())
		}
		theta = p.Theta
		rec.Theta = "minimum (" + p.Method + ")"
		rec.Point = &p
	}
	op := curvature.Hessian(w, theta)
	if spec.Matrix == "gn" {
		op = curvature.GaussNewton(w, theta)
	}
	opt := curvature.AnalyzeOptions{K: spec.K, Probes: spec.Probes, Steps: spec.Steps, MaddoxZ: spec.MaddoxZ,
		MaxIter: spec.MaxIter, Rand: seed.Stream(spec.Seed, seed.Extra), Progress: env.Stage}
	if spec.Blocks {
		for _, b := range o.Model.Blocks() {
			opt.Blocks = append(opt.Blocks, curvature.BlockSpec{Name: b.Name, Off: b.Off, Len: b.Len})
		}
	}
	a, err := curvature.Analyze(op, opt)
	if ctx.Err() != nil {
		return nil, ctx.Err() // the passes stopped working: the numbers are meaningless
	}
	rec.Analysis = a
	return rec, err
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i, x := range a {
		s += x * b[i]
	}
	return s
}
