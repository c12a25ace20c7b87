package model

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/fault"
)

// Five-point central differences with step h have truncation error ~h^4 |f^(5)|/30 and
// rounding error ~eps |f| / h. With h = 1e-4 and O(1) values both are below ~1e-11 (and stay
// small where a random model's outputs reach 100), so a relative error of 1e-6 (relative to
// the larger of the two vectors' norms) leaves a wide margin while still catching any wrong
// term, which would be O(1) relative.
const (
	fdStep = 1e-4
	fdTol  = 1e-6
)

// kinkGap is the distance from a ReLU kink or a max-pooling tie below which a case is
// skipped: the stencil moves pre-activations by up to 2 fdStep |J v|, which reaches 1e-3.
const kinkGap = 1e-2

// setup draws a random model, loss, dataset and parameter point.
type setup struct {
	obj   *Objective
	theta []float64
	desc  string
}

func drawSetup(t *rapid.T, kinds ...string) setup {
	seed := rapid.Uint64().Draw(t, "seed")
	rng := rand.New(rand.NewPCG(seed, 1))
	n := rapid.IntRange(1, 7).Draw(t, "N")
	d := rapid.IntRange(1, 5).Draw(t, "D")
	if len(kinds) == 0 {
		kinds = []string{"mlp", "linear", "doublewell", "cnn", "asymwell"}
	}
	kind := rapid.SampledFrom(kinds).Draw(t, "kind")
	var m Model
	var loss Loss = MSE{}
	k := 1
	switch kind {
	case "mlp":
		k = rapid.IntRange(1, 3).Draw(t, "K")
		hidden := rapid.SliceOfN(rapid.IntRange(1, 5), 0, 3).Draw(t, "hidden")
		widths := append(append([]int{d}, hidden...), k)
		act := Activation(rapid.IntRange(0, 2).Draw(t, "act"))
		mm, err := NewMLP(widths, act, rapid.Bool().Draw(t, "bias"))
		if err != nil {
			t.Fatal(err)
		}
		m = mm
		if k >= 2 && rapid.Bool().Draw(t, "ce") {
			loss = CrossEntropy{}
		}
	case "linear":
		k = rapid.IntRange(1, 3).Draw(t, "K")
		m = NewLinear(d, k, rapid.Bool().Draw(t, "bias"))
	case "doublewell":
		m = &DoubleWell{A: rapid.Float64Range(0.1, 2).Draw(t, "a"), N: d}
	case "asymwell":
		m = &AsymWell{A: rapid.Float64Range(0.1, 1).Draw(t, "a"), K: rapid.Float64Range(-0.5, 0.5).Draw(t, "k"),
			Gate: rapid.Bool().Draw(t, "gate"), N: d}
	case "cnn":
		m = drawCNN(t)
		d, k = m.InDim(), m.OutDim()
		if k >= 2 && rapid.Bool().Draw(t, "ce") {
			loss = CrossEntropy{}
		}
	}
	ds := &data.Dataset{Spec: "random", N: n, D: d, K: k, X: make([]float64, n*d), Y: make([]float64, n*k)}
	for i := range ds.X {
		ds.X[i] = rng.NormFloat64()
	}
	for i := 0; i < n; i++ {
		if _, ce := loss.(CrossEntropy); ce {
			ds.Y[i*k+rng.IntN(k)] = 1
		} else {
			for j := 0; j < k; j++ {
				ds.Y[i*k+j] = rng.NormFloat64()
			}
		}
	}
	obj, err := NewObjective(m, loss, ds)
	if err != nil {
		t.Fatal(err)
	}
	theta := make([]float64, m.NumParams())
	for i := range theta {
		theta[i] = rng.NormFloat64()
	}
	desc := fmt.Sprintf("%s loss=%s N=%d", m.Spec(), loss.Name(), n)
	if mm, ok := m.(*MLP); ok && mm.Act == ReLU && nearKink(obj, theta) {
		t.Skip("a ReLU pre-activation lies within the finite-difference step of its kink")
	}
	if _, ok := m.(*CNN); ok && cnnNearKink(obj, theta) {
		t.Skip("a ReLU pre-activation or a max-pooling tie lies within the finite-difference step")
	}
	return setup{obj, theta, desc}
}

// drawCNN draws a tiny CNN: one or two convolutions (kernel 1-3, stride 1-2, padding 0-1),
// an optional max or average pooling, an optional hidden fully connected layer, 1-3 outputs.
func drawCNN(t *rapid.T) *CNN {
	in := Shape{rapid.IntRange(3, 6).Draw(t, "H"), rapid.IntRange(3, 6).Draw(t, "W"), rapid.IntRange(1, 2).Draw(t, "C")}
	var layers []Layer
	cur := in
	for i := range rapid.IntRange(1, 2).Draw(t, "convs") {
		k := rapid.IntRange(1, min(3, cur.H, cur.W)).Draw(t, fmt.Sprintf("k%d", i))
		l := Layer{Kind: 'c', Out: rapid.IntRange(1, 3).Draw(t, fmt.Sprintf("out%d", i)), K: k,
			S: rapid.IntRange(1, 2).Draw(t, fmt.Sprintf("s%d", i)), Pad: rapid.IntRange(0, 1).Draw(t,
				fmt.Sprintf("p%d", i))}
		layers = append(layers, l)
		cur = Shape{(cur.H+2*l.Pad-l.K)/l.S + 1, (cur.W+2*l.Pad-l.K)/l.S + 1, l.Out}
	}
	if cur.H >= 2 && cur.W >= 2 && rapid.Bool().Draw(t, "pool") {
		kind := rapid.SampledFrom([]byte{'m', 'a'}).Draw(t, "poolkind")
		s := rapid.IntRange(1, 2).Draw(t, "pools")
		layers = append(layers, Layer{Kind: kind, K: 2, S: s})
	}
	if rapid.Bool().Draw(t, "hidden") {
		layers = append(layers, Layer{Kind: 'f', Out: rapid.IntRange(1, 4).Draw(t, "fh")})
	}
	layers = append(layers, Layer{Kind: 'f', Out: rapid.IntRange(1, 3).Draw(t, "K")})
	m, err := NewCNN(in, layers, Activation(rapid.IntRange(0, 2).Draw(t, "act")), rapid.Bool().Draw(t, "bias"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// cnnNearKink reports whether a ReLU pre-activation is within kinkGap of zero or a max-pooling
// window's two largest inputs are within kinkGap of each other.
func cnnNearKink(o *Objective, theta []float64) bool {
	m := o.Model.(*CNN)
	e := m.NewEval(o.N()).(*cnnEval)
	f := make([]float64, o.N()*o.K())
	e.Forward(theta, o.Data.X, o.N(), f)
	for k, op := range e.ops {
		x := e.bufs[k]
		switch op := op.(type) {
		case *actOp:
			if op.act != ReLU {
				continue
			}
			for _, z := range x[:o.N()*op.shape.Size()] {
				if math.Abs(z) < kinkGap {
					return true
				}
			}
		case *poolOp:
			if !op.max {
				continue
			}
			y := e.bufs[k+1]
			for i := 0; i < o.N(); i++ {
				for oi := 0; oi < op.outS.Size(); oi++ {
					best := y[i*op.outS.Size()+oi]
					c := oi % op.in.C
					oy, ox := oi/op.in.C/op.outS.W, oi/op.in.C%op.outS.W
					for ky := 0; ky < op.k; ky++ {
						for kx := 0; kx < op.k; kx++ {
							j := ((oy*op.s+ky)*op.in.W+ox*op.s+kx)*op.in.C + c
							if v := x[i*op.in.Size()+j]; j != int(op.arg[i*op.outS.Size()+oi]) && best-v < kinkGap {
								return true
							}
						}
					}
				}
			}
		}
	}
	return false
}

// nearKink reports whether any hidden pre-activation is within kinkGap of zero, where
// central differences of a ReLU network are not valid.
func nearKink(o *Objective, theta []float64) bool {
	m := o.Model.(*MLP)
	e := m.NewEval(o.N()).(*mlpEval)
	f := make([]float64, o.N()*o.K())
	e.Forward(theta, o.Data.X, o.N(), f)
	for l := 1; l < m.layers(); l++ {
		for _, z := range e.Z[l][:o.N()*m.Widths[l]] {
			if math.Abs(z) < kinkGap {
				return true
			}
		}
	}
	return false
}

func relErr(a, b []float64) float64 {
	num, den := 0.0, 0.0
	for i := range a {
		num += (a[i] - b[i]) * (a[i] - b[i])
		den = math.Max(den, math.Max(a[i]*a[i], b[i]*b[i]))
	}
	return math.Sqrt(num) / math.Max(math.Sqrt(den), 1e-3)
}

// fd returns the five-point central-difference derivative of the vector function fn along v:
// (8 (f(h) - f(-h)) - (f(2h) - f(-2h))) / (12 h).
func fd(theta, v []float64, out int, fn func(th, y []float64)) []float64 {
	at := func(s float64) []float64 {
		t := make([]float64, len(theta))
		for i := range theta {
			t[i] = theta[i] + s*fdStep*v[i]
		}
		y := make([]float64, out)
		fn(t, y)
		return y
	}
	y1, ym1, y2, ym2 := at(1), at(-1), at(2), at(-2)
	for i := range y1 {
		y1[i] = (8*(y1[i]-ym1[i]) - (y2[i] - ym2[i])) / (12 * fdStep)
	}
	return y1
}

func unit(p, j int) []float64 { e := make([]float64, p); e[j] = 1; return e }

func randVec(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return v
}

func TestDerivativesAgainstFiniteDifferences(t *testing.T) { checkDerivatives(t) }

// TestCNNDerivatives draws convolutional networks only (convolutions with stride and
// padding, max and average pooling, ReLU/tanh/linear, MSE and cross-entropy).
func TestCNNDerivatives(t *testing.T) { checkDerivatives(t, "cnn") }

// checkDerivatives checks every derivative of random models of the given kinds against
// central differences.
func checkDerivatives(t *testing.T, kinds ...string) {
	worst := map[string]float64{}
	cases, drawn := 0, 0
	rapid.Check(t, func(rt *rapid.T) {
		drawn++
		s := drawSetup(rt, kinds...)
		cases++
		o, theta := s.obj, s.theta
		P, N, K := o.P(), o.N(), o.K()
		w := o.NewWorker(rapid.IntRange(1, 2).Draw(rt, "par"), rapid.IntRange(1, 4).Draw(rt, "chunk"))
		rng := rand.New(rand.NewPCG(7, 7))
		check := func(name string, got, want []float64) {
			e := relErr(got, want)
			worst[name] = math.Max(worst[name], e)
			if e > fdTol {
				rt.Fatalf("%s: %s relative error %.3g\n got  %v\n want %v", s.desc, name, e, got, want)
			}
		}
		// Gradient against d L / d theta_j.
		grad := make([]float64, P)
		w.LossGrad(theta, grad)
		fdg := make([]float64, P)
		for j := 0; j < P; j++ {
			fdg[j] = fd(theta, unit(P, j), 1, func(th, y []float64) { y[0] = w.Loss(th) })[0]
		}
		check("gradient", grad, fdg)
		// Per-sample gradients against d l_mu / d theta_j.
		rows := make([]float64, N*P)
		w.PerSampleGrads(theta, nil, rows)
		colFD := make([]float64, N*P)
		for j := 0; j < P; j++ {
			c := fd(theta, unit(P, j), N, func(th, y []float64) { w.PerSample(th, y, nil) })
			for mu := 0; mu < N; mu++ {
				colFD[mu*P+j] = c[mu]
			}
		}
		check("per-sample gradients", rows, colFD)
		// JVP against directional derivative of the outputs; VJP by the adjoint identity
		// and against the rows of the finite-difference Jacobian.
		v := randVec(rng, P)
		jv := make([]float64, N*K)
		w.JVP(theta, v, jv)
		check("JVP", jv, fd(theta, v, N*K, w.Outputs))
		u := randVec(rng, N*K)
		jtu := make([]float64, P)
		w.VJP(theta, u, jtu)
		jac := make([]float64, N*K*P) // finite-difference Jacobian, row mu*K+k
		for j := 0; j < P; j++ {
			c := fd(theta, unit(P, j), N*K, w.Outputs)
			for r := range c {
				jac[r*P+j] = c[r]
			}
		}
		want := make([]float64, P)
		for r := 0; r < N*K; r++ {
			for j := 0; j < P; j++ {
				want[j] += jac[r*P+j] * u[r]
			}
		}
		check("VJP", jtu, want)
		og := make([]float64, N*K*P)
		w.OutputGrads(theta, nil, og)
		check("output gradients", og, jac)
		// Gauss-Newton product against (1/N) sum_mu J_mu^T Hl J_mu v with the FD Jacobian.
		gv := make([]float64, P)
		w.GNVP(theta, v, gv)
		f := make([]float64, N*K)
		w.Outputs(theta, f)
		wantGN := make([]float64, P)
		jmv, hjv := make([]float64, K), make([]float64, K)
		for mu := 0; mu < N; mu++ {
			for k := 0; k < K; k++ {
				jmv[k] = 0
				for j := 0; j < P; j++ {
					jmv[k] += jac[(mu*K+k)*P+j] * v[j]
				}
			}
			o.Loss.Curv(f[mu*K:(mu+1)*K], o.Data.Target(mu), jmv, hjv)
			for k := 0; k < K; k++ {
				for j := 0; j < P; j++ {
					wantGN[j] += jac[(mu*K+k)*P+j] * hjv[k] / float64(N)
				}
			}
		}
		check("Gauss-Newton product", gv, wantGN)
		// Exact Hessian-vector product against the directional derivative of the gradient.
		hv := make([]float64, P)
		w.HVP(theta, v, hv)
		check("Hessian-vector product", hv, fd(theta, v, P, func(th, y []float64) { w.LossGrad(th, y) }))
		// Dense Hessian against finite differences of the gradient, column by column.
		if P <= 40 {
			H := w.DenseHessian(theta)
			fdH := make([]float64, P*P)
			for j := 0; j < P; j++ {
				c := fd(theta, unit(P, j), P, func(th, y []float64) { w.LossGrad(th, y) })
				for i := range c {
					fdH[i*P+j] = c[i]
				}
			}
			check("dense Hessian", H, fdH)
		}
	})
	for name, e := range worst {
		t.Logf("worst relative error of %-22s %.2e", name+":", e)
	}
	// Draws near a kink are skipped; most must be usable, or the test checks little (with
	// -short rapid runs fewer cases, so the bound is a fraction, not a count).
	if cases == 0 || 2*cases < drawn {
		t.Errorf("only %d of %d drawn cases were checked (the rest skipped near kinks)", cases, drawn)
	}
}

// The double-well family's large-N landscape: minima at +-sqrt(a) with L* = sigma^2/2,
// saddle at 0 with L^s = (a^2 + sigma^2)/2. With N = 2e5 the sample moments differ
// from their expectations by O(1/sqrt(N)) ~ 2e-3, so compare to 2e-2.
func TestDoubleWellLandscape(t *testing.T) {
	const a, sigma = 0.25, 0.6
	ds := data.Gauss(200000, 2, sigma, 3)
	o, _ := NewObjective(&DoubleWell{A: a, N: 2}, MSE{}, ds)
	w := o.NewWorker(2, 0)
	lmin := w.Loss([]float64{math.Sqrt(a), 0})
	lsad := w.Loss([]float64{0, 0})
	if math.Abs(lmin-sigma*sigma/2) > 2e-2 || math.Abs(lsad-(a*a+sigma*sigma)/2) > 2e-2 {
		t.Fatalf("L* = %v (want %v), L^s = %v (want %v)", lmin, sigma*sigma/2, lsad, (a*a+sigma*sigma)/2)
	}
	H := w.DenseHessian([]float64{math.Sqrt(a), 0})
	if math.Abs(H[0]-4*a) > 2e-2 || math.Abs(H[3]-1) > 2e-2 || math.Abs(H[1]) > 2e-2 {
		t.Fatalf("Hessian at the minimum %v, want diag(%v, 1)", H, 4*a)
	}
}

func TestGlorotInit(t *testing.T) {
	m, _ := NewMLP([]int{784, 100, 1}, ReLU, true)
	theta := make([]float64, m.NumParams())
	m.Init(theta, rand.New(rand.NewPCG(1, 2)))
	s := math.Sqrt(6.0 / 884)
	w := theta[:78400]
	var sum2 float64
	for _, v := range w {
		if math.Abs(v) > s {
			t.Fatalf("weight %v outside the Glorot bound %v", v, s)
		}
		sum2 += v * v
	}
	// Variance of U(-s, s) is s^2/3; the sample variance of 78400 draws has relative
	// standard error sqrt(0.8/78400) ~ 0.0032 (kurtosis 1.8), so 4 sigma is 1.3%.
	if got, want := sum2/78400, s*s/3; math.Abs(got/want-1) > 0.013 {
		t.Fatalf("weight variance %v, want %v", got, want)
	}
	for _, v := range theta[78400:78500] {
		if v != 0 {
			t.Fatal("biases must start at zero")
		}
	}
}

func TestParse(t *testing.T) {
	good := map[string]string{"linear": "linear", "linear:bias": "linear:bias", "mlp:3-4-2:tanh": "mlp:3-4-2:tanh",
		"mlp:3-5-5-2:relu:nobias": "mlp:3-5-5-2:relu:nobias"}
	cnn := map[string]string{"cnn:4x4x1-c2k3p1-m2s2-f2": "cnn:4x4x1-c2k3p1-m2-f2:relu",
		"cnn:4x4x1-c2k3s1p0-a2s1-f3-f2:tanh:nobias": "cnn:4x4x1-c2k3-a2s1-f3-f2:tanh:nobias"}
	for spec, canon := range cnn {
		m, err := Parse(spec, 16, 2)
		if err != nil || m.Spec() != canon {
			t.Errorf("%s: %v (%v), want %s", spec, m, err, canon)
		}
	}
	for _, bad := range []string{"cnn:4x4-f2", "cnn:4x4x1-c2-f2", "cnn:4x4x1-c2k5-f2", "cnn:4x4x1-m5-f2",
		"cnn:4x4x1-f3-c2k3-f2", "cnn:4x4x1-c2k3", "cnn:4x4x1-q3-f2", "cnn:4x4x1-c2k3k3-f2", "cnn:4x4x1-f2:sigmoid"} {
		if _, err := Parse(bad, 16, 2); err == nil || !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("%s: error %v", bad, err)
		}
	}
	for in, want := range good {
		m, err := Parse(in, 3, 2)
		if err != nil || m.Spec() != want {
			t.Errorf("Parse(%q) = %v, %v", in, m, err)
		}
	}
	for _, bad := range []string{"cnn", "mlp", "mlp:3-x-2", "mlp:3-4-2:sigmoid", "mlp:4-4-2:relu", "mlp:3-4-1",
		"doublewell:a=-1", "linear:foo"} {
		if _, err := Parse(bad, 3, 2); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

// Moment-based evaluation of FeatureLinear models equals the data-pass evaluation.
func TestFeatureLandscape(t *testing.T) {
	for _, spec := range []string{"linear", "linear:bias", "doublewell:a=0.3", "asymwell:a=0.3,k=0.4,gate=1",
		"asymwell:a=0.2,k=-0.7"} {
		ds := data.Gauss(500, 3, 0.7, 8)
		for i := range ds.Y { // labels correlated with x so that every moment matters
			ds.Y[i] += 0.5*ds.X[3*i] - 0.2*ds.X[3*i+2]*ds.X[3*i+2]
		}
		o, _ := Build(spec, "mse", ds)
		fl, ok := NewFeatureLandscape(o, true)
		if !ok {
			t.Fatalf("%s: no feature landscape", spec)
		}
		w := o.NewWorker(1, 0)
		P := o.P()
		rng := rand.New(rand.NewPCG(3, 3))
		theta := randVec(rng, P)
		g1, g2 := make([]float64, P), make([]float64, P)
		l1 := w.LossGrad(theta, g1)
		l2 := fl.LossGrad(theta, g2)
		if math.Abs(l1-l2) > 1e-12*math.Abs(l1) || relErr(g1, g2) > 1e-12 {
			t.Fatalf("%s: loss %v vs %v, gradient %v vs %v", spec, l1, l2, g1, g2)
		}
		rows := make([]float64, o.N()*P)
		w.PerSampleGrads(theta, nil, rows)
		want := make([]float64, P*P)
		for mu := 0; mu < o.N(); mu++ {
			for i := 0; i < P; i++ {
				for j := 0; j < P; j++ {
					want[i*P+j] += rows[mu*P+i] * rows[mu*P+j] / float64(o.N())
				}
			}
		}
		for i := 0; i < P; i++ {
			for j := 0; j < P; j++ {
				want[i*P+j] -= g1[i] * g1[j]
			}
		}
		got := make([]float64, P*P)
		fl.NoiseCov(theta, got)
		if e := relErr(got, want); e > 1e-11 {
			t.Fatalf("%s: noise covariance relative error %v", spec, e)
		}
	}
}

// The sparse first-layer path gives the same derivatives as the dense one.
func TestSparseInputPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	n, d := 37, 100
	ds := sparseDataset(rng, "sparse", n, d, 0.2)
	m, _ := NewMLP([]int{d, 12, 2}, Tanh, true)
	o, _ := NewObjective(m, MSE{}, ds)
	theta := randVec(rng, o.P())
	v := randVec(rng, o.P())
	eval := func() [][]float64 {
		w := o.NewWorker(1, 16)
		g, hv, jv, rows := make([]float64, o.P()), make([]float64, o.P()), make([]float64, n*2), make([]float64,
			n*o.P())
		w.LossGrad(theta, g)
		w.HVP(theta, v, hv)
		w.JVP(theta, v, jv)
		w.PerSampleGrads(theta, nil, rows)
		return [][]float64{g, hv, jv, rows}
	}
	// Chunks of 16 rows take the sparse path in every build (the openblas one needs 200
	// rows by default).
	saved := sparseMinRows
	sparseMinRows = 0
	sparse := eval()
	sparseMinRows = saved
	denseOnly = true
	dense := eval()
	denseOnly = false
	for i := range sparse {
		if e := relErr(sparse[i], dense[i]); e > 1e-13 {
			t.Fatalf("quantity %d: sparse and dense paths differ by %g", i, e)
		}
	}
}

// Products through the forward cache equal those without it; changing theta in place
// drops the cache.
func TestForwardCache(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	n, d := 300, 80
	ds := sparseDataset(rng, "cache", n, d, 0.3)
	m, _ := NewMLP([]int{d, 9, 7, 2}, Tanh, true)
	o, _ := NewObjective(m, MSE{}, ds)
	theta, v, u := randVec(rng, o.P()), randVec(rng, o.P()), randVec(rng, n*2)
	products := func(w *Worker) [][]float64 {
		hv, gv, jv, ju := make([]float64, o.P()), make([]float64, o.P()), make([]float64, n*2), make([]float64, o.P())
		w.HVP(theta, v, hv)
		w.GNVP(theta, v, gv)
		w.JVP(theta, v, jv)
		w.VJP(theta, u, ju)
		return [][]float64{hv, gv, jv, ju}
	}
	plain := products(o.NewWorker(2, 64))
	w := o.NewWorker(2, 64)
	if !w.CacheForward(theta) {
		t.Fatal("no cache for an MLP")
	}
	cached := products(w)
	for i := range plain {
		if e := relErr(plain[i], cached[i]); e > 0 {
			t.Fatalf("product %d differs through the cache by %g", i, e)
		}
	}
	theta[0] += 0.5
	after := products(w)
	if w.fc != nil {
		t.Fatal("cache kept after theta changed")
	}
	fresh := products(o.NewWorker(2, 64))
	for i := range fresh {
		if relErr(fresh[i], after[i]) > 0 {
			t.Fatal("stale cache used after theta changed")
		}
	}
}

// sparseDataset is n samples of d inputs, each nonzero (uniform in [0, 1)) with the given
// density, and two N(0, 1) targets.
func sparseDataset(rng *rand.Rand, spec string, n, d int, density float64) *data.Dataset {
	ds := &data.Dataset{Spec: spec, N: n, D: d, K: 2, X: make([]float64, n*d), Y: make([]float64, n*2)}
	for i := range ds.X {
		if rng.Float64() < density {
			ds.X[i] = rng.Float64()
		}
	}
	for i := range ds.Y {
		ds.Y[i] = rng.NormFloat64()
	}
	return ds
}

// FuzzModelSpec: any spec either builds a model of the data's shape or fails with a
// one-line error of class ErrInvalid (never a panic, never a huge allocation).
func FuzzModelSpec(f *testing.F) {
	for _, s := range []string{"linear", "linear:bias", "mlp:3-4-2:tanh", "mlp:3-1e9-1e9-2", "mlp:3-2:nobias",
		"doublewell:a=0.5", "doublewell:a=NaN", "mlp", "mlp:3-0-2", "cnn:4x4x1-c2k3p1-m2-f2",
		"cnn:99999x99999x9999-c9999k3-f2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse(s, 3, 2)
		if err != nil {
			if !errors.Is(err, fault.ErrInvalid) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if m.InDim() != 3 || m.OutDim() != 2 || m.NumParams() <= 0 {
			t.Fatalf("%q: shape %d -> %d, P = %d", s, m.InDim(), m.OutDim(), m.NumParams())
		}
		if _, err := Parse(m.Spec(), 3, 2); err != nil {
			t.Fatalf("%q: canonical spec %q does not parse: %v", s, m.Spec(), err)
		}
	})
}

// Full-data results do not depend on how many goroutines ran the pass: the chunks are
// summed in a fixed grouping whatever the Worker's parallelism.
func TestWorkerParallelismInvariant(t *testing.T) {
	ds := data.Gauss(1000, 5, 1, 4)
	o, err := Build("mlp:5-7-3-1:tanh", "mse", ds)
	if err != nil {
		t.Fatal(err)
	}
	theta := make([]float64, o.P())
	o.Model.Init(theta, rand.New(rand.NewPCG(1, 2)))
	v := make([]float64, o.P())
	for i := range v {
		v[i] = math.Sin(float64(i))
	}
	results := map[int][]float64{}
	for _, par := range []int{1, 2, 3, 8} {
		w := o.NewWorker(par, 64)
		g, hv := make([]float64, o.P()), make([]float64, o.P())
		l := w.LossGrad(theta, g)
		w.HVP(theta, v, hv)
		results[par] = append(append([]float64{l}, g...), hv...)
	}
	for _, par := range []int{2, 3, 8} {
		for i, x := range results[par] {
			if x != results[1][i] {
				t.Fatalf("par %d: value %d is %v, par 1 gives %v", par, i, x, results[1][i])
			}
		}
	}
}
