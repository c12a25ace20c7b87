// Package study is the layer the command-line tool and the experiments share: each study
// (train, noise, spectrum, barrier, stationary, escape, chain) takes a plain description of
// what to compute, builds the chain of objects it needs (data, model, minimum, dynamics,
// exit, ensemble), runs it through the run store and returns a record. Because the CLI and
// `reproduce` call the same functions with the same descriptions, the same computation has
// the same store key from both, and a result computed by one is reused by the other.
package study

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/internal/memory"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/sde"
	"github.com/sgdlab/sgdlab/sgd"
)

// Env is what every study runs with.
type Env struct {
	Ens  ensemble.Env
	Data data.Options
	// MaxMemory caps what a study may allocate (bytes; 0: the memory available): requests
	// estimated above it are refused before any work.
	MaxMemory int64
	// Stage, if set, receives progress messages ("finding the minimum", ...).
	Stage func(msg string)
	// Notice, if set, receives the few messages worth a line even off a terminal: the
	// estimated wall time of work expected to take longer than LongWork.
	Notice func(msg string)
}

// LongWork is the estimated wall time (s) above which a study announces it through Notice.
const LongWork = 600

func (e Env) stage(format string, args ...any) {
	if e.Stage != nil {
		e.Stage(fmt.Sprintf(format, args...))
	}
}

func (e Env) limit() memory.Limit { return memory.Limit{Cap: e.MaxMemory} }

// Problem names a model, a dataset and a loss by their spec strings.
type Problem struct {
	Model string `json:"model"`
	Data  string `json:"data"`
	Loss  string `json:"loss"`
}

// Build loads the data and returns the objective, refusing (before allocating) data or
// models that do not fit in memory. Its full-data passes stop working once ctx is
// cancelled (model.Objective.Ctx).
func (p Problem) Build(ctx context.Context, env Env) (*model.Objective, error) {
	opt := env.Data
	if opt.MaxBytes == 0 {
		opt.MaxBytes = env.MaxMemory
	}
	d, err := data.Load(p.Data, opt)
	if err != nil {
		return nil, err
	}
	o, err := model.Build(p.Model, p.Loss, d)
	if err != nil {
		return nil, err
	}
	o.Ctx = ctx
	return o, env.limit().Check("model "+o.Model.Spec()+" on "+d.Spec, workerBytes(o))
}

// workerBytes estimates the memory of a model's parameters, gradients and the buffers of a
// full-data Worker (two lanes of DefaultChunk samples, a few activation-sized buffers per
// layer), which every study needs.
func workerBytes(o *model.Objective) int64 {
	P := int64(o.P())
	act := int64(o.Data.D + 8*o.K())
	chunk := int64(model.DefaultChunk)
	switch m := o.Model.(type) {
	case *model.MLP:
		for _, w := range m.Widths {
			act = memory.Add(act, memory.Mul(6, int64(w)))
		}
	case *model.CNN:
		// Four buffer sets (values, tangents, gradients and theirs) of every operation, and
		// one sample's im2col patches per convolution and lane.
		act = memory.Add(act, memory.Mul(4, int64(m.ActivationValues())))
		chunk = int64(m.PreferredChunk())
		P = memory.Add(P, int64(m.ScratchValues())/4)
	}
	return memory.Floats(memory.Add(memory.Mul(8, P), memory.Mul(2*chunk, act)))
}

// Subject names what a record is about: the model, the data and the loss (canonical specs).
type Subject struct {
	Model string `json:"model"`
	Data  string `json:"data"`
	Loss  string `json:"loss"`
}

func subjectOf(o *model.Objective) Subject {
	return Subject{Model: o.Model.Spec(), Data: o.Data.Spec, Loss: o.Loss.Name()}
}

// Dynamics describes SGD or one of its SDE models (docs/theory.md, "Dynamics").
type Dynamics struct {
	Kind            string  `json:"kind"`     // sgd, sde, decoupled, logland, langevin
	Eta             float64 `json:"eta"`      // learning rate (also the time of one step)
	Batch           int     `json:"batch"`    // B
	Sampling        string  `json:"sampling"` // epoch or replacement
	Momentum        float64 `json:"momentum,omitempty"`
	Scheme          string  `json:"scheme,omitempty"`   // ito or stratonovich (SDEs)
	Substeps        int     `json:"substeps,omitempty"` // SDE steps per SGD step (0: 1)
	Eps             float64 `json:"eps,omitempty"`      // log-landscape regularisation
	Temperature     float64 `json:"temperature,omitempty"`
	LangevinHessian bool    `json:"langevin_hessian,omitempty"`
}

// config turns the description into a validated sde configuration (without H*).
func (d Dynamics) config() (sde.Config, error) {
	kind, err := sde.ParseKind(d.Kind)
	if err != nil {
		return sde.Config{}, fault.AsInvalid(err)
	}
	samp, err := sgd.ParseSampling(d.Sampling)
	if err != nil {
		return sde.Config{}, fault.AsInvalid(err)
	}
	scheme, err := sde.ParseScheme(d.Scheme)
	if err != nil {
		return sde.Config{}, fault.AsInvalid(err)
	}
	for _, v := range []struct {
		name string
		x    float64
	}{{"eps", d.Eps}, {"temperature", d.Temperature}, {"momentum", d.Momentum}} {
		if math.IsNaN(v.x) || math.IsInf(v.x, 0) || v.x < 0 {
			return sde.Config{}, fault.Invalid("%s = %v must be a finite number >= 0", v.name, v.x)
		}
	}
	if d.Substeps < 0 {
		return sde.Config{}, fault.Invalid("substeps = %d must be at least 1", d.Substeps)
	}
	// An option of another dynamics would be ignored silently: refuse it instead.
	for _, o := range []struct {
		field string // the option's field name (its flag on the command line)
		set   bool
		kinds []sde.Kind
	}{{"momentum", d.Momentum != 0, []sde.Kind{sde.SGD}},
		{"substeps", d.Substeps > 1, []sde.Kind{sde.ExactSDE, sde.Decoupled, sde.LogLandscape, sde.Langevin}},
		{"eps", d.Eps != 0, []sde.Kind{sde.LogLandscape}},
		{"temperature", d.Temperature != 0, []sde.Kind{sde.Langevin}},
		{"langevin-noise", d.LangevinHessian, []sde.Kind{sde.Langevin}}} {
		if o.set && !slices.Contains(o.kinds, kind) {
			names := make([]string, len(o.kinds))
			for i, k := range o.kinds {
				names[i] = k.String()
			}
			return sde.Config{}, fault.Field(o.field, fault.Invalid("this option applies to the dynamics %s, not "+
				"to %s: drop it or choose one of those dynamics", strings.Join(names, ", "), kind))
		}
	}
	return sde.Config{Kind: kind, Eta: d.Eta, Batch: d.Batch, Sampling: samp, Momentum: d.Momentum, Scheme: scheme,
		Substeps: d.Substeps, Temperature: d.Temperature, LangevinHessian: d.LangevinHessian, Eps: d.Eps}, nil
}

// Key identifies a stored computation: everything that determines its results except the
// seed and the ensemble size. Studies fill the fields that apply to them.
type Key struct {
	Study    string    `json:"study"`
	Model    string    `json:"model"`
	Data     string    `json:"data"`
	Loss     string    `json:"loss"`
	Dynamics any       `json:"dynamics,omitempty"`
	Start    []float64 `json:"start,omitempty"`
	Exit     string    `json:"exit,omitempty"`
	MaxSteps int64     `json:"max_steps,omitempty"`
	Samples  int       `json:"samples,omitempty"`
	Every    int64     `json:"every,omitempty"`
	Burn     int64     `json:"burn,omitempty"`
	Valley   bool      `json:"valley,omitempty"`
	A        float64   `json:"a,omitempty"`
	Extra    any       `json:"extra,omitempty"`
}

func keyOf(kind string, o *model.Objective) Key {
	return Key{Study: kind, Model: o.Model.Spec(), Data: o.Data.Spec, Loss: o.Loss.Name()}
}

// checkProbes accepts 0 (the default) or at least two probes of a stochastic estimate: one
// probe gives an estimate without a standard error.
func checkProbes(p int) error {
	if p < 0 || p == 1 {
		return fault.Field("probes", fault.Invalid("probes = %d: a stochastic estimate needs at least 2 probes for "+
			"its standard error (0: the default 30)", p))
	}
	return nil
}

// label is a short description of a stored run for `sgdlab runs`.
func label(parts ...string) string { return strings.Join(parts, " ") }

// Memo returns compute's result from the run store when env has one and it was stored under
// spec (kind, key) before, and otherwise computes it and stores it: for deterministic
// measurements that are not ensembles (a training run, a noise analysis, a chain solution, an
// experiment's exact-chain cell or sweep point), so that a rerun on the same store recomputes
// nothing. spec.Key must be JSON and identify everything the result depends on (versions of
// the algorithms included); T must survive a JSON round trip (num.Float for numbers that may
// be NaN). A compute error is returned as is and nothing is stored. Without a store it
// computes.
func Memo[T any](ctx context.Context, env Env, spec ensemble.Spec, compute func() (T, error)) (T, error) {
	if env.Ens.Store == nil {
		return compute()
	}
	var runErr error
	v, _, err := ensemble.Once(ctx, env.Ens, spec, func() (T, error) {
		v, err := compute()
		if err != nil {
			runErr = err
			return v, errPartial
		}
		return v, nil
	})
	if errors.Is(err, errPartial) {
		err = runErr
	}
	return v, err
}

// errPartial stops a memoised computation that failed (its error is kept apart).
var errPartial = errors.New("partial result")
