package chain

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sgdlab/sgdlab/theory"
)

// In one dimension the moment equation is a scalar one with a closed form over the data's
// moments; on a large Gaussian sample phi_eta approaches theory.PhiEta.
func TestMomentsOneDimension(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	const n = 200_000
	x, r := make([]float64, n), make([]float64, n)
	for i := range x {
		x[i], r[i] = rng.NormFloat64(), 0.5*rng.NormFloat64()
	}
	for _, c := range []struct {
		eta float64
		b   int
	}{{0.1, 1}, {1, 4}, {0.5, 2}} {
		cov, err := momentCovariance(x, r, 1, c.eta, c.b)
		if err != nil || !cov.Finite {
			t.Fatalf("%v %v", cov, err)
		}
		var h, x4, x2r2 float64
		for i := range x {
			h += x[i] * x[i] / n
			x4 += math.Pow(x[i], 4) / n
			x2r2 += x[i] * x[i] * r[i] * r[i] / n
		}
		fb := float64(c.b)
		want := c.eta * c.eta * x2r2 / fb / (2*c.eta*h - c.eta*c.eta*(x4/fb+(1-1/fb)*h*h))
		if math.Abs(cov.C[0]-want)/want > 1e-9 {
			t.Errorf("eta %g, B %d: %v, closed form %v", c.eta, c.b, cov.C[0], want)
		}
		lstar := 0.0
		for i := range r {
			lstar += r[i] * r[i] / (2 * n)
		}
		phi, closed := PhiEta(h*cov.C[0], 1, lstar), theory.PhiEta(c.b, c.eta, 1)
		if math.Abs(phi-closed)/closed > 0.02 {
			t.Errorf("eta %g, B %d: phi_eta %v on the sample, %v for the population", c.eta, c.b, phi, closed)
		}
	}
	// eta h = 1.5 at B = 1: the second moment is infinite.
	cov, err := momentCovariance(x, r, 1, 1.5, 1)
	if err != nil || cov.Finite {
		t.Errorf("eta h = 1.5: finite %v (%v)", cov.Finite, err)
	}
}

// In two dimensions with a bias-like constant feature, the covariance of a long simulated
// chain (replacement, B = 2) matches the moment equation within 4 standard errors (batch
// means over 200 blocks).
func TestMomentsMatchSimulation(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 1))
	const n, p = 40, 2
	z, y := make([]float64, n*p), make([]float64, n)
	for mu := 0; mu < n; mu++ {
		z[mu*p], z[mu*p+1] = 1.5*rng.NormFloat64(), 1
		y[mu] = 0.3*z[mu*p] + 0.4*rng.NormFloat64()
	}
	// The least-squares minimum and its residuals.
	var s00, s01, s11, b0, b1 float64
	for mu := 0; mu < n; mu++ {
		a, c := z[mu*p], z[mu*p+1]
		s00, s01, s11, b0, b1 = s00+a*a, s01+a*c, s11+c*c, b0+a*y[mu], b1+c*y[mu]
	}
	det := s00*s11 - s01*s01
	star := []float64{(s11*b0 - s01*b1) / det, (s00*b1 - s01*b0) / det}
	r := make([]float64, n)
	for mu := range r {
		r[mu] = y[mu] - z[mu*p]*star[0] - z[mu*p+1]*star[1]
	}
	const eta, b = 0.2, 2
	cov, err := momentCovariance(z, r, p, eta, b)
	if err != nil || !cov.Finite || cov.Residual > 1e-10 {
		t.Fatalf("%+v %v", cov, err)
	}
	theta := append([]float64(nil), star...)
	const blocks, per = 200, 20000
	est := make([][3]float64, blocks)
	for k := range blocks {
		for range per {
			var g0, g1 float64
			for range b {
				mu := rng.IntN(n)
				res := z[mu*p]*theta[0] + z[mu*p+1]*theta[1] - y[mu]
				g0, g1 = g0+res*z[mu*p]/b, g1+res*z[mu*p+1]/b
			}
			theta[0], theta[1] = theta[0]-eta*g0, theta[1]-eta*g1
			d0, d1 := theta[0]-star[0], theta[1]-star[1]
			est[k][0] += d0 * d0 / per
			est[k][1] += d0 * d1 / per
			est[k][2] += d1 * d1 / per
		}
	}
	for i, idx := range []int{0, 1, 3} {
		m, v := 0.0, 0.0
		for k := range est {
			m += est[k][i] / blocks
		}
		for k := range est {
			v += (est[k][i] - m) * (est[k][i] - m) / (blocks - 1)
		}
		se := math.Sqrt(v / blocks)
		t.Logf("C[%d] = %.5g, simulation %.5g +- %.2g", idx, cov.C[idx], m, se)
		if math.Abs(m-cov.C[idx]) > 4*se {
			t.Errorf("C[%d]: equation %.5g, simulation %.5g +- %.2g", idx, cov.C[idx], m, se)
		}
	}
}

// For isotropic Gaussian features in two dimensions phi_eta = p/2 + 1 + p L*/tr(H C) is the
// closed form B/(eta h) - B/2 + 1/2, the same as in one dimension.
func TestPhiEtaIsotropic(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n, p = 200_000, 2
	z, r := make([]float64, n*p), make([]float64, n)
	var h [4]float64
	lstar := 0.0
	for mu := range r {
		z[mu*p], z[mu*p+1], r[mu] = rng.NormFloat64(), rng.NormFloat64(), 0.6*rng.NormFloat64()
		lstar += r[mu] * r[mu] / (2 * n)
		for i := range p {
			for j := range p {
				h[i*p+j] += z[mu*p+i] * z[mu*p+j] / n
			}
		}
	}
	const eta, b = 0.4, 2
	cov, err := momentCovariance(z, r, p, eta, b)
	if err != nil || !cov.Finite {
		t.Fatal(cov, err)
	}
	tr := h[0]*cov.C[0] + h[1]*cov.C[2] + h[2]*cov.C[1] + h[3]*cov.C[3]
	got, want := PhiEta(tr, p, lstar), theory.PhiEta(b, eta, 1)
	if math.Abs(got-want)/want > 0.02 {
		t.Errorf("phi_eta %v on the sample, %v in closed form", got, want)
	}
}
