package model

import (
	"math"

	"github.com/sgdlab/sgdlab/fault"
)

// Loss is a per-sample loss l(f, y) of a model output f (length K) and target y.
type Loss interface {
	Name() string
	// Eval returns l(f, y) and, if g is not nil, writes dl/df into g.
	Eval(f, y, g []float64) float64
	// Curv writes (d2l/df2) u into out.
	Curv(f, y, u, out []float64)
}

// MSE is the theory's mean-square loss l = 1/2 sum_k (f_k - y_k)^2 (no averaging over outputs).
type MSE struct{}

func (MSE) Name() string { return "mse" }

func (MSE) Eval(f, y, g []float64) float64 {
	s := 0.0
	for k := range f {
		r := f[k] - y[k]
		s += r * r
		if g != nil {
			g[k] = r
		}
	}
	return 0.5 * s
}

func (MSE) Curv(f, y, u, out []float64) { copy(out, u) }

// CrossEntropy is the softmax cross-entropy l = -sum_k y_k log softmax(f)_k, for one-hot
// (or probability-vector) targets.
type CrossEntropy struct{}

func (CrossEntropy) Name() string { return "ce" }

// logSumExp returns max and log sum_k exp(f_k - max).
func logSumExp(f []float64) (float64, float64) {
	m := math.Inf(-1)
	for _, v := range f {
		m = math.Max(m, v)
	}
	s := 0.0
	for _, v := range f {
		s += math.Exp(v - m)
	}
	return m, math.Log(s)
}

func (CrossEntropy) Eval(f, y, g []float64) float64 {
	m, lse := logSumExp(f)
	l, ysum := 0.0, 0.0
	for k := range f {
		l -= y[k] * (f[k] - m - lse)
		ysum += y[k]
	}
	if g != nil {
		for k := range f {
			g[k] = ysum*math.Exp(f[k]-m-lse) - y[k]
		}
	}
	return l
}

func (CrossEntropy) Curv(f, y, u, out []float64) {
	m, lse := logSumExp(f)
	ysum, pu := 0.0, 0.0
	for k := range f {
		ysum += y[k]
		pu += math.Exp(f[k]-m-lse) * u[k]
	}
	for k := range f {
		p := math.Exp(f[k] - m - lse)
		out[k] = ysum * p * (u[k] - pu)
	}
}

// ParseLoss returns the loss named s ("mse" or "ce").
func ParseLoss(s string) (Loss, error) {
	switch s {
	case "", "mse":
		return MSE{}, nil
	case "ce", "crossentropy", "cross-entropy":
		return CrossEntropy{}, nil
	}
	return nil, fault.Invalid("unknown loss %q: use mse or ce", s)
}
