package model

import (
	"fmt"

	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/internal/linalg"
)

// FeatureLinear is implemented by scalar models that are linear in a coordinate-wise
// reparametrisation of theta: f(theta, x) = phi(theta) . xt, where xt is x with an appended
// constant 1 when the model has a bias, and phi_i depends on theta_i only. Linear regression
// (phi = theta) and the double-well family (phi_1 = theta_1^2 - a) are of this form. For such
// models the loss, its gradient and Hessian and the exact SGD noise covariance are polynomials
// in phi whose coefficients are data moments (see Moments), so dynamics need not touch the
// N samples at every step.
type FeatureLinear interface {
	// Features is the length of phi (D, or D+1 with a bias).
	Features() int
	// Phi writes phi(theta), its derivative and its second derivative (coordinate-wise).
	Phi(theta, phi, dphi, d2phi []float64)
	// Augmented reports whether a constant feature 1 is appended to x.
	Augmented() bool
}

// FeatureLinear returns the model as a FeatureLinear when it is one with one output.
func AsFeatureLinear(m Model) (FeatureLinear, bool) {
	switch mm := m.(type) {
	case *MLP:
		if len(mm.Widths) == 2 && mm.OutDim() == 1 {
			return linearFeatures{mm}, true
		}
	case *DoubleWell:
		return mm, true
	}
	return nil, false
}

type linearFeatures struct{ m *MLP }

// IsIdentityFeatures reports whether phi(theta) = theta (a linear model), so that
// evaluators may skip the feature map.
func IsIdentityFeatures(fl FeatureLinear) bool {
	_, ok := fl.(linearFeatures)
	return ok
}

func (l linearFeatures) Features() int   { return l.m.NumParams() }
func (l linearFeatures) Augmented() bool { return l.m.Bias }
func (l linearFeatures) Phi(theta, phi, dphi, d2phi []float64) {
	copy(phi, theta)
	for i := range dphi {
		dphi[i] = 1
	}
	clear(d2phi)
}

func (m *DoubleWell) Features() int   { return m.N }
func (m *DoubleWell) Augmented() bool { return false }
func (m *DoubleWell) Phi(theta, phi, dphi, d2phi []float64) {
	copy(phi, theta)
	phi[0] = theta[0]*theta[0] - m.A
	for i := range dphi {
		dphi[i], d2phi[i] = 1, 0
	}
	dphi[0], d2phi[0] = 2*theta[0], 2
}

// MaxMomentFeatures bounds the feature count for fourth moments (d^4 values).
const MaxMomentFeatures = 16

// Moments are the data moments of a FeatureLinear model's MSE objective over the features
// xt: C = E[xt xt^T], Bv = E[y xt], S = E[y^2], and, for the noise covariance, T4 = E[xt xt xt xt],
// T3 = E[y xt xt xt], T2 = E[y^2 xt xt] (E = average over the N samples).
type Moments struct {
	D          int
	C, Bv      []float64
	S          float64
	T4, T3, T2 []float64
}

// NewMoments computes the moments of o's data for its FeatureLinear model; fourth moments
// only when withNoise (they cost N d^4).
func NewMoments(o *Objective, withNoise bool) (*Moments, error) {
	fl, ok := AsFeatureLinear(o.Model)
	if !ok {
		return nil, fmt.Errorf("model %s is not linear in its features", o.Model.Spec())
	}
	if _, mse := o.Loss.(MSE); !mse {
		return nil, fmt.Errorf("moments need the mean-square loss")
	}
	d := fl.Features()
	if withNoise && d > MaxMomentFeatures {
		return nil, fmt.Errorf("fourth moments of %d features are too many (limit %d)", d, MaxMomentFeatures)
	}
	return momentsOf(o.Data, d, fl.Augmented(), withNoise), nil
}

func momentsOf(ds *data.Dataset, d int, aug, withNoise bool) *Moments {
	m := &Moments{D: d, C: make([]float64, d*d), Bv: make([]float64, d)}
	if withNoise {
		m.T4, m.T3, m.T2 = make([]float64, d*d*d*d), make([]float64, d*d*d), make([]float64, d*d)
	}
	xt := make([]float64, d)
	inv := 1 / float64(ds.N)
	for mu := 0; mu < ds.N; mu++ {
		copy(xt, ds.Row(mu))
		if aug {
			xt[d-1] = 1
		}
		y := ds.Y[mu]
		m.S += y * y * inv
		for i := 0; i < d; i++ {
			m.Bv[i] += y * xt[i] * inv
			for j := 0; j < d; j++ {
				xij := xt[i] * xt[j] * inv
				m.C[i*d+j] += xij
				if withNoise {
					m.T2[i*d+j] += y * y * xij
					for a := 0; a < d; a++ {
						m.T3[(a*d+i)*d+j] += y * xt[a] * xij
						for b := 0; b < d; b++ {
							m.T4[((a*d+b)*d+i)*d+j] += xt[a] * xt[b] * xij
						}
					}
				}
			}
		}
	}
	return m
}

// Loss returns L(phi) = 1/2 (phi^T C phi - 2 Bv . phi + S) and writes dL/dphi = C phi - Bv
// into grad when it is not nil.
func (m *Moments) Loss(phi, grad []float64) float64 {
	d := m.D
	q, lin := 0.0, 0.0
	for i := 0; i < d; i++ {
		ci := 0.0
		for j := 0; j < d; j++ {
			ci += m.C[i*d+j] * phi[j]
		}
		q += phi[i] * ci
		lin += m.Bv[i] * phi[i]
		if grad != nil {
			grad[i] = ci - m.Bv[i]
		}
	}
	return 0.5 * (q - 2*lin + m.S)
}

// NoiseM writes M(phi) - g g^T into out (d x d), where M = E[r^2 xt xt^T] with the residual
// r = phi . xt - y and g = E[r xt] = C phi - Bv: the per-sample covariance in feature space.
func (m *Moments) NoiseM(phi, g, out []float64) {
	d := m.D
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			v := m.T2[i*d+j]
			for a := 0; a < d; a++ {
				pa := phi[a]
				if pa == 0 {
					continue
				}
				v -= 2 * pa * m.T3[(a*d+i)*d+j]
				t4 := m.T4[(a*d)*d*d:]
				s := 0.0
				for b := 0; b < d; b++ {
					s += phi[b] * t4[(b*d+i)*d+j]
				}
				v += pa * s
			}
			out[i*d+j] = v - g[i]*g[j]
		}
	}
}

// Landscape evaluates the full-data loss and gradient. *Worker implements it for any model;
// FeatureLandscape does so in O(d^2) for FeatureLinear models.
type Landscape interface {
	LossGrad(theta, grad []float64) float64
}

// FeatureLandscape evaluates a FeatureLinear model's MSE objective from data moments, and
// its exact per-sample gradient covariance M - g g^T in parameter space.
type FeatureLandscape struct {
	fl                    FeatureLinear
	cross                 crossFeatures // nil: phi_i depends on theta_i only
	col                   []float64
	identity              bool
	m                     *Moments
	phi, dphi, d2phi, gph []float64
	cov                   []float64
	jac, tmp              []float64 // NoiseCov's buffers for cross features (allocated on first use)
}

// NewFeatureLandscape returns the moment-based evaluator, or false if the objective is not a
// FeatureLinear model with the MSE loss. withNoise enables NoiseCov (fourth moments).
func NewFeatureLandscape(o *Objective, withNoise bool) (*FeatureLandscape, bool) {
	if aw, ok := o.Model.(*AsymWell); ok {
		// Linear in the features phi = (g(theta_1), s(theta_1) theta_2, ...), whose derivatives
		// are diagonal except for the column d phi_j / d theta_1.
		if _, mse := o.Loss.(MSE); !mse || (withNoise && aw.N > MaxMomentFeatures) {
			return nil, false
		}
		l := momentsOf(o.Data, aw.N, false, withNoise).Landscape(aw)
		l.cross, l.col = aw, make([]float64, aw.N)
		return l, true
	}
	fl, ok := AsFeatureLinear(o.Model)
	if !ok {
		return nil, false
	}
	m, err := NewMoments(o, withNoise)
	if err != nil {
		return nil, false
	}
	return m.Landscape(fl), true
}

// crossFeatures is a feature map whose features phi_j (j >= 2) also depend on theta_1.
type crossFeatures interface {
	// Cross writes d phi_j / d theta_1 for j >= 2 into col (col[0] is unused).
	Cross(theta, col []float64)
}

// Landscape returns an evaluator sharing the moments (each goroutine needs its own).
func (m *Moments) Landscape(fl FeatureLinear) *FeatureLandscape {
	d := m.D
	return &FeatureLandscape{fl: fl, identity: IsIdentityFeatures(fl), m: m, phi: make([]float64, d),
		dphi: make([]float64, d), d2phi: make([]float64, d), gph: make([]float64, d), cov: make([]float64, d*d)}
}

// Moments returns the shared moments.
func (f *FeatureLandscape) Moments() *Moments { return f.m }

// Scalar returns C, Bv and S when the loss is the quadratic 1/2 (C theta^2 - 2 Bv theta + S)
// of a single parameter (identity features, one dimension), so that callers may evaluate it
// inline; ok is false otherwise.
func (f *FeatureLandscape) Scalar() (c, bv, s float64, ok bool) {
	if !f.identity || f.cross != nil || f.m.D != 1 {
		return 0, 0, 0, false
	}
	return f.m.C[0], f.m.Bv[0], f.m.S, true
}

// Clone returns an evaluator with its own buffers over the same moments.
func (f *FeatureLandscape) Clone() *FeatureLandscape {
	c := f.m.Landscape(f.fl)
	if f.cross != nil {
		c.cross, c.col = f.cross, make([]float64, len(f.col))
	}
	return c
}

// LossGrad returns L(theta) and writes grad L = phi'(theta) o (C phi - Bv) (grad may be nil).
func (f *FeatureLandscape) LossGrad(theta, grad []float64) float64 {
	if grad == nil && f.identity {
		return f.m.Loss(theta, nil)
	}
	f.fl.Phi(theta, f.phi, f.dphi, f.d2phi)
	l := f.m.Loss(f.phi, f.gph)
	if grad != nil {
		for i, g := range f.gph {
			grad[i] = f.dphi[i] * g
		}
		if f.cross != nil {
			f.cross.Cross(theta, f.col)
			for j := 1; j < len(f.col); j++ {
				grad[0] += f.col[j] * f.gph[j]
			}
		}
	}
	return l
}

// NoiseCov writes M - g g^T in parameter space (P x P) at theta into out and returns L:
// the per-sample gradient covariance whose multiple c is the SGD noise covariance.
// Per-sample gradients are phi'(theta) o (r_mu xt_mu), so it is diag(phi') M_phi diag(phi').
func (f *FeatureLandscape) NoiseCov(theta, out []float64) float64 {
	f.fl.Phi(theta, f.phi, f.dphi, f.d2phi)
	l := f.m.Loss(f.phi, f.gph)
	f.m.NoiseM(f.phi, f.gph, out)
	d := f.m.D
	if f.cross != nil {
		// J^T M J with J = diag(dphi) plus the column d phi_j / d theta_1.
		f.cross.Cross(theta, f.col)
		if len(f.jac) != d*d {
			f.jac, f.tmp = make([]float64, d*d), make([]float64, d*d)
		}
		jac := f.jac // J[i][j] = d phi_i / d theta_j
		clear(jac)
		for i := 0; i < d; i++ {
			jac[i*d+i] = f.dphi[i]
			if i > 0 {
				jac[i*d] = f.col[i]
			}
		}
		m, j, t := linalg.M(d, d, out), linalg.M(d, d, jac), linalg.M(d, d, f.tmp)
		linalg.Gemm(false, false, 1, m, j, 0, t) // M J
		linalg.Gemm(true, false, 1, j, t, 0, m)  // J^T (M J)
		return l
	}
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			out[i*d+j] *= f.dphi[i] * f.dphi[j]
		}
	}
	return l
}
