package sde

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/sgdlab/sgdlab/curvature"
	"github.com/sgdlab/sgdlab/model"

	"github.com/sgdlab/sgdlab/sgd"
)

// Kind names a dynamics.
type Kind int

const (
	SGD          Kind = iota // real SGD (package sgd)
	ExactSDE                 // -grad L dt + sqrt(eta Sigma(theta)) dW, Sigma the exact noise covariance
	Decoupled                // -grad L dt + sqrt(2 eta L H*/B) dW
	LogLandscape             // -grad log L dtau + sqrt(2 eta H*/B) dW_tau, reported in t = int dtau / L
	Langevin                 // -grad L dt + sqrt(2 T) dW, constant noise
)

var kindNames = []string{"sgd", "sde", "decoupled", "logland", "langevin"}

func (k Kind) String() string { return kindNames[k] }

// NoiseFromLoss reports whether the dynamics' noise is the loss's own (SGD, the exact SDE, the
// decoupled SDE): it vanishes with the per-sample losses, so at a minimum with L* = 0 such a
// dynamics stands still.
func (k Kind) NoiseFromLoss() bool { return k == SGD || k == ExactSDE || k == Decoupled }

// ParseKind accepts sgd, sde, decoupled, logland and langevin.
func ParseKind(s string) (Kind, error) {
	for i, n := range kindNames {
		if s == n {
			return Kind(i), nil
		}
	}
	return 0, fmt.Errorf("unknown dynamics %q: use sgd, sde (exact noise), decoupled, logland or langevin", s)
}

// Config describes one dynamics of docs/theory.md, "Dynamics".
type Config struct {
	Kind     Kind
	Eta      float64      // learning rate; SDE time step is Eta/Substeps in t
	Batch    int          // B
	Sampling sgd.Sampling // SGD batches; the exact SDE's noise factor c
	Momentum float64      // SGD only
	Scheme   Scheme       // SDEs: Ito (Euler-Maruyama) or Stratonovich (Heun)
	Substeps int          // SDE steps per SGD step (default 1: one SDE step is one SGD step)
	// HStar factors H* = F F^T at the minimum (decoupled, logland, Hessian-aligned Langevin).
	HStar *curvature.SqrtFactor
	// LStar is L(theta*) and HScalar the typical outlier eigenvalue h* of H*, used for the
	// log-landscape time step and the matched Langevin temperature eta L* h* / B.
	LStar, HScalar float64
	// Temperature of Langevin dynamics; <= 0 means matched to SGD's noise at the minimum.
	Temperature float64
	// LangevinHessian makes the Langevin noise Hessian-aligned, sqrt(2 eta L* H*/B) dW (the
	// constant-noise model behind Arrhenius-type escape formulas), instead of isotropic.
	LangevinHessian bool
	// Eps regularises the log landscape, U = log(L + eps) (needed when L* = 0).
	Eps float64
}

// Dynamics advances parameters in time; every kind reports physical time t (t = eta * steps
// for SGD).
type Dynamics interface {
	// Step advances theta in place and returns the time elapsed.
	Step(theta []float64) float64
	// Loss returns the full-data loss L(theta).
	Loss(theta []float64) float64
}

// LossStepper is implemented by dynamics that can run a stretch of fixed-size steps with a
// loss-threshold check fused into the loop, which escape ensembles use for loss exits
// checked every step. It must behave exactly like Step followed by Loss, step by step.
type LossStepper interface {
	// StepsToLoss performs up to max steps and stops after the first one at which
	// L(theta) > thr or L is NaN; it returns the steps done and whether it stopped so. It
	// adds StepTime to *t after every step (the same sum as a caller adding step by step).
	StepsToLoss(theta []float64, max int64, thr float64, t *float64) (int64, bool)
	// StepTime is the constant time each step adds.
	StepTime() float64
}

// Factory makes independent Dynamics for ensemble members; read-only data (moments, H*
// factor) are shared, buffers are not.
type Factory struct {
	o       *model.Objective
	cfg     Config
	feature *model.FeatureLandscape // nil unless the moment fast path applies
	noisy   bool                    // moments include fourth moments
}

// NewFactory validates cfg for objective o.
func NewFactory(o *model.Objective, cfg Config) (*Factory, error) {
	if err := (sgd.Config{Eta: cfg.Eta, Batch: cfg.Batch, Sampling: cfg.Sampling,
		Momentum: cfg.Momentum}).Validate(o.N()); err != nil {
		return nil, err
	}
	if cfg.Substeps <= 0 {
		cfg.Substeps = 1
	}
	switch cfg.Kind {
	case Decoupled, LogLandscape:
		if cfg.HStar == nil {
			return nil, errors.New("this dynamics needs H* at the minimum (start from a minimum)")
		}
	case Langevin:
		if cfg.LangevinHessian && cfg.HStar == nil {
			return nil, errors.New("Hessian-aligned Langevin noise needs H* at the minimum")
		}
		if cfg.Temperature <= 0 && !(cfg.LStar > 0 && cfg.HScalar > 0) {
			return nil, errors.New(
				"Langevin dynamics needs a temperature, or L* > 0 and h* > 0 at the minimum to match SGD's noise",
			)
		}
	}
	if cfg.Kind == LogLandscape {
		if cfg.Eps < 0 {
			return nil, errors.New("eps must be >= 0")
		}
		if cfg.LStar+cfg.Eps <= 1e-12 {
			return nil, fmt.Errorf(
				"the log-landscape dynamics needs L > 0 along the path, but L* = %.3g: give a regularisation "+
					"eps = E to integrate log(L + E), which is the decoupled SDE with noise 2 eta (L + E) H*/B "+
					"(choose E small against the losses of interest)",
				cfg.LStar,
			)
		}
	}
	f := &Factory{o: o, cfg: cfg}
	f.noisy = cfg.Kind == ExactSDE
	if fl, ok := model.NewFeatureLandscape(o, f.noisy); ok {
		f.feature = fl
	}
	return f, nil
}

// Config returns the validated configuration.
func (f *Factory) Config() Config { return f.cfg }

// NewLandscape returns a loss-and-gradient evaluator with its own buffers (moment-based when possible).
func (f *Factory) NewLandscape() model.Landscape {
	if f.feature != nil {
		return f.feature.Clone()
	}
	return f.o.NewWorker(1, 0)
}

// Temperature is the Langevin temperature in effect: the configured one or the matched
// eta L* h* / B (the frozen-noise temperature of docs/theory.md, "Escape").
func (f *Factory) Temperature() float64 {
	if f.cfg.Temperature > 0 {
		return f.cfg.Temperature
	}
	return f.cfg.Eta * f.cfg.LStar * f.cfg.HScalar / float64(f.cfg.Batch)
}

// New returns a dynamics drawing its randomness from rng.
func (f *Factory) New(rng *rand.Rand) (Dynamics, error) {
	c := f.cfg
	land := f.NewLandscape()
	h := c.Eta / float64(c.Substeps)
	P := f.o.P()
	switch c.Kind {
	case SGD:
		r, err := sgd.New(f.o, sgd.Config{Eta: c.Eta, Batch: c.Batch, Sampling: c.Sampling, Momentum: c.Momentum}, rng)
		if err != nil {
			return nil, err
		}
		dyn := &sgdDyn{r: r, land: land, eta: c.Eta}
		if fl, ok := land.(*model.FeatureLandscape); ok && r.ScalarKernel() {
			q := sgd.Quadratic1{}
			q.C, q.Bv, q.S, dyn.scalar = fl.Scalar()
			dyn.q = q
		}
		return dyn, nil
	case ExactSDE:
		cfac := sgd.NoiseScale(c.Sampling, f.o.N(), c.Batch)
		var s SDE
		if f.feature != nil && P <= model.MaxMomentFeatures {
			s = &exactFeature{fl: f.feature.Clone(), eta: c.Eta, c: cfac, p: P, cov: make([]float64, P*P),
				chol: make([]float64, P*P)}
		} else {
			s = newExactWorker(f.o, c.Eta, cfac)
		}
		return &sdeDyn{in: NewIntegrator(s, c.Scheme, h, rng), land: land, h: h}, nil
	case Decoupled:
		s := &decoupled{land: land, f: c.HStar, eta: c.Eta, batch: c.Batch}
		exit := f.NewLandscape()
		return &sdeDyn{in: NewIntegrator(s, c.Scheme, h, rng), land: exit, h: h,
			scalar: newScalarDecoupled(s, c.Scheme, exit)}, nil
	case LogLandscape:
		s := &decoupled{land: land, f: c.HStar, eta: c.Eta, batch: c.Batch, eps: c.Eps, logScale: true}
		// d tau chosen so that d t = d tau / (L + eps) equals the SGD step at the minimum.
		dtau := h * (c.LStar + c.Eps)
		return &logDyn{in: NewIntegrator(s, c.Scheme, dtau, rng), land: f.NewLandscape(), dtau: dtau, eps: c.Eps}, nil
	case Langevin:
		s := &langevin{land: land, p: P, t: f.Temperature()}
		if c.LangevinHessian {
			s.f = c.HStar
			s.t = c.Eta * c.LStar / float64(c.Batch)
			if c.Temperature > 0 {
				s.t = c.Temperature
			}
		}
		return &sdeDyn{in: NewIntegrator(s, c.Scheme, h, rng), land: f.NewLandscape(), h: h}, nil
	}
	return nil, fmt.Errorf("unknown dynamics %d", c.Kind)
}

// Describe states the dynamics and its conventions in words, for reports.
func (f *Factory) Describe() string {
	c := f.cfg
	switch c.Kind {
	case SGD:
		return fmt.Sprintf("SGD theta -= eta grad L_B, eta=%g, B=%d, sampling %s; t = eta * steps", c.Eta, c.Batch,
			c.Sampling)
	case ExactSDE:
		return fmt.Sprintf(
			"SDE d theta = -grad L dt + sqrt(eta Sigma(theta)) dW, exact Sigma = c (M - g g^T) with c for %s "+
				"sampling (c = %.4g); %s, dt = eta/%d",
			c.Sampling,
			sgd.NoiseScale(c.Sampling, f.o.N(), c.Batch),
			c.Scheme,
			c.Substeps,
		)
	case Decoupled:
		return fmt.Sprintf("SDE d theta = -grad L dt + sqrt(2 eta L(theta) H*/B) dW (H* at the minimum, rank %d); "+
			"%s, dt = eta/%d", c.HStar.R, c.Scheme, c.Substeps)
	case LogLandscape:
		return fmt.Sprintf(
			"SDE d theta = -grad log(L + eps) dtau + sqrt(2 eta H*/B) dW_tau (eps = %g, H* rank %d), t = int "+
				"dtau/(L + eps); %s, dtau = (eta/%d)(L* + eps)",
			c.Eps,
			c.HStar.R,
			c.Scheme,
			c.Substeps,
		)
	case Langevin:
		if c.LangevinHessian {
			return fmt.Sprintf(
				"Langevin d theta = -grad L dt + sqrt(2 eta L* H*/B) dW (constant, Hessian-aligned noise frozen at "+
					"the minimum); %s, dt = eta/%d",
				c.Scheme,
				c.Substeps,
			)
		}
		return fmt.Sprintf("Langevin d theta = -grad L dt + sqrt(2T) dW, T = %.4g; %s, dt = eta/%d", f.Temperature(),
			c.Scheme, c.Substeps)
	}
	return ""
}

type sgdDyn struct {
	r      *sgd.Runner
	land   model.Landscape
	eta    float64
	scalar bool // one-parameter regression: StepsToLoss runs sgd's scalar kernel with q
	q      sgd.Quadratic1
}

func (d *sgdDyn) Step(theta []float64) float64 { d.r.Step(theta); return d.eta }
func (d *sgdDyn) Loss(theta []float64) float64 { return d.land.LossGrad(theta, nil) }
func (d *sgdDyn) StepTime() float64            { return d.eta }

func (d *sgdDyn) StepsToLoss(theta []float64, max int64, thr float64, t *float64) (int64, bool) {
	if d.scalar {
		return d.r.StepsToLoss1(theta, max, d.q, thr, t)
	}
	for k := int64(1); k <= max; k++ {
		d.r.Step(theta)
		*t += d.eta
		if !(d.land.LossGrad(theta, nil) <= thr) {
			return k, true
		}
	}
	return max, false
}

type sdeDyn struct {
	in     *Integrator
	land   model.Landscape
	h      float64
	scalar *scalarDecoupled // nil unless the scalar kernel of kernel.go applies
}

func (d *sdeDyn) Step(theta []float64) float64 { d.in.Step(theta); return d.h }
func (d *sdeDyn) Loss(theta []float64) float64 { return d.land.LossGrad(theta, nil) }

type logDyn struct {
	in        *Integrator
	land      model.Landscape
	dtau, eps float64
}

// Step integrates one tau step and converts it to t with the left-point time change.
func (d *logDyn) Step(theta []float64) float64 {
	l := d.in.Step(theta)
	return d.dtau / math.Max(l+d.eps, 1e-300)
}
func (d *logDyn) Loss(theta []float64) float64 { return d.land.LossGrad(theta, nil) }

// Key identifies the dynamics completely (for run stores): every configuration value and a
// digest of the H* factor. Two factories with equal keys produce identical trajectories
// from equal seeds.
func (f *Factory) Key() any {
	c := f.cfg
	k := struct {
		Algorithm                                int
		Kind, Sampling, Scheme                   string
		Eta, Momentum, LStar, HScalar, Temp, Eps float64
		Batch, Substeps                          int
		LangevinHessian                          bool
		Factor                                   [2]float64
	}{sgd.AlgorithmVersion, c.Kind.String(), c.Sampling.String(), c.Scheme.String(), c.Eta, c.Momentum, c.LStar,
		c.HScalar, c.Temperature, c.Eps, c.Batch, c.Substeps, c.LangevinHessian, [2]float64{}}
	if c.HStar != nil {
		for i, v := range c.HStar.Data {
			k.Factor[0] += v
			k.Factor[1] += v * float64(i+1)
		}
	}
	return k
}
