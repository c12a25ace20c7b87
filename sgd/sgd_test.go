package sgd

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/model"
)

func smallMLP(t *testing.T, n int) (*model.Objective, []float64) {
	ds := data.Gauss(n, 3, 1, 11)
	m, _ := model.NewMLP([]int{3, 4, 1}, model.Tanh, true)
	o, err := model.NewObjective(m, model.MSE{}, ds)
	if err != nil {
		t.Fatal(err)
	}
	theta := make([]float64, m.NumParams())
	m.Init(theta, rand.New(rand.NewPCG(1, 1)))
	return o, theta
}

// The mini-batch gradient's covariance over batch draws must equal docs/theory.md, "SGD noise":
// (1/B)(M - g g^T) with replacement and (N-B)/(B(N-1)) (M - g g^T) without.
// Each entry is compared with its standard error estimated from the draws themselves.
func TestMiniBatchGradientCovariance(t *testing.T) {
	const n, b, draws = 20, 4, 200000
	o, theta := smallMLP(t, n)
	P := o.P()
	w := o.NewWorker(1, n)
	g := make([]float64, P)
	w.LossGrad(theta, g)
	rows := make([]float64, n*P)
	w.PerSampleGrads(theta, nil, rows)
	M := make([]float64, P*P)
	for mu := 0; mu < n; mu++ {
		for i := 0; i < P; i++ {
			for j := 0; j < P; j++ {
				M[i*P+j] += rows[mu*P+i] * rows[mu*P+j] / n
			}
		}
	}
	for _, mode := range []Sampling{Replacement, Epoch} {
		scale := 1.0 / b
		if mode == Epoch {
			scale = float64(n-b) / float64(b*(n-1))
		}
		s := NewSampler(mode, n, b, rand.New(rand.NewPCG(3, uint64(mode))))
		sum := make([]float64, P*P)
		sum2 := make([]float64, P*P)
		gb := make([]float64, P)
		for r := 0; r < draws; r++ {
			w.BatchLossGrad(theta, s.Next(), gb)
			for i := 0; i < P; i++ {
				xi := gb[i] - g[i]
				for j := i; j < P; j++ {
					p := xi * (gb[j] - g[j])
					sum[i*P+j] += p
					sum2[i*P+j] += p * p
				}
			}
		}
		worst := 0.0
		for i := 0; i < P; i++ {
			for j := i; j < P; j++ {
				emp := sum[i*P+j] / draws
				se := math.Sqrt((sum2[i*P+j]/draws - emp*emp) / draws)
				want := scale * (M[i*P+j] - g[i]*g[j])
				z := math.Abs(emp-want) / se
				worst = math.Max(worst, z)
				if z > 4.5 {
					t.Errorf("%v: Sigma[%d,%d] = %.6g, theory %.6g (%.1f standard errors)", mode, i, j, emp, want, z)
				}
			}
		}
		t.Logf("%v sampling: largest deviation %.2f standard errors over %d entries", mode, worst, P*(P+1)/2)
	}
}

func TestEpochVisitsEverySampleOnce(t *testing.T) {
	s := NewSampler(Epoch, 10, 3, rand.New(rand.NewPCG(1, 2)))
	seen := map[int]int{}
	for k := 0; k < 3; k++ { // floor(10/3) = 3 batches per epoch
		for _, i := range s.Next() {
			seen[i]++
		}
	}
	if len(seen) != 9 {
		t.Fatalf("one epoch visited %d distinct samples, want 9", len(seen))
	}
	for i, c := range seen {
		if c != 1 {
			t.Fatalf("sample %d drawn %d times in one epoch", i, c)
		}
	}
}

func TestDeterministicAndDecreasing(t *testing.T) {
	o, theta0 := smallMLP(t, 200)
	run := func() ([]float64, Result) {
		theta := append([]float64(nil), theta0...)
		r, err := New(o, Config{Eta: 0.05, Batch: 10}, rand.New(rand.NewPCG(42, 0)))
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.Run(context.Background(), theta, 2000)
		if err != nil {
			t.Fatal(err)
		}
		return theta, res
	}
	a, ra := run()
	b, rb := run()
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seed gave different parameters")
		}
	}
	if ra != rb || ra.Time != 100 {
		t.Fatalf("results differ or wrong time: %+v %+v", ra, rb)
	}
	w := o.NewWorker(1, 0)
	if l0, l1 := w.Loss(theta0), w.Loss(a); !(l1 < l0) {
		t.Fatalf("loss did not decrease: %v -> %v", l0, l1)
	}
}

func TestMomentumAndObservers(t *testing.T) {
	o, theta := smallMLP(t, 50)
	r, err := New(o, Config{Eta: 0.05, Batch: 5, Momentum: 0.9, Sampling: Replacement}, rand.New(rand.NewPCG(1, 0)))
	if err != nil {
		t.Fatal(err)
	}
	var calls []int64
	res, err := r.Run(
		context.Background(),
		theta,
		100,
		Observation{Every: 30, AtStart: true, Fn: func(k int64, th []float64, lb float64) error {
			calls = append(calls, k)
			if k == 90 {
				return Stop
			}
			return nil
		}},
	)
	if err != nil || !res.Stopped || res.Steps != 90 {
		t.Fatalf("%+v %v", res, err)
	}
	if len(calls) != 4 || calls[0] != 0 || calls[3] != 90 {
		t.Fatalf("observer calls %v", calls)
	}
}

func TestDivergenceAndValidation(t *testing.T) {
	o, theta := smallMLP(t, 50)
	r, _ := New(o, Config{Eta: 50, Batch: 5}, rand.New(rand.NewPCG(1, 0)))
	_, err := r.Run(context.Background(), theta, 10000)
	var de *DivergenceError
	if !errors.As(err, &de) || de.Eta != 50 || de.Batch != 5 {
		t.Fatalf("expected a divergence error naming eta and B, got %v", err)
	}
	for _, c := range []Config{{Eta: 0, Batch: 1}, {Eta: -1, Batch: 1}, {Eta: 0.1, Batch: 51}, {Eta: 0.1, Batch: 0},
		{Eta: 0.1, Batch: 1, Momentum: 1}} {
		if _, err := New(o, c, rand.New(rand.NewPCG(1, 0))); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

// The fast path for FeatureLinear models draws batches with the same law as the general
// one: the covariance of its mini-batch gradient equals the formula of docs/theory.md ("SGD noise") in both
// sampling modes, and an epoch visits every sample once.
func TestFeatureFastPath(t *testing.T) {
	const n, b, draws = 30, 4, 200000
	for _, c := range []struct {
		spec string
		d    int
	}{{"linear:bias", 2}, {"doublewell:a=0.25", 2}, {"linear", 1}} {
		spec := c.spec
		o, _ := model.Build(spec, "mse", data.Gauss(n, c.d, 0.7, 5))
		P := o.P()
		theta := []float64{0.4, -0.2, 0.3}[:P]
		w := o.NewWorker(1, n)
		g := make([]float64, P)
		w.LossGrad(theta, g)
		rows := make([]float64, n*P)
		w.PerSampleGrads(theta, nil, rows)
		// With B = N (epoch sampling) the mini-batch is the whole data: L_B and its gradient
		// are the full loss and gradient of the general evaluator.
		full := newFeatureBatch(o, Epoch, n, rand.New(rand.NewPCG(8, 9)), 0)
		gfull := make([]float64, P)
		for range 2 {
			lb := full.lossGrad(theta, gfull)
			if l := w.Loss(theta); math.Abs(lb-l) > 1e-12*math.Abs(l) {
				t.Fatalf("%s: full-batch L_B = %v, L = %v", spec, lb, l)
			}
			for i := range g {
				if math.Abs(gfull[i]-g[i]) > 1e-12*(math.Abs(g[i])+1e-300)+1e-15 {
					t.Fatalf("%s: full-batch gradient %v, full gradient %v", spec, gfull, g)
				}
			}
		}
		for _, mode := range []Sampling{Replacement, Epoch} {
			fb := newFeatureBatch(o, mode, b, rand.New(rand.NewPCG(8, uint64(mode))), 0)
			if fb == nil {
				t.Fatalf("%s: fast path not available", spec)
			}
			scale := 1.0 / b
			if mode == Epoch {
				scale = float64(n-b) / float64(b*(n-1))
			}
			gb := make([]float64, P)
			sum, sum2 := make([]float64, P*P), make([]float64, P*P)
			for r := 0; r < draws; r++ {
				fb.lossGrad(theta, gb)
				for i := 0; i < P; i++ {
					for j := 0; j < P; j++ {
						p := (gb[i] - g[i]) * (gb[j] - g[j])
						sum[i*P+j] += p
						sum2[i*P+j] += p * p
					}
				}
			}
			for i := 0; i < P; i++ {
				for j := 0; j < P; j++ {
					m := 0.0
					for mu := 0; mu < n; mu++ {
						m += rows[mu*P+i] * rows[mu*P+j] / n
					}
					want := scale * (m - g[i]*g[j])
					emp := sum[i*P+j] / draws
					se := math.Sqrt((sum2[i*P+j]/draws - emp*emp) / draws)
					if z := math.Abs(emp-want) / se; z > 4.5 {
						t.Errorf("%s %v: Sigma[%d,%d] = %v, theory %v (%.1f SE)", spec, mode, i, j, emp, want, z)
					}
				}
			}
		}
		// One epoch (floor(30/4) = 7 batches of 4) sees 28 distinct samples, over several
		// epochs, and shuffling an own copy of the rows or indices into the shared rows
		// gives the same samples in the same order.
		packed := o.PackedRows()
		w1 := o.Data.D + 1
		sample := func(row []float64) int {
			for i := 0; i < n; i++ {
				if slices.Equal(packed[i*w1:(i+1)*w1], row) {
					return i
				}
			}
			t.Fatalf("row %v is not a sample", row)
			return -1
		}
		own := newFeatureBatch(o, Epoch, b, rand.New(rand.NewPCG(1, 1)), 0)
		saved := maxOwnRows
		maxOwnRows = 0
		shared := newFeatureBatch(o, Epoch, b, rand.New(rand.NewPCG(1, 1)), 0)
		maxOwnRows = saved
		if !own.own || shared.own {
			t.Fatalf("storage modes not as requested: own %v, shared %v", own.own, shared.own)
		}
		for epoch := 0; epoch < 5; epoch++ {
			seen := map[int]bool{}
			for k := 0; k < 7*b; k++ {
				i, j := sample(own.next()), sample(shared.next())
				if i != j {
					t.Fatalf("epoch %d, sample %d: own rows give %d, shared rows %d", epoch, k, i, j)
				}
				seen[i] = true
			}
			if len(seen) != 28 {
				t.Fatalf("epoch %d saw %d distinct samples, want 28", epoch, len(seen))
			}
		}
	}
}

func TestNoiseScale(t *testing.T) {
	if NoiseScale(Replacement, 100, 10) != 0.1 || math.Abs(NoiseScale(Epoch, 100, 10)-90.0/990) > 1e-15 ||
		NoiseScale(Epoch, 100, 1) != 1 {
		t.Fatal("sampling constants")
	}
}

// The affine rows of one-input regression step as the gradient step does, to rounding: the
// same samples in the same order (both samplings), batch losses and parameters within a few
// ulps of each other after every step.
func TestAffineRowsMatchGradientStep(t *testing.T) {
	o, _ := model.Build("linear", "mse", data.Gauss(500, 1, 1, 4))
	for _, mode := range []Sampling{Replacement, Epoch} {
		aff := newFeatureBatch(o, mode, 1, rand.New(rand.NewPCG(5, 6)), 0.2)
		gen := newFeatureBatch(o, mode, 1, rand.New(rand.NewPCG(5, 6)), 0)
		if !aff.affine || gen.affine {
			t.Fatalf("%v: affine rows %v and %v, want true and false", mode, aff.affine, gen.affine)
		}
		a, b := []float64{0.3}, []float64{0.3}
		g := make([]float64, 1)
		for k := range 3000 {
			la := aff.affineStep(a)
			lb := gen.lossGrad(b, g)
			b[0] -= 0.2 * g[0]
			if math.Abs(la-lb) > 1e-12*lb || math.Abs(a[0]-b[0]) > 1e-13*(1+math.Abs(b[0])) {
				t.Fatalf("%v step %d: affine (L_B %v, theta %v), gradient step (%v, %v)", mode, k, la, a[0], lb, b[0])
			}
		}
	}
}
