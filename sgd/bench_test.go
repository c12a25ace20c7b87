package sgd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/model"
)

// BenchmarkStepE1 is one SGD step of the E1 network (784-100-100-1 ReLU) at B = 100.
func BenchmarkStepE1(b *testing.B) {
	d, _ := data.Load("mnist:parity:10000", data.Options{})
	o, _ := model.Build("mlp:784-100-100-1:relu", "mse", d)
	theta := make([]float64, o.P())
	o.Model.Init(theta, rand.New(rand.NewPCG(1, 1)))
	r, _ := New(o, Config{Eta: 0.01, Batch: 100}, rand.New(rand.NewPCG(2, 2)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r.Step(theta)
	}
}

// BenchmarkStepLinear1D is one SGD step of 1-D linear regression at B = 1 (the E4/E5 workload).
func BenchmarkStepLinear1D(b *testing.B) { benchLinear1D(b, 10000, 1) }

// BenchmarkStepLinear1DB10 is one SGD step of 1-D linear regression over N = 10^5 at B = 10
// (the stationary-chain workload of BENCHMARKS.md).
func BenchmarkStepLinear1DB10(b *testing.B) { benchLinear1D(b, 100000, 10) }

func benchLinear1D(b *testing.B, n, batch int) {
	o, _ := model.Build("linear", "mse", data.Gauss(n, 1, 1, 1))
	theta := make([]float64, 1)
	r, _ := New(o, Config{Eta: 0.1, Batch: batch}, rand.New(rand.NewPCG(2, 2)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r.Step(theta)
	}
}

// BenchmarkKernel1D is one step of the scalar kernel (StepsToLoss1) of 1-D linear regression
// at B = 1, with each sampling: what an escape ensemble's run costs per step.
func BenchmarkKernel1D(b *testing.B) {
	for _, mode := range []Sampling{Replacement, Epoch} {
		b.Run(mode.String(), func(b *testing.B) {
			o, _ := model.Build("linear", "mse", data.Gauss(10000, 1, 1, 1))
			theta := make([]float64, 1)
			r, _ := New(o, Config{Eta: 0.1, Batch: 1, Sampling: mode}, rand.New(rand.NewPCG(2, 2)))
			if !r.ScalarKernel() {
				b.Fatal("no kernel")
			}
			t := 0.0
			b.ReportAllocs()
			b.ResetTimer()
			r.StepsToLoss1(theta, int64(b.N), Quadratic1{C: 1, S: 1}, math.Inf(1), &t)
		})
	}
}
