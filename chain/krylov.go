package chain

import (
	"errors"
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/mat"
)

// linop is a square linear operator y = A x.
type linop func(x, y []float64)

func dot(a, b []float64) float64 {
	s := 0.0
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

func norm(a []float64) float64 { return math.Sqrt(dot(a, a)) }

// gmres solves (I - K) x = b by restarted GMRES(m) from the initial guess in x, to a
// residual |b - (I - K) x| <= tol |b|. It returns the relative residual reached and the
// number of products with K.
func gmres(k linop, b, x []float64, m int, tol float64, maxProducts int) (float64, int, error) {
	n := len(b)
	apply := func(v, out []float64) { // out = (I - K) v
		k(v, out)
		for i := range out {
			out[i] = v[i] - out[i]
		}
	}
	bn := norm(b)
	if bn == 0 {
		clear(x)
		return 0, 0, nil
	}
	V := make([][]float64, m+1)
	for i := range V {
		V[i] = make([]float64, n)
	}
	H := make([][]float64, m+1) // (m+1) x m Hessenberg
	for i := range H {
		H[i] = make([]float64, m)
	}
	cs, sn, g := make([]float64, m), make([]float64, m), make([]float64, m+1)
	w := make([]float64, n)
	products := 0
	rel := math.Inf(1)
	for products < maxProducts {
		apply(x, w)
		products++
		for i := range w {
			V[0][i] = b[i] - w[i]
		}
		beta := norm(V[0])
		if rel = beta / bn; rel <= tol {
			return rel, products, nil
		}
		for i := range V[0] {
			V[0][i] /= beta
		}
		clear(g)
		g[0] = beta
		j := 0
		for ; j < m && products < maxProducts; j++ {
			apply(V[j], w)
			products++
			for i := 0; i <= j; i++ { // modified Gram-Schmidt
				H[i][j] = dot(w, V[i])
				for r := range w {
					w[r] -= H[i][j] * V[i][r]
				}
			}
			H[j+1][j] = norm(w)
			if H[j+1][j] > 0 {
				for r := range w {
					V[j+1][r] = w[r] / H[j+1][j]
				}
			}
			for i := 0; i < j; i++ { // apply the earlier rotations to column j
				t := cs[i]*H[i][j] + sn[i]*H[i+1][j]
				H[i+1][j] = -sn[i]*H[i][j] + cs[i]*H[i+1][j]
				H[i][j] = t
			}
			d := math.Hypot(H[j][j], H[j+1][j])
			cs[j], sn[j] = H[j][j]/d, H[j+1][j]/d
			H[j][j], H[j+1][j] = d, 0
			g[j+1] = -sn[j] * g[j]
			g[j] *= cs[j]
			if math.Abs(g[j+1])/bn <= tol || H[j][j] == 0 {
				j++
				break
			}
		}
		// x += V y with H y = g (upper triangular, j x j).
		y := make([]float64, j)
		for i := j - 1; i >= 0; i-- {
			s := g[i]
			for c := i + 1; c < j; c++ {
				s -= H[i][c] * y[c]
			}
			y[i] = s / H[i][i]
		}
		for i := 0; i < j; i++ {
			for r := range x {
				x[r] += y[i] * V[i][r]
			}
		}
	}
	apply(x, w)
	for i := range w {
		w[i] = b[i] - w[i]
	}
	rel = norm(w) / bn
	if rel > tol {
		return rel, products, errNotConverged
	}
	return rel, products, nil
}

var errNotConverged = errors.New("the Krylov solver did not converge")

// dominant finds the largest eigenvalue of a nonnegative operator and its eigenvector
// (nonnegative, normalised to sum 1) by Arnoldi's method with explicit restarts from the
// Ritz vector, starting from v. It returns the eigenvalue, the relative residual
// |A v - lambda v| / |v| and the number of products.
func dominant(a linop, v []float64, m int, tol float64, maxProducts int) (float64, float64, int, error) {
	n := len(v)
	m = min(m, n)
	V := make([][]float64, m+1)
	for i := range V {
		V[i] = make([]float64, n)
	}
	w := make([]float64, n)
	products := 0
	lambda, rel := 0.0, math.Inf(1)
	for products < maxProducts {
		nv := norm(v)
		for i := range v {
			V[0][i] = v[i] / nv
		}
		H := mat.NewDense(m, m, nil)
		j := 0
		for ; j < m; j++ {
			a(V[j], w)
			products++
			for i := 0; i <= j; i++ {
				h := dot(w, V[i])
				H.Set(i, j, h)
				for r := range w {
					w[r] -= h * V[i][r]
				}
			}
			hn := norm(w)
			if j+1 < m {
				H.Set(j+1, j, hn)
			}
			if hn < 1e-14 {
				j++
				break
			}
			for r := range w {
				V[j+1][r] = w[r] / hn
			}
		}
		h := H.Slice(0, j, 0, j).(*mat.Dense)
		var eig mat.Eigen
		if !eig.Factorize(h, mat.EigenRight) {
			return 0, math.Inf(1), products, errors.New("the Arnoldi eigenproblem failed")
		}
		vals := eig.Values(nil)
		best := 0
		for i, l := range vals {
			if real(l) > real(vals[best]) {
				best = i
			}
		}
		var vecs mat.CDense
		eig.VectorsTo(&vecs)
		y := make([]float64, j)
		for i := range y {
			y[i] = real(vecs.At(i, best))
		}
		lambda = real(vals[best])
		if math.Abs(imag(vals[best])) > 1e-9*cmplx.Abs(vals[best]) {
			return lambda, math.Inf(1), products, errors.New("the dominant eigenvalue is not real")
		}
		clear(v)
		for i := 0; i < j; i++ {
			for r := range v {
				v[r] += y[i] * V[i][r]
			}
		}
		s := 0.0
		for _, x := range v {
			s += x
		}
		for i := range v {
			v[i] /= s
		}
		a(v, w)
		products++
		for i := range w {
			w[i] -= lambda * v[i]
		}
		if rel = norm(w) / norm(v); rel <= tol {
			return lambda, rel, products, nil
		}
	}
	return lambda, rel, products, errNotConverged
}

// deflatedSolve solves (I - K) x = b when K has an eigenvalue lambda close to 1 (a rare
// escape), which stalls restarted GMRES. With the right and left principal eigenvectors
// K phi = lambda phi and psi^T K = lambda psi^T, x = c phi + w with psi^T w = 0 and
// c = psi^T b / ((1 - lambda) psi^T phi); w solves (I - K) w = b - c (1 - lambda) phi,
// whose right side is orthogonal to psi. On that invariant subspace I - K has no small
// eigenvalue, so GMRES converges at the rate of the spectral gap. It returns the relative
// residual of the whole solution and the number of products.
func deflatedSolve(k linop, phi, psi []float64, lambda float64, b, x []float64, m int, tol float64,
	maxProducts int) (float64, int, error) {
	pp := dot(psi, phi)
	c := dot(psi, b) / ((1 - lambda) * pp)
	rhs := make([]float64, len(b))
	for i := range rhs {
		rhs[i] = b[i] - c*(1-lambda)*phi[i]
	}
	w := make([]float64, len(b))
	_, products, err := gmres(k, rhs, w, m, tol, maxProducts)
	if err != nil {
		return math.Inf(1), products, err
	}
	// Keep w in the complement: drift along phi would change psi^T x.
	s := dot(psi, w) / pp
	for i := range x {
		x[i] = c*phi[i] + w[i] - s*phi[i]
	}
	// The residual of the assembled solution.
	y := make([]float64, len(b))
	k(x, y)
	rn := 0.0
	for i := range y {
		d := b[i] - (x[i] - y[i])
		rn += d * d
	}
	return math.Sqrt(rn) / norm(b), products + 1, nil
}
