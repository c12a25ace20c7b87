package sde

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sgdlab/sgdlab/curvature"
	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/seed"
	"github.com/sgdlab/sgdlab/sgd"
	"gonum.org/v1/gonum/mat"
)

func benchDynamics(b *testing.B, spec string, d int, cfg Config) {
	o, err := model.Build(spec, "mse", data.Gauss(10000, d, 1, 1))
	if err != nil {
		b.Fatal(err)
	}
	theta := make([]float64, o.P())
	o.Model.Init(theta, rand.New(rand.NewPCG(1, 1)))
	for i := range theta {
		theta[i] *= 0.1
	}
	if cfg.HStar == nil {
		cfg.HStar = curvature.DenseFactor(o.P(), o.NewWorker(1, 0).DenseHessian(theta))
	}
	cfg.LStar, cfg.HScalar = 0.5, 1
	fac, err := NewFactory(o, cfg)
	if err != nil {
		b.Fatal(err)
	}
	dyn, _ := fac.New(rand.New(rand.NewPCG(2, 2)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		dyn.Step(theta)
	}
}

// 1-D Gaussian regression (N = 10^4), B = 10: the stationary-distribution workload.
func BenchmarkSGD1D(b *testing.B) {
	benchDynamics(b, "linear", 1, Config{Kind: SGD, Eta: 0.1, Batch: 10})
}
func BenchmarkExactSDE1D(b *testing.B) {
	benchDynamics(b, "linear", 1, Config{Kind: ExactSDE, Eta: 0.1, Batch: 10, Sampling: sgd.Replacement})
}
func BenchmarkDecoupledSDE1D(b *testing.B) {
	benchDynamics(b, "linear", 1, Config{Kind: Decoupled, Eta: 0.1, Batch: 10})
}

// A 971-parameter MLP (10-30-20-1 tanh) on N = 10^4 Gaussian samples, B = 10.
const mlp1000 = "mlp:10-30-20-1:tanh"

func BenchmarkSGDMLP1000(b *testing.B) {
	benchDynamics(b, mlp1000, 10, Config{Kind: SGD, Eta: 0.01, Batch: 10})
}
func BenchmarkExactSDEMLP1000(b *testing.B) {
	benchDynamics(b, mlp1000, 10, Config{Kind: ExactSDE, Eta: 0.01, Batch: 10, Sampling: sgd.Replacement})
}
func BenchmarkDecoupledSDEMLP1000(b *testing.B) {
	benchDynamics(b, mlp1000, 10, Config{Kind: Decoupled, Eta: 0.01, Batch: 10})
}

// randomSPD returns a random symmetric positive definite n x n matrix (row-major).
func randomSPD(n int, rng *rand.Rand) []float64 {
	g := make([]float64, n*n)
	for i := range g {
		g[i] = rng.NormFloat64()
	}
	a := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			for k := 0; k < n; k++ {
				a[i*n+j] += g[i*n+k] * g[j*n+k]
			}
		}
		a[i*n+i] += 0.1
	}
	return a
}

// The per-step square root of the exact-noise SDE (models with at most
// model.MaxMomentFeatures parameters) is a hand-written Cholesky: against gonum's
// mat.Cholesky, which allocates its factor on every call, on the sizes the path sees.
func BenchmarkPSDSqrt(b *testing.B) {
	for _, n := range []int{1, 2, 4, 8, 16} {
		a := randomSPD(n, rand.New(rand.NewPCG(1, uint64(n))))
		out := make([]float64, n*n)
		b.Run(fmt.Sprintf("hand/n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				psdSqrt(n, a, out)
			}
		})
		b.Run(fmt.Sprintf("gonum/n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			sym := mat.NewSymDense(n, a)
			var ch mat.Cholesky
			var l mat.TriDense
			for range b.N {
				ch.Factorize(sym)
				ch.LTo(&l)
			}
		})
	}
}

var normalSink float64

// BenchmarkNormFloat64 is one standard normal variate as the SDE integrators draw it
// (math/rand/v2's ziggurat through a *rand.Rand over a PCG stream).
func BenchmarkNormFloat64(b *testing.B) {
	r := seed.Stream(1, 2)
	s := 0.0
	for range b.N {
		s += r.NormFloat64()
	}
	normalSink = s
}
