package curvature

import (
	"math/rand/v2"
	"testing"

	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/model"
)

// BenchmarkLanczosTop10E1 is Lanczos top-10 of the E1 network's Hessian (784-100-100-1 ReLU,
// Glorot initialisation) over N = 10^4 MNIST parity images.
func BenchmarkLanczosTop10E1(b *testing.B) {
	d, _ := data.Load("mnist:parity:10000", data.Options{})
	o, _ := model.Build("mlp:784-100-100-1:relu", "mse", d)
	theta := make([]float64, o.P())
	o.Model.Init(theta, rand.New(rand.NewPCG(1, 1)))
	w := o.NewWorker(2, 0)
	b.ResetTimer()
	for range b.N {
		res, err := Lanczos(Hessian(w, theta), LanczosOptions{K: 10, Tol: 1e-6, NoDeflationCheck: true,
			Rand: rand.New(rand.NewPCG(2, 2))})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Matvecs), "HVPs/op")
	}
}
