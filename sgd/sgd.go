// Package sgd runs stochastic gradient descent exactly as docs/theory.md ("Conventions") defines it:
// theta_{k+1} = theta_k - eta grad L_B(theta_k), with mini-batches drawn either as a random
// partition of the data into N/B batches per epoch (without replacement, the paper's
// setting) or as B i.i.d. indices per step (with replacement). Physical time is t = eta k.
package sgd

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/model"
)

// Sampling is how mini-batches are drawn.
type Sampling int

const (
	// Epoch partitions a fresh random permutation of the N samples into floor(N/B)
	// batches of B (the N mod B left-over samples of each permutation are skipped).
	Epoch Sampling = iota
	// Replacement draws B indices independently and uniformly at every step.
	Replacement
)

func (s Sampling) String() string {
	if s == Replacement {
		return "replacement"
	}
	return "epoch"
}

// ParseSampling accepts "epoch" (or "without") and "replacement" (or "with").
func ParseSampling(s string) (Sampling, error) {
	switch s {
	case "", "epoch", "without", "without-replacement":
		return Epoch, nil
	case "replacement", "with", "with-replacement":
		return Replacement, nil
	}
	return 0, fault.Invalid("unknown sampling %q: use epoch (random partition, the paper's setting) or replacement", s)
}

// Sampler draws mini-batch index sets. It reuses its buffers: the slice returned by Next
// is valid until the following call.
type Sampler struct {
	mode Sampling
	n, b int
	perm []int
	pos  int
	rng  *rand.Rand
	idx  []int
}

// NewSampler returns a sampler of batches of b out of n samples.
func NewSampler(mode Sampling, n, b int, rng *rand.Rand) *Sampler {
	s := &Sampler{mode: mode, n: n, b: b, rng: rng, idx: make([]int, b)}
	if mode == Epoch {
		s.perm = make([]int, n)
		for i := range s.perm {
			s.perm[i] = i
		}
		s.pos = n // forces a shuffle on the first call
	}
	return s
}

// Next returns the indices of the next mini-batch.
func (s *Sampler) Next() []int {
	if s.mode == Replacement {
		for i := range s.idx {
			s.idx[i] = s.rng.IntN(s.n)
		}
		return s.idx
	}
	if s.pos+s.b > s.n {
		s.rng.Shuffle(s.n, func(i, j int) { s.perm[i], s.perm[j] = s.perm[j], s.perm[i] })
		s.pos = 0
	}
	b := s.perm[s.pos : s.pos+s.b]
	s.pos += s.b
	return b
}

// NoiseScale is the sampling constant c in the mini-batch noise covariance
// Sigma = c (M - g g^T) (docs/theory.md, "SGD noise"): 1/B with replacement,
// (N-B) / (B (N-1)) without (epoch sampling); the two agree at B = 1.
func NoiseScale(mode Sampling, n, b int) float64 {
	if mode == Replacement || n == 1 {
		return 1 / float64(b)
	}
	return float64(n-b) / (float64(b) * float64(n-1))
}

// StepsPerEpoch is floor(N/B): the number of SGD steps in one pass over the data.
func StepsPerEpoch(n, b int) int { return n / b }

// Config holds the hyperparameters of an SGD run.
type Config struct {
	Eta      float64  // learning rate, > 0
	Batch    int      // mini-batch size B, 1 <= B <= N
	Sampling Sampling // Epoch or Replacement
	// Momentum mu in [0, 1): heavy ball v <- mu v + grad L_B, theta <- theta - eta v
	// (PyTorch's convention). Zero is plain SGD, the dynamics docs/theory.md describes.
	Momentum float64
	// DivergeFactor: a mini-batch loss above DivergeFactor * max(L(theta_0), 1), or any
	// non-finite loss or parameter, stops the run as diverged. Zero means 1e8.
	DivergeFactor float64
}

// Validate checks the configuration against a dataset of n samples.
func (c Config) Validate(n int) error {
	if !(c.Eta > 0) || math.IsInf(c.Eta, 0) {
		return fault.Field("eta", fault.Invalid("learning rate eta = %v must be a positive finite number", c.Eta))
	}
	if c.Batch < 1 {
		return fault.Field("batch", fault.Invalid("batch size B = %d must be at least 1", c.Batch))
	}
	if c.Batch > n {
		return fault.Field("batch", fault.Invalid("batch size B = %d is larger than the dataset (N = %d): choose B "+
			"<= N", c.Batch, n))
	}
	if !(c.Momentum >= 0 && c.Momentum < 1) {
		return fault.Field("momentum", fault.Invalid("momentum %v must be in [0, 1)", c.Momentum))
	}
	return nil
}

// DivergenceError reports a run stopped because the loss or the parameters blew up.
type DivergenceError struct {
	Step  int64
	Loss  float64
	Eta   float64
	Batch int
	// Full says that Loss is the full-data loss after the step (the last step of a run),
	// not the mini-batch loss of the step.
	Full bool
}

// Is makes a DivergenceError match fault.ErrDiverged.
func (e *DivergenceError) Is(target error) bool { return target == fault.ErrDiverged }

func (e *DivergenceError) Error() string {
	loss := fmt.Sprintf("%.4g", e.Loss)
	if math.IsNaN(e.Loss) || math.IsInf(e.Loss, 0) {
		loss = "not finite"
	}
	what := "mini-batch loss " + loss
	if e.Full {
		what = "the full-data loss after it is " + loss
	}
	return fmt.Sprintf("SGD diverged at step %d (t = %g): %s with eta = %g, B = %d; lower eta or raise B",
		e.Step, float64(e.Step)*e.Eta, what, e.Eta, e.Batch)
}

// Observer is called with the step count k (after k updates), the current parameters
// (read-only, valid only during the call) and the last mini-batch loss. Returning an error
// stops the run; returning Stop ends it without error.
type Observer func(step int64, theta []float64, batchLoss float64) error

// Stop may be returned by an Observer to end a run early without an error.
var Stop = errors.New("stop")

// Observation calls Fn every Every steps (and at step 0 when AtStart is set).
type Observation struct {
	Every   int64
	AtStart bool
	Fn      Observer
}

// AlgorithmVersion changes whenever the same seed would give a different trajectory
// (run stores include it in their keys, so that old records are not mixed with new ones).
//
// Version 4: one-input linear regression with batch 1 steps by the affine map
// theta -> (1 - eta x^2) theta + eta x y (one multiply-add) instead of
// theta - eta (theta x - y) x: the same map, rounded differently.
const AlgorithmVersion = 4

// Runner performs SGD steps on one objective. It owns all per-step buffers, so Step does
// not allocate. A Runner is not safe for concurrent use; ensembles make one per worker.
type Runner struct {
	cfg     Config
	obj     *model.Objective
	w       *model.Worker
	sampler *Sampler
	grad    []float64
	vel     []float64
	limit   float64
	fast    *featureBatch // nil unless the model is FeatureLinear with the MSE loss
}

// New returns a Runner for obj drawing its batches from rng.
func New(obj *model.Objective, cfg Config, rng *rand.Rand) (*Runner, error) {
	if err := cfg.Validate(obj.N()); err != nil {
		return nil, err
	}
	if cfg.DivergeFactor == 0 {
		cfg.DivergeFactor = 1e8
	}
	affine := cfg.Eta // the affine rows apply to plain SGD only
	if cfg.Momentum > 0 {
		affine = 0
	}
	r := &Runner{cfg: cfg, obj: obj, grad: make([]float64, obj.P()), limit: math.Inf(1),
		fast: newFeatureBatch(obj, cfg.Sampling, cfg.Batch, rng, affine)}
	if r.fast == nil {
		r.w = obj.NewWorker(1, cfg.Batch)
		r.sampler = NewSampler(cfg.Sampling, obj.N(), cfg.Batch, rng)
	}
	if cfg.Momentum > 0 {
		r.vel = make([]float64, obj.P())
	}
	return r, nil
}

// Config returns the run's configuration.
func (r *Runner) Config() Config { return r.cfg }

// SetLimit sets the loss above which a step counts as divergence (see Config.DivergeFactor).
func (r *Runner) SetLimit(initialLoss float64) {
	r.limit = r.cfg.DivergeFactor * math.Max(initialLoss, 1)
}

// Step performs one SGD update of theta in place and returns the mini-batch loss at the
// parameters before the update.
func (r *Runner) Step(theta []float64) float64 {
	var lb float64
	if r.fast != nil && r.fast.affine {
		return r.fast.affineStep(theta)
	}
	if r.fast != nil {
		lb = r.fast.lossGrad(theta, r.grad)
	} else {
		lb = r.w.BatchLossGrad(theta, r.sampler.Next(), r.grad)
	}
	eta := r.cfg.Eta
	if r.vel != nil {
		mu := r.cfg.Momentum
		for i, g := range r.grad {
			r.vel[i] = mu*r.vel[i] + g
			theta[i] -= eta * r.vel[i]
		}
		return lb
	}
	for i, g := range r.grad {
		theta[i] -= eta * g
	}
	return lb
}

// Result summarises a finished (or stopped) run.
type Result struct {
	Steps     int64   // updates performed
	Time      float64 // t = eta * Steps
	BatchLoss float64 // last mini-batch loss
	Stopped   bool    // an observer returned Stop
}

// Run performs up to steps updates of theta in place, calling the observers on schedule.
// It stops early when ctx is cancelled (returning ctx.Err() with the partial result), when
// an observer asks to, or when the run diverges (*DivergenceError).
func (r *Runner) Run(ctx context.Context, theta []float64, steps int64, obs ...Observation) (Result, error) {
	if r.limit == math.Inf(1) {
		if r.w == nil {
			r.w = r.obj.NewWorker(1, r.cfg.Batch) // the fast path needs one only here
		}
		r.SetLimit(r.w.Loss(theta))
	}
	res := Result{}
	call := func(k int64, lb float64) error {
		for _, o := range obs {
			if (k == 0 && o.AtStart) || (k > 0 && o.Every > 0 && k%o.Every == 0) {
				if err := o.Fn(k, theta, lb); err != nil {
					return err
				}
			}
		}
		return nil
	}
	finish := func(k int64, lb float64, err error) (Result, error) {
		res.Steps, res.Time, res.BatchLoss = k, float64(k)*r.cfg.Eta, lb
		if errors.Is(err, Stop) {
			res.Stopped = true
			err = nil
		}
		return res, err
	}
	if err := call(0, math.NaN()); err != nil {
		return finish(0, math.NaN(), err)
	}
	lb := math.NaN()
	for k := int64(1); k <= steps; k++ {
		lb = r.Step(theta)
		if !(lb <= r.limit) || (k&1023 == 0 && !finite(theta)) {
			return finish(k, lb, &DivergenceError{Step: k, Loss: lb, Eta: r.cfg.Eta, Batch: r.cfg.Batch})
		}
		if len(obs) > 0 {
			if err := call(k, lb); err != nil {
				return finish(k, lb, err)
			}
		}
		if k&63 == 0 && ctx.Err() != nil {
			return finish(k, lb, ctx.Err())
		}
	}
	if !finite(theta) {
		return finish(steps, lb, &DivergenceError{Step: steps, Loss: math.NaN(), Eta: r.cfg.Eta, Batch: r.cfg.Batch})
	}
	return finish(steps, lb, nil)
}

func finite(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
