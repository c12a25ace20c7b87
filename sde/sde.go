// Package sde simulates the continuous-time models of SGD (docs/theory.md, "Dynamics") and
// Langevin dynamics, side by side with SGD itself: an SDE is a drift and a diffusion
// callback, integrated by Euler-Maruyama (Ito) or the stochastic Heun scheme
// (Stratonovich). The Dynamics interface puts SGD and every SDE behind one Step method
// that reports the physical time t elapsed, so ensembles and samplers treat them alike.
package sde

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// SDE is d theta = a(theta) dt + b(theta) dW, with W of dimension NoiseDim.
type SDE interface {
	Dim() int
	NoiseDim() int
	// Eval writes the drift a(theta) into drift and b(theta) xi into diff for the standard
	// normal vector xi (length NoiseDim), and returns L(theta).
	Eval(theta, xi, drift, diff []float64) float64
}

// Scheme is the stochastic integration rule.
type Scheme int

const (
	// Ito is Euler-Maruyama: theta += a h + b sqrt(h) xi, the Ito reading of the SDE.
	Ito Scheme = iota
	// Stratonovich is the stochastic Heun predictor-corrector, which converges to the
	// Stratonovich solution: with multiplicative noise the stationary exponent phi loses 1/2.
	Stratonovich
)

func (s Scheme) String() string {
	if s == Stratonovich {
		return "stratonovich (stochastic Heun)"
	}
	return "ito (Euler-Maruyama)"
}

// ParseScheme accepts "ito" and "stratonovich".
func ParseScheme(s string) (Scheme, error) {
	switch s {
	case "", "ito", "em", "euler-maruyama":
		return Ito, nil
	case "stratonovich", "heun":
		return Stratonovich, nil
	}
	return 0, fmt.Errorf("unknown scheme %q: use ito or stratonovich", s)
}

// Integrator advances an SDE by steps of size H. It owns its buffers and generator.
type Integrator struct {
	S      SDE
	Scheme Scheme
	H      float64
	rng    *rand.Rand
	xi     []float64
	a, b   []float64
	a2, b2 []float64
	pred   []float64
}

// NewIntegrator returns an integrator of s with step h drawing noise from rng.
func NewIntegrator(s SDE, scheme Scheme, h float64, rng *rand.Rand) *Integrator {
	n := s.Dim()
	return &Integrator{S: s, Scheme: scheme, H: h, rng: rng, xi: make([]float64, s.NoiseDim()),
		a: make([]float64, n), b: make([]float64, n), a2: make([]float64, n), b2: make([]float64, n),
		pred: make([]float64, n)}
}

// Step advances theta in place by one step of size H and returns L at the starting point.
func (in *Integrator) Step(theta []float64) float64 {
	for i := range in.xi {
		in.xi[i] = in.rng.NormFloat64()
	}
	l := in.S.Eval(theta, in.xi, in.a, in.b)
	h, sh := in.H, math.Sqrt(in.H)
	if in.Scheme == Ito {
		for i := range theta {
			theta[i] += in.a[i]*h + in.b[i]*sh
		}
		return l
	}
	for i := range theta {
		in.pred[i] = theta[i] + in.a[i]*h + in.b[i]*sh
	}
	in.S.Eval(in.pred, in.xi, in.a2, in.b2)
	for i := range theta {
		theta[i] += 0.5*(in.a[i]+in.a2[i])*h + 0.5*(in.b[i]+in.b2[i])*sh
	}
	return l
}
