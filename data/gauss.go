package data

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/sgdlab/sgdlab/internal/memory"
	"github.com/sgdlab/sgdlab/internal/specstr"
)

// Gauss returns N samples with x ~ N(0, I_d) and y ~ N(0, sigma^2) drawn independently
// from a PCG generator seeded with seed: the paper's linear-regression data (sigma = 1),
// and with sigma != 1 the label noise of the double-well family.
func Gauss(n, d int, sigma float64, seed uint64) *Dataset {
	rng := rand.New(rand.NewPCG(seed, 0x9a55))
	ds := &Dataset{N: n, D: d, K: 1, X: make([]float64, n*d), Y: make([]float64, n)}
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			ds.X[i*d+j] = rng.NormFloat64()
		}
		ds.Y[i] = sigma * rng.NormFloat64()
	}
	ds.Spec = fmt.Sprintf("gauss:N=%d,d=%d,seed=%d", n, d, seed)
	if sigma != 1 {
		ds.Spec += fmt.Sprintf(",sigma=%g", sigma)
	}
	ds.Source = "synthetic: x ~ N(0, I), y ~ N(0, sigma^2) independent"
	return ds
}

func loadGauss(sp *specstr.Spec, lim memory.Limit) (*Dataset, error) {
	n, err := sp.Int("N", 10000, 1, MaxSamples)
	if err != nil {
		return nil, err
	}
	d, err := sp.Int("d", 1, 1, 1<<30)
	if err != nil {
		return nil, err
	}
	seed, err := sp.Int("seed", 1, 0, math.MaxInt64)
	if err != nil {
		return nil, err
	}
	sigma, err := sp.Float("sigma", 1, 0, 1e150)
	if err != nil {
		return nil, err
	}
	if err := checkSize(lim, sp.Text, n, d, 1); err != nil {
		return nil, err
	}
	return Gauss(int(n), int(d), sigma, uint64(seed)), nil
}

// Tanh returns N samples x ~ N(0, 1) with y = tanh(w x) + sigma * noise: data for a small
// network whose symmetric minima are joined through a saddle.
func Tanh(n int, w, sigma float64, seed uint64) *Dataset {
	rng := rand.New(rand.NewPCG(seed, 0x7a4))
	ds := &Dataset{N: n, D: 1, K: 1, X: make([]float64, n), Y: make([]float64, n)}
	for i := 0; i < n; i++ {
		x := rng.NormFloat64()
		ds.X[i] = x
		ds.Y[i] = math.Tanh(w*x) + sigma*rng.NormFloat64()
	}
	ds.Spec = fmt.Sprintf("tanh:N=%d,w=%g,sigma=%g,seed=%d", n, w, sigma, seed)
	ds.Source = "synthetic: x ~ N(0, 1), y = tanh(w x) + sigma * N(0, 1)"
	return ds
}

func loadTanh(sp *specstr.Spec, lim memory.Limit) (*Dataset, error) {
	n, err := sp.Int("N", 2000, 1, MaxSamples)
	if err != nil {
		return nil, err
	}
	seed, err := sp.Int("seed", 1, 0, math.MaxInt64)
	if err != nil {
		return nil, err
	}
	w, err := sp.Float("w", 2, -1e150, 1e150)
	if err != nil {
		return nil, err
	}
	sigma, err := sp.Float("sigma", 0.3, 0, 1e150)
	if err != nil {
		return nil, err
	}
	if err := checkSize(lim, sp.Text, n, 1, 1); err != nil {
		return nil, err
	}
	return Tanh(int(n), w, sigma, uint64(seed)), nil
}
