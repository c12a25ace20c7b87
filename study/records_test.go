package study

import (
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/store"
)

// A chain solution is kept in the run store: the same spec on the same store returns the
// stored record (the same JSON output and density) without solving again, and a different
// grid is a different record.
func TestChainIsStored(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	env := Env{Ens: ensemble.Env{Workers: 1, Store: st}}
	spec := ChainSpec{Problem: Problem{Model: "linear", Data: "gauss:N=2000,d=1,seed=2", Loss: "mse"}, Eta: 0.1,
		Batch: 1, Exit: "loss:c=1.5,2", Grid: 200, Seed: 1}
	count := func() int {
		runs, err := st.Runs()
		if err != nil {
			t.Fatal(err)
		}
		return len(runs)
	}
	first, err := Chain(ctx, env, spec)
	if err != nil {
		t.Fatal(err)
	}
	n := count()
	again, err := Chain(ctx, env, spec)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(first)
	b, _ := json.Marshal(again)
	if count() != n || string(a) != string(b) || !reflect.DeepEqual(first.Density, again.Density) ||
		len(first.Density) == 0 {
		t.Fatalf("the stored chain differs from the computed one (%d runs, then %d)", n, count())
	}
	spec.Grid = 100
	other, err := Chain(ctx, env, spec)
	if err != nil {
		t.Fatal(err)
	}
	if count() != n+1 || other.Levels[0].MFPT == first.Levels[0].MFPT {
		t.Fatal("a different grid reused the stored solution")
	}
}

// Estimating a training run before it starts leaves the run unchanged (the same loss curve
// and Noise track as without the estimate) and adds up: the total is the steps' time plus
// one Noise measurement per NoiseEvery steps and one at the start.
func TestTrainEstimate(t *testing.T) {
	ctx := context.Background()
	spec := TrainSpec{Problem: Problem{Model: "mlp:784-20-10:relu", Data: "mnist:onehot:300", Loss: "mse"}, Eta: 0.1,
		Batch: 50, Sampling: "epoch", Seed: 2, Steps: 30, NoiseEvery: 12}
	plain, err := Train(ctx, Env{}, spec)
	if err != nil {
		t.Fatal(err)
	}
	spec.Estimate = true
	est, err := Train(ctx, Env{}, spec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(plain.Curve, est.Curve) || !reflect.DeepEqual(plain.Noise, est.Noise) {
		t.Fatal("the estimate changed the training run")
	}
	e := est.Estimate
	if e == nil || !(e.StepSeconds > 0) || !(e.NoiseSeconds > 0) {
		t.Fatalf("estimate %+v", e)
	}
	want := 30*e.StepSeconds + 3*e.NoiseSeconds
	if math.Abs(e.TotalSeconds-want) > 1e-9*want || math.Abs(e.EpochSeconds-6*e.StepSeconds-e.NoiseSeconds/2) >
		1e-9*e.EpochSeconds {
		t.Fatalf("estimate %+v does not add up (total want %v)", e, want)
	}
}

// A stationary study of trillions of steps announces its estimated time before it starts
// (8.8e12 steps take longer than LongWork at any speed above 1.5e10 steps per second).
func TestStationaryAnnouncesLongWork(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var notice string
	env := Env{Notice: func(msg string) { notice = msg; cancel() }}
	_, err := Stationary(ctx, env, StationarySpec{Problem: Problem{Model: "linear", Data: "gauss:N=1000,d=1",
		Loss: "mse"}, Dynamics: Dynamics{Kind: "sgd", Eta: 1e-3, Batch: 5, Sampling: "replacement"}, Chains: 1,
		Samples: 100, Every: 10, Burn: 1 << 43})
	if !strings.Contains(notice, "stationary: 1 chain(s) of") || err == nil {
		t.Fatalf("notice %q, error %v", notice, err)
	}
}
