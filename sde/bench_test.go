package sde

import (
	"math/rand/v2"
	"testing"

	"github.com/sgdlab/sgdlab/curvature"
	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/sgd"
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
