package model

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// AsymWell is the two-minimum regression model of experiment X3 (docs/theory.md, "Which
// minimum SGD prefers"):
//
//	f(theta, x) = x_1 g(theta_1) + s(theta_1) sum_{j>=2} x_j theta_j,  g(t) = (t^2 - a)(1 + k t).
//
// With x ~ N(0, I_n) and pure-noise labels y ~ N(0, sigma^2) the large-N loss is
// L = 1/2 [g(theta_1)^2 + s(theta_1)^2 sum_j theta_j^2 + sigma^2]: minima A = (+sqrt(a), 0)
// and B = (-sqrt(a), 0) with the same L* = sigma^2/2, joined through the saddle near
// theta_1 = 0 with L^s ~ (a^2 + sigma^2)/2.
//   - k sets the sharpness: the well's curvature is g'(+-sqrt(a))^2 = 4a (1 +- k sqrt(a))^2, so
//     A is ((1 + k sqrt(a))/(1 - k sqrt(a)))^2 times sharper than B (k = 0: the symmetric
//     double well). The third zero of g, -1/k, lies beyond a barrier far higher than the
//     saddle's when |k| sqrt(a) <= 1/2.
//   - Gate sets the effective dimension: without it s = 1 and the n - 1 extra directions have
//     curvature 1 at both minima; with it s(t) = e + (1 - e)(t + sqrt(a))/(2 sqrt(a)), e = 0.1,
//     so they have curvature 1 at A and e^2 = 0.01 at B: n_A = n and n_B = 1 outlier
//     directions (the small e keeps B an isolated minimum).
type AsymWell struct {
	A, K float64
	Gate bool
	N    int // input dimension = number of parameters
}

func (m *AsymWell) Spec() string {
	s := fmt.Sprintf("asymwell:a=%g,k=%g", m.A, m.K)
	if m.Gate {
		s += ",gate=1"
	}
	return s
}
func (m *AsymWell) NumParams() int { return m.N }
func (m *AsymWell) InDim() int     { return m.N }
func (m *AsymWell) OutDim() int    { return 1 }
func (m *AsymWell) Blocks() []Block {
	bs := []Block{{Name: "well", Off: 0, Len: 1}}
	if m.N > 1 {
		bs = append(bs, Block{Name: "extra", Off: 1, Len: m.N - 1})
	}
	return bs
}

// Init places theta at the minimum A = (+sqrt(a), 0, ..., 0).
func (m *AsymWell) Init(theta []float64, rng *rand.Rand) {
	clear(theta[:m.N])
	theta[0] = math.Sqrt(m.A)
}

// g returns g(t) and its first and second derivatives.
func (m *AsymWell) g(t float64) (g, g1, g2 float64) {
	q, l := t*t-m.A, 1+m.K*t
	return q * l, 2*t*l + m.K*q, 2*l + 4*m.K*t
}

// gateFloor is the gate's value at B: the extra directions' curvature there is its square.
const gateFloor = 0.1

// s returns the gate s(t) and its derivative.
func (m *AsymWell) s(t float64) (s, s1 float64) {
	if !m.Gate {
		return 1, 0
	}
	r := math.Sqrt(m.A)
	return gateFloor + (1-gateFloor)*(t+r)/(2*r), (1 - gateFloor) / (2 * r)
}

type awEval struct {
	m           *AsymWell
	maxB, b     int
	theta, x, v []float64
	g, g1, g2   float64
	s, s1       float64
	proj, vproj []float64 // per sample: sum_j x_j theta_j and sum_j x_j v_j
}

func (m *AsymWell) NewEval(maxBatch int) Eval {
	return &awEval{m: m, maxB: maxBatch, proj: make([]float64, maxBatch), vproj: make([]float64, maxBatch)}
}

func (e *awEval) Forward(theta, X []float64, b int, F []float64) {
	if b > e.maxB {
		panic(fmt.Sprintf("model: batch %d exceeds evaluator capacity %d", b, e.maxB))
	}
	e.theta, e.x, e.b = theta, X, b
	e.g, e.g1, e.g2 = e.m.g(theta[0])
	e.s, e.s1 = e.m.s(theta[0])
	n := e.m.N
	for i := 0; i < b; i++ {
		x := X[i*n : (i+1)*n]
		p := 0.0
		for j := 1; j < n; j++ {
			p += x[j] * theta[j]
		}
		e.proj[i] = p
		F[i] = x[0]*e.g + e.s*p
	}
}

// row writes grad f_i = (x_1 g' + s' sum_j x_j theta_j, s x_2, ..., s x_n) times c into out
// (added when add is set).
func (e *awEval) row(i int, c float64, out []float64, add bool) {
	n := e.m.N
	x := e.x[i*n : (i+1)*n]
	d0 := c * (x[0]*e.g1 + e.s1*e.proj[i])
	if add {
		out[0] += d0
	} else {
		out[0] = d0
	}
	for j := 1; j < n; j++ {
		if add {
			out[j] += c * e.s * x[j]
		} else {
			out[j] = c * e.s * x[j]
		}
	}
}

func (e *awEval) Backward(dF, grad []float64) {
	for i := 0; i < e.b; i++ {
		e.row(i, dF[i], grad, true)
	}
}

func (e *awEval) PerSample(dF, rows []float64, stride int) {
	for i := 0; i < e.b; i++ {
		e.row(i, dF[i], rows[i*stride:i*stride+e.m.N], false)
	}
}

func (e *awEval) JVP(v, RF []float64) {
	n := e.m.N
	e.v = v
	for i := 0; i < e.b; i++ {
		x := e.x[i*n : (i+1)*n]
		q := 0.0
		for j := 1; j < n; j++ {
			q += x[j] * v[j]
		}
		e.vproj[i] = q
		RF[i] = (x[0]*e.g1+e.s1*e.proj[i])*v[0] + e.s*q
	}
}

// Hess f_i: d2f/dt1^2 = x_1 g”, d2f/dt1 dtj = s' x_j, zero otherwise.
func (e *awEval) RBackward(dF, RdF, hv []float64) {
	e.Backward(RdF, hv)
	n := e.m.N
	for i := 0; i < e.b; i++ {
		x := e.x[i*n : (i+1)*n]
		hv[0] += dF[i] * (x[0]*e.g2*e.v[0] + e.s1*e.vproj[i])
		if e.s1 != 0 {
			for j := 1; j < n; j++ {
				hv[j] += dF[i] * e.s1 * x[j] * e.v[0]
			}
		}
	}
}

// The feature map phi = (g(theta_1), s(theta_1) theta_2, ..., s(theta_1) theta_n): f = phi . x,
// so the loss and its gradient come from data moments (NewFeatureLandscape).

func (m *AsymWell) Features() int   { return m.N }
func (m *AsymWell) Augmented() bool { return false }

// Phi writes phi, its diagonal derivatives d phi_i / d theta_i and (unused) zeros.
func (m *AsymWell) Phi(theta, phi, dphi, d2phi []float64) {
	g, g1, _ := m.g(theta[0])
	s, _ := m.s(theta[0])
	phi[0], dphi[0] = g, g1
	for j := 1; j < m.N; j++ {
		phi[j], dphi[j] = s*theta[j], s
	}
	clear(d2phi)
}

// Cross writes d phi_j / d theta_1 = s'(theta_1) theta_j.
func (m *AsymWell) Cross(theta, col []float64) {
	_, s1 := m.s(theta[0])
	col[0] = 0
	for j := 1; j < m.N; j++ {
		col[j] = s1 * theta[j]
	}
}
