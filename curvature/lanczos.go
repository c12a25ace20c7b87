package curvature

import (
	"fmt"

	"gonum.org/v1/gonum/lapack"
	lapackgo "gonum.org/v1/gonum/lapack/gonum"

	"math"
	"math/rand/v2"
	"sort"
)

// Which selects the end of the spectrum Lanczos converges.
type Which int

const (
	Largest  Which = iota // algebraically largest eigenvalues
	Smallest              // algebraically smallest (most negative) eigenvalues
	BothEnds              // K largest and K smallest
)

// LanczosOptions configures Lanczos.
type LanczosOptions struct {
	K     int   // eigenpairs wanted at each requested end (>= 1, <= Dim)
	Which Which // Largest, Smallest or BothEnds
	// Tol is the residual tolerance |A u - lambda u| <= Tol * scale, where scale is the
	// largest |Ritz value|. The eigenvalue error is then about (Tol*scale)^2 / gap.
	// Zero means 1e-9.
	Tol     float64
	MaxIter int  // Krylov dimension limit; zero means min(Dim, 40*K+200)
	Vectors bool // return eigenvectors
	// NoDeflationCheck skips the extra pass that looks for eigenvalues a single Krylov
	// space misses (copies of repeated eigenvalues). Leave it false unless Dim is huge.
	NoDeflationCheck bool
	Rand             *rand.Rand // start vectors; nil means a fixed seed
}

// EigResult holds eigenpairs found by an iterative method.
type EigResult struct {
	// Values: for Largest in descending order, for Smallest ascending, for BothEnds the
	// K largest (descending) then the K smallest (ascending).
	Values    []float64
	Vectors   [][]float64 // unit eigenvectors (when requested)
	Residuals []float64   // true residual norms |A u - lambda u|
	Converged bool        // all residuals within tolerance
	Matvecs   int         // operator applications used
	Tol       float64     // the absolute residual tolerance that was applied
}

// ErrNotConverged is wrapped by errors from runs that hit MaxIter; the result is still returned.
var ErrNotConverged = fmt.Errorf("Lanczos did not converge")

// Lanczos computes extreme eigenpairs of the symmetric operator op with full
// re-orthogonalisation. A second, deflated pass (against the converged vectors) checks for
// eigenvalues the first Krylov space missed, such as further copies of a repeated eigenvalue.
// If the iteration limit is reached the partial result is returned together with an error
// wrapping ErrNotConverged that states the residuals.
func Lanczos(op Operator, opt LanczosOptions) (EigResult, error) {
	n := op.Dim()
	if opt.K < 1 {
		return EigResult{}, fmt.Errorf("Lanczos: asked for k = %d eigenpairs; k must be at least 1", opt.K)
	}
	need := opt.K
	if opt.Which == BothEnds {
		need = 2 * opt.K
	}
	if need > n {
		return EigResult{}, fmt.Errorf(
			"Lanczos: asked for %d eigenpairs of a %d-dimensional operator; k must not exceed the number of "+
				"parameters P = %d",
			need,
			n,
			n,
		)
	}
	if opt.Tol <= 0 {
		opt.Tol = 1e-9
	}
	if opt.MaxIter <= 0 {
		opt.MaxIter = 40*opt.K + 200
	}
	opt.MaxIter = min(opt.MaxIter, n)
	rng := opt.Rand
	if rng == nil {
		rng = rand.New(rand.NewPCG(0x1a2c, 0x05))
	}
	var res EigResult
	ends := []Which{opt.Which}
	if opt.Which == BothEnds {
		ends = []Which{Largest, Smallest}
	}
	// Main pass: one Krylov space serves both ends.
	pass := lanczosPass(op, nil, opt.K, opt.Which, opt.Tol, opt.MaxIter, rng)
	res.Matvecs += pass.matvecs
	if pass.notFinite {
		return res, ErrNotFinite
	}
	res.Tol = pass.absTol
	type pair struct {
		val float64
		vec []float64
	}
	found := map[Which][]pair{}
	for _, end := range ends {
		vals, vecs := pass.pick(end, opt.K)
		for i := range vals {
			found[end] = append(found[end], pair{vals[i], vecs[i]})
		}
	}
	// Deflation check: look for an eigenvalue beyond the K-th found one in the complement of
	// everything found so far; a hit is inserted and the check repeats.
	if !opt.NoDeflationCheck && need < n {
		for _, end := range ends {
			for round := 0; round < opt.K; round++ {
				var locked [][]float64
				for _, e := range ends {
					for _, p := range found[e] {
						locked = append(locked, p.vec)
					}
				}
				if len(locked) >= n {
					break
				}
				chk := lanczosPass(op, locked, 1, end, opt.Tol, opt.MaxIter, rng)
				res.Matvecs += chk.matvecs
				if chk.notFinite {
					return res, ErrNotFinite
				}
				vals, vecs := chk.pick(end, 1)
				if len(vals) == 0 {
					break
				}
				fs := found[end]
				margin := 10 * pass.absTol
				beyond := len(fs) < opt.K
				if !beyond {
					kth := fs[len(fs)-1].val
					beyond = (end == Largest && vals[0] > kth+margin) || (end == Smallest && vals[0] < kth-margin)
				}
				if !beyond {
					break
				}
				fs = append(fs, pair{vals[0], vecs[0]})
				sort.Slice(fs, func(i, j int) bool {
					if end == Largest {
						return fs[i].val > fs[j].val
					}
					return fs[i].val < fs[j].val
				})
				found[end] = fs[:min(len(fs), opt.K)]
			}
		}
	}
	res.Converged = true
	av := make([]float64, n)
	for _, end := range ends {
		for _, p := range found[end] {
			op.Apply(p.vec, av)
			res.Matvecs++
			axpy(-p.val, p.vec, av)
			r := norm(av)
			res.Values = append(res.Values, p.val)
			res.Residuals = append(res.Residuals, r)
			if opt.Vectors {
				res.Vectors = append(res.Vectors, p.vec)
			}
			// Allow a factor 10 between the residual estimate that stopped the iteration
			// and the residual recomputed from the Ritz vector.
			if !(r <= 10*res.Tol) {
				res.Converged = false
			}
		}
	}
	if !res.Converged {
		worst := 0.0
		for _, r := range res.Residuals {
			worst = math.Max(worst, r)
		}
		return res, fmt.Errorf(
			"%w after %d iterations (limit %d): largest residual %.3g exceeds the tolerance %.3g; raise the "+
				"iteration limit or loosen the tolerance",
			ErrNotConverged,
			pass.iters,
			opt.MaxIter,
			worst,
			res.Tol,
		)
	}
	return res, nil
}

// passResult is the Krylov basis and Ritz decomposition of one Lanczos pass.
type passResult struct {
	q       [][]float64 // Lanczos vectors
	theta   []float64   // Ritz values, ascending
	s       [][]float64 // Ritz vectors in the Lanczos basis (s[i] for theta[i])
	iters   int
	matvecs int
	absTol  float64
	// notFinite is set when a Lanczos coefficient is not a finite number.
	notFinite bool
}

// pick returns the k Ritz pairs at the given end, as full vectors.
func (p *passResult) pick(end Which, k int) ([]float64, [][]float64) {
	m := len(p.theta)
	k = min(k, m)
	var vals []float64
	var vecs [][]float64
	for i := 0; i < k; i++ {
		idx := i
		if end == Largest {
			idx = m - 1 - i
		}
		y := make([]float64, len(p.q[0]))
		for j, c := range p.s[idx] {
			axpy(c, p.q[j], y)
		}
		scale(1/norm(y), y)
		vals = append(vals, p.theta[idx])
		vecs = append(vecs, y)
	}
	return vals, vecs
}

// lanczosPass runs Lanczos on op restricted to the orthogonal complement of locked until
// the k wanted Ritz pairs at the requested end(s) have residual estimates within tolerance.
func lanczosPass(op Operator, locked [][]float64, k int, which Which, tol float64, maxIter int,
	rng *rand.Rand) *passResult {
	n := op.Dim()
	maxIter = min(maxIter, n-len(locked))
	orth := func(w []float64, basis [][]float64) {
		for _, u := range basis {
			axpy(-dot(u, w), u, w)
		}
	}
	q := make([]float64, n)
	for i := range q {
		q[i] = rng.NormFloat64()
	}
	orth(q, locked)
	orth(q, locked)
	scale(1/norm(q), q)
	p := &passResult{q: [][]float64{q}}
	var alpha, beta []float64
	w := make([]float64, n)
	scaleEst := 0.0
	for j := 0; j < maxIter; j++ {
		op.Apply(p.q[j], w)
		p.matvecs++
		a := dot(p.q[j], w)
		alpha = append(alpha, a)
		// Full re-orthogonalisation, twice ("twice is enough"), against the locked vectors
		// and the Lanczos basis; this also removes the three-term recurrence components.
		for rep := 0; rep < 2; rep++ {
			orth(w, locked)
			orth(w, p.q)
		}
		b := norm(w)
		if math.IsNaN(a+b) || math.IsInf(a+b, 0) {
			p.notFinite = true // an operator beyond floating-point range: nothing to diagonalise
			return p
		}
		scaleEst = math.Max(scaleEst, math.Abs(a)+b)
		p.iters = j + 1
		last := j+1 == maxIter || b <= 1e-13*math.Max(scaleEst, 1e-300)
		if last || (j+1 >= k && ((j+1)%5 == 0 || j+1 < 2*k+5)) {
			p.ritz(alpha, beta)
			tv := 0.0
			for _, t := range p.theta {
				tv = math.Max(tv, math.Abs(t))
			}
			p.absTol = tol * math.Max(tv, 1e-300)
			if last || p.wantedConverged(k, which, b) {
				return p
			}
		}
		beta = append(beta, b)
		next := make([]float64, n)
		copy(next, w)
		scale(1/b, next)
		p.q = append(p.q, next)
	}
	return p
}

// ritz diagonalises the tridiagonal matrix (alpha, beta) with LAPACK's implicit QL/QR
// (Dsteqr), O(m^2) per call.
func (p *passResult) ritz(alpha, beta []float64) {
	m := len(alpha)
	d := append([]float64(nil), alpha...)
	e := append([]float64(nil), beta[:m-1]...)
	z := make([]float64, m*m)
	work := make([]float64, max(1, 2*m-2))
	if !(lapackgo.Implementation{}).Dsteqr(lapack.EVTridiag, m, d, e, z, m, work) {
		// Dsteqr failing to converge is practically unknown; fall back to the dense solver.
		t := make([]float64, m*m)
		for i := 0; i < m; i++ {
			t[i*m+i] = alpha[i]
			if i+1 < m {
				t[i*m+i+1], t[(i+1)*m+i] = beta[i], beta[i]
			}
		}
		vals, vecs, err := Eigen(m, t, true)
		if err != nil {
			panic(fmt.Sprintf("Lanczos: the tridiagonal eigenproblem failed twice: %v", err)) // finite by now
		}
		d = vals
		for i := 0; i < m; i++ {
			for j := 0; j < m; j++ {
				z[j*m+i] = vecs.At(j, i)
			}
		}
	}
	p.theta = d
	p.s = make([][]float64, m)
	for i := range d {
		p.s[i] = make([]float64, m)
		for j := 0; j < m; j++ {
			p.s[i][j] = z[j*m+i]
		}
	}
}

// wantedConverged checks the residual estimates beta_m |s_i(m)| of the wanted Ritz pairs.
func (p *passResult) wantedConverged(k int, which Which, b float64) bool {
	m := len(p.theta)
	ok := func(i int) bool { return b*math.Abs(p.s[i][m-1]) <= p.absTol }
	for i := 0; i < k && i < m; i++ {
		if (which == Largest || which == BothEnds) && !ok(m-1-i) {
			return false
		}
		if (which == Smallest || which == BothEnds) && !ok(i) {
			return false
		}
	}
	return true
}
