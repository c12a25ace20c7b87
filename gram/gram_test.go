package gram

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/model"
)

// The factored Gram must equal the product of explicit Jacobian rows for dense networks
// with and without biases, one and several outputs, and every activation.
func TestFactoredEqualsExplicit(t *testing.T) {
	for _, tc := range []struct {
		widths []int
		act    model.Activation
		bias   bool
	}{{[]int{4, 6, 1}, model.ReLU, true}, {[]int{4, 5, 3, 3}, model.Tanh, true}, {[]int{4, 3}, model.Linear, false},
		{[]int{4, 7, 2}, model.Tanh, false}} {
		n, K := 13, tc.widths[len(tc.widths)-1]
		ds := data.Gauss(n, 4, 1, 3)
		ds.K = K
		ds.Y = make([]float64, n*K)
		m, _ := model.NewMLP(tc.widths, tc.act, tc.bias)
		o, err := model.NewObjective(m, model.MSE{}, ds)
		if err != nil {
			t.Fatal(err)
		}
		theta := make([]float64, o.P())
		m.Init(theta, rand.New(rand.NewPCG(5, 5)))
		for i := range theta {
			theta[i] += 0.1 // nonzero biases
		}
		a := factored(o, theta)
		b := explicit(o, theta)
		worst := 0.0
		for i := 0; i < n*K; i++ {
			for j := 0; j < n*K; j++ {
				d := math.Abs(a.At(i, j) - b.At(i, j))
				worst = math.Max(worst, d/math.Max(1, math.Abs(b.At(i, j))))
			}
		}
		// Both are sums of O(P) products in different orders: agreement to 1e-12.
		if worst > 1e-12 {
			t.Errorf("%v: factored and explicit Gram differ by %g", m.Spec(), worst)
		}
	}
}

func TestTooLarge(t *testing.T) {
	d, _ := data.Load("mnist:onehot:5000", data.Options{})
	o, _ := model.Build("linear", "mse", d)
	if _, err := Jacobian(o, make([]float64, o.P())); err == nil {
		t.Fatal("an N*K = 50000 Gram was accepted")
	}
}
