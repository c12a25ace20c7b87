package sde

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sgdlab/sgdlab/curvature"
	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/model"
	"gonum.org/v1/gonum/mat"

	"github.com/sgdlab/sgdlab/sgd"
)

// The two implementations of the exact-noise SDE have the same drift and the same diffusion
// covariance b b^T = eta Sigma(theta): one samples N normals through per-sample gradients,
// the other factorises Sigma from data moments. b is linear in xi, so b b^T follows exactly
// from applying it to unit vectors.
func TestExactSDEImplementationsAgree(t *testing.T) {
	for _, spec := range []string{"linear:bias", "doublewell:a=0.25"} {
		ds := data.Gauss(60, 3, 0.7, 4)
		o, _ := model.Build(spec, "mse", ds)
		P := o.P()
		theta := []float64{0.4, -0.3, 0.2, 0.1}[:P]
		eta, c := 0.3, sgd.NoiseScale(sgd.Epoch, 60, 4)
		wk := newExactWorker(o, eta, c)
		fl, _ := model.NewFeatureLandscape(o, true)
		ft := &exactFeature{fl: fl, eta: eta, c: c, p: P, cov: make([]float64, P*P), chol: make([]float64, P*P)}
		covOf := func(s SDE) ([]float64, []float64) {
			m := s.NoiseDim()
			drift, diff := make([]float64, P), make([]float64, P)
			cols := make([][]float64, m)
			xi := make([]float64, m)
			for j := 0; j < m; j++ {
				xi[j] = 1
				s.Eval(theta, xi, drift, diff)
				xi[j] = 0
				cols[j] = append([]float64(nil), diff...)
			}
			cov := make([]float64, P*P)
			for _, col := range cols {
				for a := 0; a < P; a++ {
					for b := 0; b < P; b++ {
						cov[a*P+b] += col[a] * col[b]
					}
				}
			}
			return append([]float64(nil), drift...), cov
		}
		d1, c1 := covOf(wk)
		d2, c2 := covOf(ft)
		for i := range d1 {
			if math.Abs(d1[i]-d2[i]) > 1e-12 {
				t.Fatalf("%s: drift %v vs %v", spec, d1, d2)
			}
		}
		for i := range c1 {
			if math.Abs(c1[i]-c2[i]) > 1e-12*(1+math.Abs(c1[i])) {
				t.Fatalf("%s: diffusion covariance %v vs %v", spec, c1, c2)
			}
		}
	}
}

// Euler-Maruyama on an Ornstein-Uhlenbeck process: d x = -k x dt + s dW has stationary
// variance s^2/(2k) (1 - k h / 2)^-1 for the discrete scheme with step h: exact check of the
// integrator (a 100 000-step chain, standard error from the autocorrelation).
func TestEulerMaruyamaOU(t *testing.T) {
	const k, s, h = 1.0, 0.5, 0.1
	ou := &langevin{land: quad{k}, p: 1, t: s * s / 2}
	in := NewIntegrator(ou, Ito, h, rand.New(rand.NewPCG(1, 1)))
	x := []float64{0}
	var sum2 float64
	const n = 400000
	for i := 0; i < n; i++ {
		in.Step(x)
		sum2 += x[0] * x[0]
	}
	want := s * s / (2 * k) / (1 - k*h/2)
	// Autocorrelation time of x^2 is about 1/(k h) = 10 steps: relative SE ~ sqrt(2*10/n).
	if got := sum2 / n; math.Abs(got/want-1) > 4*math.Sqrt(20.0/n)*1.5 {
		t.Fatalf("stationary variance %v, want %v", got, want)
	}
}

// quad is L = k x^2 / 2.
type quad struct{ k float64 }

func (q quad) LossGrad(theta, grad []float64) float64 {
	if grad != nil {
		grad[0] = q.k * theta[0]
	}
	return q.k * theta[0] * theta[0] / 2
}

// Factories that differ in any setting must have different keys (run stores key on them).
func TestFactoryKeyDistinguishesConfigs(t *testing.T) {
	o, _ := model.Build("linear", "mse", data.Gauss(100, 1, 1, 1))
	f := curvature.DenseFactor(1, []float64{1})
	base := Config{Kind: Decoupled, Eta: 0.1, Batch: 2, HStar: f, LStar: 0.5, HScalar: 1}
	mk := func(c Config) string {
		fac, err := NewFactory(o, c)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(fac.Key())
		return string(b)
	}
	k0 := mk(base)
	for name, c := range map[string]Config{
		"eta":  {Kind: Decoupled, Eta: 0.2, Batch: 2, HStar: f, LStar: 0.5, HScalar: 1},
		"B":    {Kind: Decoupled, Eta: 0.1, Batch: 3, HStar: f, LStar: 0.5, HScalar: 1},
		"sub":  {Kind: Decoupled, Eta: 0.1, Batch: 2, HStar: f, LStar: 0.5, HScalar: 1, Substeps: 4},
		"kind": {Kind: ExactSDE, Eta: 0.1, Batch: 2, HStar: f, LStar: 0.5, HScalar: 1},
		"H": {Kind: Decoupled, Eta: 0.1, Batch: 2, HStar: curvature.DenseFactor(1, []float64{2}), LStar: 0.5,
			HScalar: 1},
	} {
		if mk(c) == k0 {
			t.Errorf("changing %s leaves the key unchanged", name)
		}
	}
}

// psdSqrt is the Cholesky factor (equal to gonum's to rounding) for positive definite
// matrices, and a valid square root S S^T = A for singular ones.
func TestPSDSqrt(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, n := range []int{1, 2, 3, 5, 8} {
		a := randomSPD(n, rng)
		out := make([]float64, n*n)
		psdSqrt(n, a, out)
		var ch mat.Cholesky
		if !ch.Factorize(mat.NewSymDense(n, a)) {
			t.Fatal("not positive definite")
		}
		var l mat.TriDense
		ch.LTo(&l)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				if math.Abs(out[i*n+j]-l.At(i, j)) > 1e-12*math.Sqrt(a[i*n+i]) {
					t.Fatalf("n=%d: L[%d,%d] = %v, gonum %v", n, i, j, out[i*n+j], l.At(i, j))
				}
			}
		}
	}
	// A singular covariance (rank 1): S S^T = A all the same.
	a := []float64{1, 2, 2, 4}
	out := make([]float64, 4)
	psdSqrt(2, a, out)
	for i := 0; i < 2; i++ {
		for j := 0; j < 2; j++ {
			s := out[i*2]*out[j*2] + out[i*2+1]*out[j*2+1]
			if math.Abs(s-a[i*2+j]) > 1e-12 {
				t.Fatalf("S S^T [%d,%d] = %v, want %v", i, j, s, a[i*2+j])
			}
		}
	}
}
