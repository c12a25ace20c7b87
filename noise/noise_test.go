package noise

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/sgdlab/sgdlab/curvature"
	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/sgd"
)

// Gaussian linear regression, x ~ N(0, I_5), y ~ N(0, 1) independent, N = 10^4 (docs/theory.md,
// "SGD noise"): Sigma = c [(1 + |theta|^2) I + theta theta^T] in the population, while
// the decoupled form is c (1 + |theta|^2) I; the gap is exactly c theta theta^T.
func TestGaussianLinearRegressionNoise(t *testing.T) {
	const n, d, b = 10000, 5, 10
	ds := data.Gauss(n, d, 1, 21)
	o, _ := model.Build("linear", "mse", ds)
	w := o.NewWorker(2, 0)
	theta := []float64{0.8, -0.5, 0.3, 0, 0.6}
	s := NewState(w, theta, sgd.Replacement, b)
	S := curvature.ToDense(s.Exact())
	A := curvature.ToDense(s.Decoupled())
	c := s.C
	t2 := 0.0
	for _, v := range theta {
		t2 += v * v
	}
	// Standard error of each entry of (1/N) sum r^2 x_i x_j from the data themselves.
	res := make([]float64, n)
	w.PerSample(theta, nil, res)
	worstA, worstD := 0.0, 0.0
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			var m1, m2 float64
			for mu := 0; mu < n; mu++ {
				x := ds.Row(mu)
				v := res[mu] * res[mu] * x[i] * x[j]
				m1 += v
				m2 += v * v
			}
			m1 /= n
			se := c * math.Sqrt((m2/n-m1*m1)/n)
			analytic := c * theta[i] * theta[j]
			if i == j {
				analytic += c * (1 + t2)
			}
			// The g g^T term: sample g vs population theta differ by O(|theta|/sqrt(N)).
			se += c * 2 * math.Sqrt(t2) * 3 / math.Sqrt(n)
			za := math.Abs(S[i*d+j]-analytic) / se
			zd := math.Abs((S[i*d+j]-A[i*d+j])-c*theta[i]*theta[j]) / se
			worstA, worstD = math.Max(worstA, za), math.Max(worstD, zd)
		}
	}
	if worstA > 4.5 || worstD > 4.5 {
		t.Fatalf("exact Sigma vs analytic: %.1f standard errors; exact - decoupled vs c theta theta^T: %.1f", worstA,
			worstD)
	}
	// The agreement measures are the trace ratio and Frobenius cosine of the two matrices,
	// computed here directly.
	ag, err := CompareDense("decoupled", S, A, d, 1)
	if err != nil {
		t.Fatal(err)
	}
	var trS, trA, sa, ss, aa float64
	for i := 0; i < d; i++ {
		trS, trA = trS+S[i*d+i], trA+A[i*d+i]
	}
	for i := range S {
		sa, ss, aa = sa+S[i]*A[i], ss+S[i]*S[i], aa+A[i]*A[i]
	}
	if math.Abs(float64(ag.TraceRatio)-trA/trS) > 1e-12 || math.Abs(float64(ag.Cosine)-sa/math.Sqrt(ss*aa)) > 1e-12 {
		t.Fatalf("trace ratio %v (direct %v), cosine %v (direct %v)", ag.TraceRatio, trA/trS, ag.Cosine, sa/math.Sqrt(ss*aa))
	}
	t.Logf("largest deviation %.2f SE (analytic), %.2f SE (gap = c theta theta^T); trace ratio %.4f (population %.4f)",
		worstA, worstD, ag.TraceRatio, 5*(1+t2)/(5*(1+t2)+t2))

	// Monte Carlo: the covariance of mini-batch gradients over batch draws equals S.
	const draws = 100000
	sm := sgd.NewSampler(sgd.Replacement, n, b, rand.New(rand.NewPCG(4, 4)))
	gb := make([]float64, d)
	sum, sum2 := make([]float64, d*d), make([]float64, d*d)
	for r := 0; r < draws; r++ {
		w.BatchLossGrad(theta, sm.Next(), gb)
		for i := 0; i < d; i++ {
			for j := 0; j < d; j++ {
				p := (gb[i] - s.Grad[i]) * (gb[j] - s.Grad[j])
				sum[i*d+j] += p
				sum2[i*d+j] += p * p
			}
		}
	}
	for i := range sum {
		m := sum[i] / draws
		se := math.Sqrt((sum2[i]/draws - m*m) / draws)
		if z := math.Abs(m-S[i]) / se; z > 4.5 {
			t.Errorf("Monte Carlo Sigma[%d] = %v vs exact %v (%.1f SE)", i, m, S[i], z)
		}
	}
}

func smallNet(t *testing.T, K int) (*model.Worker, []float64) {
	ds := data.Gauss(40, 6, 1, 5)
	ds.K = K
	ds.Y = make([]float64, 40*K)
	rng := rand.New(rand.NewPCG(2, 2))
	for i := range ds.Y {
		ds.Y[i] = rng.NormFloat64()
	}
	m, _ := model.NewMLP([]int{6, 8, K}, model.Tanh, true)
	o, err := model.NewObjective(m, model.MSE{}, ds)
	if err != nil {
		t.Fatal(err)
	}
	theta := make([]float64, o.P())
	m.Init(theta, rng)
	return o.NewWorker(1, 0), theta
}

// The Gram route must reproduce the dense comparison exactly (same quantities, computed
// from N x N matrices instead of P x P).
func TestGramRouteMatchesDense(t *testing.T) {
	for _, K := range []int{1, 3} {
		w, theta := smallNet(t, K)
		s := NewState(w, theta, sgd.Epoch, 4)
		dense, err := CompareDense("d", curvature.ToDense(s.Exact()), curvature.ToDense(s.Decoupled()),
			w.Objective().P(), 3)
		if err != nil {
			t.Fatal(err)
		}
		gr, err := s.NewGramRoute()
		if err != nil {
			t.Fatal(err)
		}
		ga, err := gr.CompareDecoupled(3, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range [][3]float64{{float64(dense.TraceRatio), float64(ga.TraceRatio), 1e-10},
			{float64(dense.Cosine), float64(ga.Cosine), 1e-10}, {float64(dense.Overlap), float64(ga.Overlap), 1e-6}} {
			if math.Abs(c[0]-c[1]) > c[2] {
				t.Errorf("K=%d: dense %+v vs gram %+v", K, dense, ga)
				break
			}
		}
		// Noise strength equals tr(M - g g^T) from the dense exact covariance.
		st := s.MeasureStrength(true)
		S := curvature.ToDense(s.Exact())
		tr := 0.0
		P := w.Objective().P()
		for i := 0; i < P; i++ {
			tr += S[i*P+i]
		}
		if math.Abs(st.Noise-tr/s.C) > 1e-10*math.Abs(tr/s.C) {
			t.Errorf("Noise %v vs tr Sigma / c %v", st.Noise, tr/s.C)
		}
		// One convention: the strength's decoupled ratio is the decoupled form's trace ratio.
		if math.Abs(float64(st.Ratio)-float64(dense.TraceRatio)) > 1e-10 {
			t.Errorf("K=%d: strength ratio %v vs decoupled trace ratio %v", K, st.Ratio, dense.TraceRatio)
		}
	}
}

// Fig. 1 spectra through the Gram route equal the top eigenvalues of the P x P matrices.
func TestFig1AgainstDense(t *testing.T) {
	w, theta := smallNet(t, 2)
	o := w.Objective()
	s := NewState(w, theta, sgd.Replacement, 1)
	gr, _ := s.NewGramRoute()
	sp, err := gr.Fig1(5, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	P, N, K := o.P(), o.N(), o.K()
	rows := make([]float64, N*K*P)
	w.OutputGrads(theta, nil, rows)
	W, D := make([]float64, P*P), make([]float64, P*P)
	for r := 0; r < N*K; r++ {
		l := s.Losses[r/K]
		for i := 0; i < P; i++ {
			for j := 0; j < P; j++ {
				v := rows[r*P+i] * rows[r*P+j] / float64(N)
				W[i*P+j] += l * v
				D[i*P+j] += s.L * v
			}
		}
	}
	ew, _, _ := curvature.Eigen(P, W, false)
	ed, _, _ := curvature.Eigen(P, D, false)
	sort.Sort(sort.Reverse(sort.Float64Slice(ew)))
	sort.Sort(sort.Reverse(sort.Float64Slice(ed)))
	for i := 0; i < 5; i++ {
		if math.Abs(sp.Weighted[i]-ew[i]) > 1e-10*ew[0] || math.Abs(sp.Decoupled[i]-ed[i]) > 1e-10*ed[0] {
			t.Fatalf("Gram spectra %v / %v, dense %v / %v", sp.Weighted, sp.Decoupled, ew[:5], ed[:5])
		}
	}
	ag, err := CompareDense("", W, D, P, 1)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(ag.Cosine-sp.Cosine)) > 1e-10 {
		t.Fatalf("cosine %v vs dense %v", sp.Cosine, ag.Cosine)
	}
}

// The stochastic comparison agrees with the dense one within its standard errors.
func TestCompareOperatorsAgainstDense(t *testing.T) {
	w, theta := smallNet(t, 1)
	s := NewState(w, theta, sgd.Replacement, 2)
	P := w.Objective().P()
	dense, err := CompareDense("d", curvature.ToDense(s.Exact()), curvature.ToDense(s.Decoupled()), P, 2)
	if err != nil {
		t.Fatal(err)
	}
	st, err := CompareOperators("d", s.Exact(), s.Decoupled(), math.NaN(), math.NaN(), 2, 200, rand.New(rand.NewPCG(3,
		3)))
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(st.Cosine-dense.Cosine)) > 4*float64(st.CosineSE) ||
		math.Abs(float64(st.TraceRatio-dense.TraceRatio)) > 4*float64(st.TraceSE)+1e-9 {
		t.Fatalf("stochastic %+v vs dense %+v", st, dense)
	}
	if math.Abs(float64(st.Overlap-dense.Overlap)) > 1e-4 {
		t.Fatalf("overlap %v vs dense %v", st.Overlap, dense.Overlap)
	}
}

// The decoupled forms carry 1/K for K outputs (docs/theory.md, "SGD noise"): for a K-output
// linear model at theta = 0 on pure-noise targets, the residuals are independent of the
// Jacobians and spread evenly over the outputs, so Noise = E|y|^2 E|x|^2 = K d and the
// decoupled trace (2L/K) (1/N) sum |J|_F^2 = (K/K) K d agree (without the 1/K they would
// differ by K). The ratio's standard error is about sqrt(Var(|y|^2 |x|^2)/N)/(K d).
func TestDecoupledFormsCarryOneOverK(t *testing.T) {
	const n, d, k = 20000, 3, 4
	ds := data.Gauss(n, d, 1, 9)
	ds.K = k
	ds.Y = make([]float64, n*k)
	rng := rand.New(rand.NewPCG(9, 9))
	for i := range ds.Y {
		ds.Y[i] = rng.NormFloat64()
	}
	m, _ := model.NewMLP([]int{d, k}, model.Linear, false)
	o, err := model.NewObjective(m, model.MSE{}, ds)
	if err != nil {
		t.Fatal(err)
	}
	w := o.NewWorker(1, 0)
	s := NewState(w, make([]float64, o.P()), sgd.Replacement, 1)
	st := s.MeasureStrength(true)
	// Var(|y|^2 |x|^2) = E|y|^4 E|x|^4 - (K d)^2 = (K^2+2K)(d^2+2d) - K^2 d^2.
	se := math.Sqrt(float64((k*k+2*k)*(d*d+2*d)-k*k*d*d)/n) / (k * d)
	if r := float64(st.Ratio); math.Abs(r-1) > 4*se {
		t.Fatalf("decoupled ratio %v, want 1 within 4 x %.3g", r, se)
	}
	S, A := curvature.ToDense(s.Exact()), curvature.ToDense(s.Decoupled())
	ag, err := CompareDense("d", S, A, o.P(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(ag.TraceRatio-st.Ratio)) > 1e-10 {
		t.Fatalf("trace ratio %v vs strength ratio %v", ag.TraceRatio, st.Ratio)
	}
}

// A zero exact covariance (B = N without replacement) leaves every measure undefined, with
// the reason, rather than NaN cosines and an overlap of 1.
func TestZeroCovarianceIsUndefined(t *testing.T) {
	w, theta := smallNet(t, 1)
	N := w.Objective().N()
	s := NewState(w, theta, sgd.Epoch, N)
	a, err := s.Analyze(AnalyzeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Decoupled != nil || len(a.Notes) == 0 || !strings.Contains(a.Notes[0], "no noise") {
		t.Fatalf("B = N: %+v %v", a.Decoupled, a.Notes)
	}
	P := w.Objective().P()
	ag, err := CompareDense("d", make([]float64, P*P), curvature.ToDense(s.Decoupled()), P, 2)
	if err != nil || ag.Undefined == "" || !math.IsNaN(float64(ag.Cosine)) || !math.IsNaN(float64(ag.Overlap)) {
		t.Fatalf("zero S: %+v %v", ag, err)
	}
	if err := num.Check(ag); err != nil {
		t.Fatal(err)
	}
	// An approximation of negative trace (H* taken at a saddle) is not compared either.
	r := NewState(w, theta, sgd.Replacement, 1)
	neg := curvature.ToDense(r.Decoupled())
	for i := range neg {
		neg[i] = -neg[i]
	}
	S := curvature.ToDense(r.Exact())
	ag, err = CompareDense("h", S, neg, P, 2)
	if err != nil || !strings.Contains(ag.Undefined, "negative") || num.Check(ag) != nil {
		t.Fatalf("negative approximation: %+v %v", ag, err)
	}
}

// Identical samples: every per-sample gradient is the mean gradient, so the noise is exactly
// zero. Computed as a difference of moments it is rounding (about 1e-16 of the moments), which
// would make every ratio to it enormous; the analysis must report zero noise and compare nothing.
func TestIdenticalSamplesHaveNoNoise(t *testing.T) {
	// (This seed gives a difference of moments of +1.4e-14 without the rounding floor.)
	ds := data.Gauss(1, 6, 1, 4)
	const copies = 7
	ds.X, ds.Y = slices.Repeat(ds.X, copies), slices.Repeat(ds.Y, copies)
	ds.N = copies
	m, _ := model.NewMLP([]int{6, 8, 1}, model.Tanh, true)
	o, err := model.NewObjective(m, model.MSE{}, ds)
	if err != nil {
		t.Fatal(err)
	}
	theta := make([]float64, o.P())
	m.Init(theta, rand.New(rand.NewPCG(4, 3)))
	s := NewState(o.NewWorker(1, 0), theta, sgd.Replacement, 1)
	a, err := s.Analyze(AnalyzeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Strength.Noise != 0 || !math.IsNaN(float64(a.Strength.Ratio)) || a.Decoupled != nil {
		t.Fatalf("identical samples: Noise %v, ratio %v, decoupled %+v", a.Strength.Noise, a.Strength.Ratio,
			a.Decoupled)
	}
	if len(a.Notes) == 0 || !strings.Contains(a.Notes[0], "no noise") {
		t.Fatalf("no note: %v", a.Notes)
	}
	// One sample more, different from the rest, and the noise is a positive number again.
	ds2 := data.Gauss(2, 6, 1, 5)
	ds2.X, ds2.Y = append(ds.X, ds2.X[6:]...), append(ds.Y, ds2.Y[1:]...)
	ds2.N = copies + 1
	o2, err := model.NewObjective(m, model.MSE{}, ds2)
	if err != nil {
		t.Fatal(err)
	}
	if st := NewState(o2.NewWorker(1, 0), theta, sgd.Replacement, 1).MeasureStrength(true); !(st.Noise > 0) {
		t.Fatalf("distinct samples: Noise = %v", st.Noise)
	}
}
