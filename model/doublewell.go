package model

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// DoubleWell is the regression model f(theta, x) = x_1 (theta_1^2 - a) + sum_{j>=2} x_j theta_j.
// With x ~ N(0, I_n) and pure-noise labels y ~ N(0, sigma^2) its large-N loss is
// L = 1/2 [(theta_1^2 - a)^2 + sum_{j>=2} theta_j^2 + sigma^2]: two minima theta_1 = +-sqrt(a)
// with L* = sigma^2/2 joined through the index-1 saddle theta_1 = 0 with L^s = (a^2 + sigma^2)/2,
// so the label noise sets L* while Delta L = a^2/2 stays fixed. Hessian at the minima:
// diag(4a, 1, ..., 1) (isotropic, h* = 1, for a = 1/4); at the saddle theta_1 has
// curvature -2a and the others 1.
type DoubleWell struct {
	A float64
	N int // input dimension = number of parameters
}

func (m *DoubleWell) Spec() string   { return fmt.Sprintf("doublewell:a=%g", m.A) }
func (m *DoubleWell) NumParams() int { return m.N }
func (m *DoubleWell) InDim() int     { return m.N }
func (m *DoubleWell) OutDim() int    { return 1 }
func (m *DoubleWell) Blocks() []Block {
	bs := []Block{{Name: "well", Off: 0, Len: 1}}
	if m.N > 1 {
		bs = append(bs, Block{Name: "harmonic", Off: 1, Len: m.N - 1})
	}
	return bs
}

// Init places theta at the large-N minimum (+sqrt(a), 0, ..., 0).
func (m *DoubleWell) Init(theta []float64, rng *rand.Rand) {
	clear(theta[:m.N])
	theta[0] = math.Sqrt(m.A)
}

type dwEval struct {
	m     *DoubleWell
	maxB  int
	b     int
	theta []float64
	x     []float64
	v     []float64
}

func (m *DoubleWell) NewEval(maxBatch int) Eval { return &dwEval{m: m, maxB: maxBatch} }

func (e *dwEval) Forward(theta, X []float64, b int, F []float64) {
	if b > e.maxB {
		panic(fmt.Sprintf("model: batch %d exceeds evaluator capacity %d", b, e.maxB))
	}
	e.theta, e.x, e.b = theta, X, b
	n := e.m.N
	w := theta[0]*theta[0] - e.m.A
	for i := 0; i < b; i++ {
		x := X[i*n : (i+1)*n]
		f := x[0] * w
		for j := 1; j < n; j++ {
			f += x[j] * theta[j]
		}
		F[i] = f
	}
}

// grad f_i = (2 theta_1 x_1, x_2, ..., x_n).
func (e *dwEval) Backward(dF, grad []float64) {
	n := e.m.N
	t0 := 2 * e.theta[0]
	for i := 0; i < e.b; i++ {
		x := e.x[i*n : (i+1)*n]
		grad[0] += dF[i] * t0 * x[0]
		for j := 1; j < n; j++ {
			grad[j] += dF[i] * x[j]
		}
	}
}

func (e *dwEval) PerSample(dF, rows []float64, stride int) {
	n := e.m.N
	t0 := 2 * e.theta[0]
	for i := 0; i < e.b; i++ {
		x := e.x[i*n : (i+1)*n]
		row := rows[i*stride : i*stride+n]
		row[0] = dF[i] * t0 * x[0]
		for j := 1; j < n; j++ {
			row[j] = dF[i] * x[j]
		}
	}
}

func (e *dwEval) JVP(v, RF []float64) {
	n := e.m.N
	e.v = v
	t0 := 2 * e.theta[0]
	for i := 0; i < e.b; i++ {
		x := e.x[i*n : (i+1)*n]
		s := t0 * x[0] * v[0]
		for j := 1; j < n; j++ {
			s += x[j] * v[j]
		}
		RF[i] = s
	}
}

// Hess f_i = 2 x_1 e_1 e_1^T.
func (e *dwEval) RBackward(dF, RdF, hv []float64) {
	e.Backward(RdF, hv)
	n := e.m.N
	for i := 0; i < e.b; i++ {
		hv[0] += dF[i] * 2 * e.x[i*n] * e.v[0]
	}
}
