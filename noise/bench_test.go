package noise

import (
	"math/rand/v2"
	"testing"

	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/sgd"
)

// BenchmarkGramSpectrumE1 is the Gram-route Fig. 1 spectrum of the E1 network at N = 2000:
// the Jacobian Gram, both 2000 x 2000 forms and their full eigendecompositions.
func BenchmarkGramSpectrumE1(b *testing.B) {
	d, _ := data.Load("mnist:parity:2000", data.Options{})
	o, _ := model.Build("mlp:784-100-100-1:relu", "mse", d)
	theta := make([]float64, o.P())
	o.Model.Init(theta, rand.New(rand.NewPCG(1, 1)))
	s := NewState(o.NewWorker(2, 0), theta, sgd.Epoch, 100)
	b.ResetTimer()
	for range b.N {
		gr, err := s.NewGramRoute()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := gr.Fig1(20, rand.New(rand.NewPCG(1, 1))); err != nil {
			b.Fatal(err)
		}
	}
}
