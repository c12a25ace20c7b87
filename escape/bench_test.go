package escape_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/study"
)

// benchEnsemble runs 100 SGD escapes through the study layer (one worker per core) and
// reports run-steps per second.
func benchEnsemble(b *testing.B, modelSpec, dataSpec, exit string, eta float64) {
	env := study.Env{Ens: ensemble.Env{Workers: runtime.NumCPU()}}
	prob := study.Problem{Model: modelSpec, Data: dataSpec, Loss: "mse"}
	o, err := prob.Build(context.Background(), env)
	if err != nil {
		b.Fatal(err)
	}
	p, err := study.Minimum(context.Background(), env, o, nil, 1)
	if err != nil {
		b.Fatal(err)
	}
	spec := study.EscapeSpec{Problem: prob, Dynamics: study.Dynamics{Kind: "sgd", Eta: eta, Batch: 1,
		Sampling: "epoch"}, Exit: exit, Runs: 100, Seed: 5, MaxSteps: 1 << 40, Minimum: p}
	var steps int64
	b.ResetTimer()
	t0 := time.Now()
	for range b.N {
		rec, err := study.Escape(context.Background(), env, spec)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range rec.Trajectory {
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
