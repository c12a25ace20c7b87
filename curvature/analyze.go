package curvature

import (
	"cmp"
	"errors"
	"math"
	"math/rand/v2"
)

// SmallDim is the largest dimension Analyze handles with a dense eigendecomposition.
const SmallDim = 64

// BlockSpec names a block of parameters for per-block analysis.
type BlockSpec struct {
	Name string
	Off  int
	Len  int
}

// AnalyzeOptions selects what Analyze computes.
type AnalyzeOptions struct {
	K        int       // top and bottom eigenpairs (default 10)
	Probes   int       // trace and SLQ probes (default 30)
	Steps    int       // SLQ Lanczos steps (default 80)
	MaddoxZ  []float64 // z values of the Maddox effective dimension (default 1)
	Blocks   []BlockSpec
	MaxIter  int // Lanczos iteration limit (default LanczosOptions' default)
	Rand     *rand.Rand
	Progress func(stage string)
}

// BlockResult is one block's trace and top eigenvalue (with the residual |A u - lambda u| of
// its eigenvector and whether Lanczos converged to it).
type BlockResult struct {
	Name  string   `json:"name"`
	Size  int      `json:"size"`
	Trace Estimate `json:"trace"`
	Top   struct {
		Value     float64 `json:"value"`
		Residual  float64 `json:"residual"`
		Converged bool    `json:"converged"`
	} `json:"top_eigenvalue"`
}

// Extremes are the top and bottom eigenvalues with their residual norms |A u - lambda u|,
// and how the Lanczos run that found them went.
type Extremes struct {
	Top         []float64 `json:"top"`
	TopResid    []float64 `json:"top_residuals"`
	Bottom      []float64 `json:"bottom"`
	BottomResid []float64 `json:"bottom_residuals"`
	Converged   bool      `json:"converged"`
	LanczosNote string    `json:"lanczos_note,omitempty"`
	Matvecs     int       `json:"matvecs"`
	// PowerTop is the top eigenvalue by power iteration, a cross-check of Lanczos.
	PowerTop float64 `json:"power_iteration_top"`
}

// Traces are the two stochastic trace estimates.
type Traces struct {
	Hutchinson Estimate `json:"hutchinson"`
	HutchPP    Estimate `json:"hutchpp"`
}

// DensityCurve is the stochastic Lanczos quadrature density on a grid, smoothed by Gaussians
// of width DensitySigma, with its standard error over the probes.
type DensityCurve struct {
	DensityGrid  []float64 `json:"grid"`
	Density      []float64 `json:"values"`
	DensitySE    []float64 `json:"se"`
	DensitySigma float64   `json:"sigma"`
}

// Analysis is the report of `sgdlab spectrum`.
type Analysis struct {
	Dim          int `json:"P"`
	Extremes     `json:"eigenvalues"`
	Traces       `json:"trace"`
	Outliers     Outliers      `json:"effective_dimension"`
	Maddox       []MaddoxValue `json:"maddox"`
	DensityCurve `json:"density"`
	Blocks       []BlockResult `json:"blocks,omitempty"`
}

// MaddoxValue is the Maddox effective dimension at one z, estimated by SLQ.
type MaddoxValue struct {
	Z        float64  `json:"z"`
	Estimate Estimate `json:"estimate"`
}

// Analyze runs the spectral analysis of op. A Lanczos run that does not converge is
// reported in the result (Converged false, LanczosNote) and returned as an error wrapping
// ErrNotConverged alongside the otherwise complete analysis.
func Analyze(op Operator, opt AnalyzeOptions) (*Analysis, error) {
	n := op.Dim()
	opt.K, opt.Probes, opt.Steps = cmp.Or(max(opt.K, 0), 10), cmp.Or(max(opt.Probes, 0), 30), cmp.Or(max(opt.Steps,
		0), 80)
	if len(opt.MaddoxZ) == 0 {
		opt.MaddoxZ = []float64{1}
	}
	if opt.Rand == nil {
		opt.Rand = rand.New(rand.NewPCG(7, 7))
	}
	stage := func(s string) {
		if opt.Progress != nil {
			opt.Progress(s)
		}
	}
	a := &Analysis{Dim: n}
	k := min(opt.K, n/2)
	if k < 1 {
		k = 1
	}
	which := BothEnds
	if 2*k > n {
		which = Largest
	}
	var res EigResult
	var lerr error
	var top []float64
	if n <= SmallDim {
		// Small operators: the whole spectrum from the dense matrix.
		stage("dense eigendecomposition")
		vals, vecs, err := Eigen(n, ToDense(op), true)
		if err != nil {
			return nil, err
		}
		res = EigResult{Converged: true, Matvecs: 2 * n}
		resid := make([]float64, n)
		u, au := make([]float64, n), make([]float64, n)
		for i := range vals {
			for r := 0; r < n; r++ {
				u[r] = vecs.At(r, i)
			}
			op.Apply(u, au)
			axpy(-vals[i], u, au)
			resid[i] = norm(au)
		}
		for i := n - 1; i >= 0; i-- {
			top = append(top, vals[i])
		}
		kk := min(opt.K, n)
		a.Top = top[:kk]
		for i := 0; i < kk; i++ {
			a.TopResid = append(a.TopResid, resid[n-1-i])
			a.Bottom = append(a.Bottom, vals[i])
			a.BottomResid = append(a.BottomResid, resid[i])
		}
		a.Outliers = FindOutliers(top, true)
		res.Values = top
	} else {
		stage("Lanczos")
		// One more top eigenvalue than reported, for the outlier gap rule.
		kt := min(k+1, n)
		if which == BothEnds && 2*kt > n {
			kt = k
		}
		res, lerr = Lanczos(op, LanczosOptions{K: kt, Which: which, MaxIter: opt.MaxIter, Rand: opt.Rand})
		if lerr != nil && !errors.Is(lerr, ErrNotConverged) {
			return nil, lerr
		}
		if lerr != nil {
			a.LanczosNote = lerr.Error()
		}
		top = res.Values[:kt]
		a.Top, a.TopResid = top[:min(k, kt)], res.Residuals[:min(k, kt)]
		if which == BothEnds {
			a.Bottom, a.BottomResid = res.Values[kt:], res.Residuals[kt:]
			a.Bottom, a.BottomResid = a.Bottom[:min(k, len(a.Bottom))], a.BottomResid[:min(k, len(a.BottomResid))]
		}
		a.Outliers = FindOutliers(top, kt == n)
	}
	a.Converged = res.Converged
	a.Matvecs = res.Matvecs
	stage("power iteration")
	if pr, err := PowerIteration(op, 1, 1e-8, 300, opt.Rand); err == nil || errors.Is(err, ErrNotConverged) {
		a.PowerTop = pr.Values[0]
	}
	stage("traces")
	a.Hutchinson = Hutchinson(op, opt.Probes, opt.Rand)
	hpp, err := HutchPP(op, 3*opt.Probes, opt.Rand)
	if err != nil {
		return nil, err
	}
	a.HutchPP = hpp
	stage("stochastic Lanczos quadrature")
	q := SLQ(op, opt.Probes, opt.Steps, opt.Rand)
	for _, z := range opt.MaddoxZ {
		a.Maddox = append(a.Maddox, MaddoxValue{Z: z, Estimate: q.Trace(MaddoxFunc(z))})
	}
	lo, hi := a.Top[0], a.Top[0]
	for _, v := range res.Values {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	lo = math.Min(lo, 0)
	span := hi - lo
	if span == 0 {
		span = math.Max(math.Abs(hi), 1)
	}
	a.DensitySigma = span / 200
	for x := lo - 0.05*span; x <= hi+0.05*span; x += span / 400 {
		a.DensityGrid = append(a.DensityGrid, x)
	}
	a.Density, a.DensitySE = q.Density(a.DensityGrid, a.DensitySigma)
	if len(opt.Blocks) > 0 {
		stage("per-block traces and top eigenvalues")
		offs, lens := make([]int, len(opt.Blocks)), make([]int, len(opt.Blocks))
		for i, b := range opt.Blocks {
			offs[i], lens[i] = b.Off, b.Len
		}
		tr := BlockTraces(op, offs, lens, opt.Probes, opt.Rand)
		for i, b := range opt.Blocks {
			br := BlockResult{Name: b.Name, Size: b.Len, Trace: tr[i]}
			r, err := Lanczos(Block(op, b.Off, b.Len), LanczosOptions{K: 1, Tol: 1e-6, Rand: opt.Rand,
				NoDeflationCheck: true})
			if err == nil || errors.Is(err, ErrNotConverged) {
				br.Top.Value, br.Top.Residual, br.Top.Converged = r.Values[0], r.Residuals[0], r.Converged
			}
			a.Blocks = append(a.Blocks, br)
		}
	}
	if lerr != nil {
		return a, lerr
	}
	return a, nil
}
