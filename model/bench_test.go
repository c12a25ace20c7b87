package model

import (
	"math/rand/v2"
	"testing"

	"github.com/sgdlab/sgdlab/data"
)

// e1 returns the paper's E1 network (784-100-100-1 ReLU) on the first n MNIST parity images.
func e1(b *testing.B, n int) (*Objective, []float64) {
	d, err := data.Load("mnist:parity:10000", data.Options{})
	if err != nil {
		b.Fatal(err)
	}
	o, err := Build("mlp:784-100-100-1:relu", "mse", d.Head(n))
	if err != nil {
		b.Fatal(err)
	}
	theta := make([]float64, o.P())
	o.Model.Init(theta, rand.New(rand.NewPCG(1, 1)))
	return o, theta
}

// BenchmarkPerSampleGradsE1 computes per-sample gradients of the E1 network for N = 1000.
func BenchmarkPerSampleGradsE1(b *testing.B) {
	o, theta := e1(b, 1000)
	w := o.NewWorker(2, 0)
	rows := make([]float64, o.N()*o.P())
	b.ResetTimer()
	for range b.N {
		w.PerSampleGrads(theta, nil, rows)
	}
}

// BenchmarkHVPE1 is one exact Hessian-vector product of the E1 network over N = 10000.
func BenchmarkHVPE1(b *testing.B) {
	o, theta := e1(b, 10000)
	w := o.NewWorker(2, 0)
	v, hv := make([]float64, o.P()), make([]float64, o.P())
	for i := range v {
		v[i] = 1
	}
	b.ResetTimer()
	for range b.N {
		w.HVP(theta, v, hv)
	}
}

// BenchmarkLossGradE1 is one full-data gradient of the E1 network over N = 10000.
func BenchmarkLossGradE1(b *testing.B) {
	o, theta := e1(b, 10000)
	w := o.NewWorker(2, 0)
	g := make([]float64, o.P())
	b.ResetTimer()
	for range b.N {
		w.LossGrad(theta, g)
	}
}
