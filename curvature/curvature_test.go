package curvature

import (
	"errors"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/model"
)

// synthetic returns a dense symmetric matrix Q diag(eigs) Q^T with Q a product of three
// random Householder reflections (so the matrix is dense and its spectrum known exactly).
func synthetic(eigs []float64, seed uint64) Dense {
	n := len(eigs)
	rng := rand.New(rand.NewPCG(seed, 3))
	a := make([]float64, n*n)
	for i, l := range eigs {
		a[i*n+i] = l
	}
	u, au := make([]float64, n), make([]float64, n)
	for r := 0; r < 3; r++ {
		for i := range u {
			u[i] = rng.NormFloat64()
		}
		scale(1/norm(u), u)
		// A <- H A H with H = I - 2uu^T:  A - 2 u (A u)^T - 2 (A u) u^T + 4 (u^T A u) u u^T.
		Dense{n, a}.Apply(u, au)
		c := dot(u, au)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				a[i*n+j] += -2*u[i]*au[j] - 2*au[i]*u[j] + 4*c*u[i]*u[j]
			}
		}
	}
	return Dense{n, a}
}

// spectrum: 6 outliers, a bulk in [0, 1], a few negative eigenvalues, P = 2000.
func testSpectrum(rng *rand.Rand) []float64 {
	eigs := []float64{40, 25, 17, 12, 9, 7.5, -3, -1.5, -0.8}
	for len(eigs) < 2000 {
		eigs = append(eigs, rng.Float64())
	}
	return eigs
}

func sortedDesc(x []float64) []float64 {
	s := append([]float64(nil), x...)
	sort.Sort(sort.Reverse(sort.Float64Slice(s)))
	return s
}

func TestLanczosSynthetic(t *testing.T) {
	eigs := testSpectrum(rand.New(rand.NewPCG(1, 1)))
	A := synthetic(eigs, 2)
	res, err := Lanczos(A, LanczosOptions{K: 5, Which: BothEnds, Vectors: true})
	if err != nil {
		t.Fatal(err)
	}
	want := sortedDesc(eigs)
	exp := append(append([]float64(nil), want[:5]...), want[1999], want[1998], want[1997], want[1996], want[1995])
	if len(res.Values) != len(exp) || len(res.Residuals) != len(exp) {
		t.Fatalf("%d values and %d residuals, want %d", len(res.Values), len(res.Residuals), len(exp))
	}
	for i, v := range res.Values {
		if e := math.Abs(v-exp[i]) / math.Abs(exp[i]); e > 1e-8 {
			t.Errorf("eigenvalue %d: %v, want %v (relative error %.2g)", i, v, exp[i], e)
		}
	}
	t.Logf("Lanczos both ends, k=5, P=2000: %d matvecs, residuals %.2g", res.Matvecs, res.Residuals)
}

// A repeated eigenvalue is seen once by a single Krylov space; the deflation check must
// find the other copies.
func TestLanczosRepeatedEigenvalue(t *testing.T) {
	eigs := []float64{5, 5, 5, 3}
	rng := rand.New(rand.NewPCG(3, 3))
	for len(eigs) < 300 {
		eigs = append(eigs, rng.Float64())
	}
	res, err := Lanczos(synthetic(eigs, 4), LanczosOptions{K: 4})
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range []float64{5, 5, 5, 3} {
		if math.Abs(res.Values[i]-w) > 1e-8 {
			t.Fatalf("top-4 %v, want [5 5 5 3]", res.Values)
		}
	}
}

func TestLanczosNotConvergedAndBadK(t *testing.T) {
	A := synthetic(testSpectrum(rand.New(rand.NewPCG(1, 1))), 2)
	res, err := Lanczos(A, LanczosOptions{K: 5, MaxIter: 12, NoDeflationCheck: true})
	if !errors.Is(err, ErrNotConverged) || res.Converged || len(res.Values) != 5 {
		t.Fatalf("a 12-step run must report non-convergence with its partial result: %v %+v", err, res.Values)
	}
	if _, err := Lanczos(Dense{3, make([]float64, 9)}, LanczosOptions{K: 4}); err == nil {
		t.Fatal("k > P accepted")
	}
}

// mlpHessian builds a tanh network with about 2000 parameters on Gaussian data, away from a
// minimum so that the Hessian has negative eigenvalues, and its dense Hessian.
func mlpHessian(t *testing.T, hidden int) (Operator, []float64, []float64) {
	ds := data.Gauss(300, 10, 1, 9)
	m, _ := model.NewMLP([]int{10, hidden, hidden, 1}, model.Tanh, true)
	o, err := model.NewObjective(m, model.MSE{}, ds)
	if err != nil {
		t.Fatal(err)
	}
	theta := make([]float64, o.P())
	m.Init(theta, rand.New(rand.NewPCG(4, 4)))
	for i := range theta {
		theta[i] *= 2
	}
	w := o.NewWorker(2, 0)
	H := w.DenseHessian(theta)
	vals, _, err := Eigen(o.P(), H, false)
	if err != nil {
		t.Fatal(err)
	}
	return Hessian(w, theta), H, vals
}

func TestLanczosMLPHessianAgainstDense(t *testing.T) {
	hidden := 40 // P = 2121
	if testing.Short() {
		hidden = 20 // P = 661
	}
	op, _, vals := mlpHessian(t, hidden)
	P := op.Dim()
	res, err := Lanczos(op, LanczosOptions{K: 5, Which: BothEnds})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		top, bot := vals[P-1-i], vals[i]
		if e := math.Abs(res.Values[i]-top) / math.Abs(top); e > 1e-8 {
			t.Errorf("top %d: %v vs dense %v (rel %.2g)", i, res.Values[i], top, e)
		}
		if e := math.Abs(res.Values[5+i]-bot) / math.Abs(bot); e > 1e-8 {
			t.Errorf("bottom %d: %v vs dense %v (rel %.2g)", i, res.Values[5+i], bot, e)
		}
	}
	if vals[0] >= 0 {
		t.Errorf("test point should have negative curvature, smallest eigenvalue %v", vals[0])
	}
	t.Logf("P=%d: top %.6g, bottom %.6g, %d Hessian-vector products", P, res.Values[:5], res.Values[5:], res.Matvecs)
}

func TestPowerIteration(t *testing.T) {
	eigs := []float64{10, -6, 3}
	rng := rand.New(rand.NewPCG(5, 5))
	for len(eigs) < 200 {
		eigs = append(eigs, rng.Float64())
	}
	res, err := PowerIteration(synthetic(eigs, 6), 3, 1e-13, 5000, rng)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range []float64{10, -6, 3} {
		if math.Abs(res.Values[i]-w) > 1e-6 {
			t.Fatalf("power iteration %v, want [10 -6 3]", res.Values)
		}
	}
}

// Trace estimators: the estimate must be within 4 standard errors of the exact trace; on a
// spectrum dominated by a few large eigenvalues (low effective rank), Hutch++, which removes
// them exactly, must be far more precise than Hutchinson at the same number of products.
func TestTraces(t *testing.T) {
	eigs := testSpectrum(rand.New(rand.NewPCG(1, 1)))
	A := synthetic(eigs, 2)
	exact := 0.0
	for _, l := range eigs {
		exact += l
	}
	rng := rand.New(rand.NewPCG(8, 8))
	h := Hutchinson(A, 300, rng)
	if math.Abs(h.Value-exact) > 4*h.SE {
		t.Errorf("Hutchinson %v +- %v, exact %v", h.Value, h.SE, exact)
	}
	hpp, err := HutchPP(A, 300, rng)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(hpp.Value-exact) > 4*hpp.SE {
		t.Errorf("Hutch++ %v +- %v, exact %v", hpp.Value, hpp.SE, exact)
	}
	offs, lens := []int{0, 500, 1500}, []int{500, 1000, 500}
	bt := BlockTraces(A, offs, lens, 300, rng)
	for b := range offs {
		want := 0.0
		for i := offs[b]; i < offs[b]+lens[b]; i++ {
			want += A.A[i*A.N+i]
		}
		if math.Abs(bt[b].Value-want) > 4*bt[b].SE {
			t.Errorf("block %d trace %v +- %v, exact %v", b, bt[b].Value, bt[b].SE, want)
		}
	}
	t.Logf("trace %.4f: Hutchinson %.4f +- %.4f, Hutch++ %.4f +- %.4f", exact, h.Value, h.SE, hpp.Value, hpp.SE)
	// Low effective rank: 20 eigenvalues of order 1000 over a bulk of 1980 at 0.01.
	low := make([]float64, 2000)
	exact = 0
	for i := range low {
		low[i] = 0.01 * rng.Float64()
		if i < 20 {
			low[i] = 1000 + 10*float64(i)
		}
		exact += low[i]
	}
	B := synthetic(low, 5)
	h = Hutchinson(B, 300, rng)
	if hpp, err = HutchPP(B, 300, rng); err != nil {
		t.Fatal(err)
	}
	if math.Abs(hpp.Value-exact) > 4*hpp.SE+1e-9*exact || math.Abs(h.Value-exact) > 4*h.SE {
		t.Errorf("low rank: trace %v, Hutchinson %v +- %v, Hutch++ %v +- %v", exact, h.Value, h.SE, hpp.Value, hpp.SE)
	}
	if !(hpp.SE < 0.01*h.SE) {
		t.Errorf("low rank: Hutch++'s standard error %v is not far below Hutchinson's %v", hpp.SE, h.SE)
	}
	t.Logf("low rank, trace %.4f: Hutchinson %.4f +- %.4f, Hutch++ %.6f +- %.2g", exact, h.Value, h.SE, hpp.Value, hpp.SE)
}

// SLQ: the smoothed density agrees with the dense one within 4 standard errors plus the
// quadrature bias bound 1e-3 (60 Lanczos steps resolve a kernel of width 0.05 well); the
// Maddox dimension and trace estimates agree within 4 standard errors.
func TestSLQ(t *testing.T) {
	eigs := testSpectrum(rand.New(rand.NewPCG(1, 1)))
	A := synthetic(eigs, 2)
	q := SLQ(A, 20, 60, rand.New(rand.NewPCG(9, 9)))
	var grid []float64
	for x := -4.0; x <= 42; x += 0.1 {
		grid = append(grid, x)
	}
	rho, se := q.Density(grid, 0.05)
	ref := DenseDensity(eigs, grid, 0.05)
	worst := 0.0
	for i := range grid {
		z := (math.Abs(rho[i]-ref[i]) - 1e-3) / se[i]
		if se[i] == 0 {
			z = (math.Abs(rho[i]-ref[i]) - 1e-3) / 1e-12
		}
		worst = math.Max(worst, z)
	}
	if worst > 4 {
		t.Errorf("SLQ density deviates by %.1f standard errors", worst)
	}
	md := q.Trace(MaddoxFunc(1))
	if want := Maddox(eigs, 1); math.Abs(md.Value-want) > 4*md.SE {
		t.Errorf("Maddox SLQ %v +- %v, exact %v", md.Value, md.SE, want)
	}
}

func TestFindOutliers(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	top := []float64{9, 8, 7}
	for i := 0; i < 20; i++ {
		top = append(top, rng.Float64())
	}
	o := FindOutliers(top, false)
	if o.N != 3 || math.Abs(o.HStar-8) > 1e-12 {
		t.Fatalf("outliers %+v, want n=3 h*=8", o)
	}
	// Linear regression: the whole spectrum, no bulk: every eigenvalue is an outlier.
	o = FindOutliers([]float64{1.02, 0.99, 1.01, 0.98, 1.0}, true)
	if o.N != 5 || math.Abs(o.HStar-1) > 1e-12 {
		t.Fatalf("full spectrum %+v, want n=5", o)
	}
	// A smooth spectrum has no outliers.
	if o := FindOutliers([]float64{1, 0.9, 0.8, 0.7, 0.6}, false); o.N != 0 {
		t.Fatalf("smooth spectrum gave n=%d", o.N)
	}
}

// Analyze on a known spectrum: outliers, traces and per-block traces within their errors.
func TestAnalyze(t *testing.T) {
	eigs := []float64{30, 20, 15}
	rng := rand.New(rand.NewPCG(2, 9))
	for len(eigs) < 400 {
		eigs = append(eigs, rng.Float64())
	}
	A := synthetic(eigs, 5)
	a, err := Analyze(A, AnalyzeOptions{K: 5, Probes: 40, Blocks: []BlockSpec{{"a", 0, 100}, {"b", 100, 300}}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Outliers.N != 3 || math.Abs(a.Outliers.HStar-65.0/3) > 1e-8 {
		t.Fatalf("outliers %+v", a.Outliers)
	}
	exact := 0.0
	for _, l := range eigs {
		exact += l
	}
	if math.Abs(a.HutchPP.Value-exact) > 4*a.HutchPP.SE+1e-9 {
		t.Fatalf("trace %v +- %v, exact %v", a.HutchPP.Value, a.HutchPP.SE, exact)
	}
	for i, b := range a.Blocks {
		want := 0.0
		off := []int{0, 100}[i]
		for j := off; j < off+b.Size; j++ {
			want += A.A[j*A.N+j]
		}
		if math.Abs(b.Trace.Value-want) > 4*b.Trace.SE {
			t.Fatalf("block %s trace %v +- %v, exact %v", b.Name, b.Trace.Value, b.Trace.SE, want)
		}
	}
}

// With the fewest products Hutch++ still estimates the whole trace (unbiased: the mean over
// seeds matches it within its standard error), never only the sketch's part with a zero
// standard error.
func TestHutchPPFewProducts(t *testing.T) {
	n := 20
	a := make([]float64, n*n)
	trace := 0.0
	for i := 0; i < n; i++ {
		a[i*n+i] = 0.5 + float64(i%7)/3
		trace += a[i*n+i]
	}
	op := Dense{N: n, A: a}
	var xs []float64
	for s := uint64(0); s < 2000; s++ {
		e, err := HutchPP(op, 3, rand.New(rand.NewPCG(s, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if e.SE == 0 {
			t.Fatalf("seed %d: estimate %v with a zero standard error from one remainder probe", s, e.Value)
		}
		xs = append(xs, e.Value)
	}
	m, sd := 0.0, 0.0
	for _, x := range xs {
		m += x / float64(len(xs))
	}
	for _, x := range xs {
		sd += (x - m) * (x - m) / float64(len(xs)-1)
	}
	if se := math.Sqrt(sd / float64(len(xs))); math.Abs(m-trace) > 4*se {
		t.Fatalf("mean Hutch++ estimate %v, trace %v (standard error %v)", m, trace, se)
	}
}
