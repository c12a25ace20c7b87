package escape_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/escape"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/sde"
)

// benchEnsemble runs 100 SGD escapes and reports run-steps per second.
func benchEnsemble(b *testing.B, spec, dataSpec, exit string, eta float64) {
	d, err := data.Load(dataSpec, data.Options{})
	if err != nil {
		b.Fatal(err)
	}
	o, _ := model.Build(spec, "mse", d)
	p, err := ensemble.Prepare(context.Background(), o, nil, 1)
	if err != nil {
		b.Fatal(err)
	}
	fac, _ := p.Factory(o, sde.Config{Kind: sde.SGD, Eta: eta, Batch: 1})
	es, _ := escape.ParseExit(exit)
	ec := escape.Context{Obj: o, ThetaStar: p.Min.Theta, LStar: p.Min.Loss, NewLand: fac.NewLandscape, LambdaMax: p.Min.Eigs[0]}
	var steps int64
	b.ResetTimer()
	t0 := time.Now()
	for range b.N {
		runs, err := escape.Simulate(context.Background(), fac, es, ec, p.Min.Theta, escape.Options{Runs: 100, Seed: 5, Workers: runtime.NumCPU(), MaxSteps: 1 << 40})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range runs {
			steps += r.Steps[0]
		}
	}
	b.ReportMetric(float64(steps)/time.Since(t0).Seconds(), "run-steps/s")
}

// E5 at d = 1: 100 runs of 1-D regression (N = 10^4, B = 1, eta = 0.1) to L > 2 L*.
func BenchmarkEnsembleE5(b *testing.B) {
	benchEnsemble(b, "linear", "gauss:N=10000,d=1", "loss:c=2", 0.1)
}

// The neural-network case: f = w2 tanh(w1 x) (N = 200), 100 runs to L > 1.5 L*.
func BenchmarkEnsembleNN(b *testing.B) {
	benchEnsemble(b, "mlp:1-1-1:tanh:nobias", "tanh:N=200,w=2,sigma=0.7", "loss:c=1.5", 0.5)
}
