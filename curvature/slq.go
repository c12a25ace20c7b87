package curvature

import (
	"math"
	"math/rand/v2"
)

// Quadrature is the result of stochastic Lanczos quadrature (Ubaru, Chen, Saad 2017;
// PyHessian's spectral density): for each random probe v, nodes theta and weights tau^2
// such that v^T f(A) v / |v|^2 ~ sum_i tau_i^2 f(theta_i).
type Quadrature struct {
	Dim     int
	Nodes   [][]float64
	Weights [][]float64
	Matvecs int
}

// SLQ runs probes Lanczos processes of steps iterations each (full re-orthogonalisation)
// from normalised Rademacher vectors.
func SLQ(op Operator, probes, steps int, rng *rand.Rand) Quadrature {
	n := op.Dim()
	steps = min(steps, n)
	q := Quadrature{Dim: n}
	for p := 0; p < probes; p++ {
		basis := make([][]float64, 0, steps)
		v := make([]float64, n)
		rademacher(rng, v)
		scale(1/norm(v), v)
		basis = append(basis, v)
		var alpha, beta []float64
		w := make([]float64, n)
		for j := 0; j < steps; j++ {
			op.Apply(basis[j], w)
			q.Matvecs++
			alpha = append(alpha, dot(basis[j], w))
			for rep := 0; rep < 2; rep++ {
				for _, u := range basis {
					axpy(-dot(u, w), u, w)
				}
			}
			b := norm(w)
			if j+1 == steps || b < 1e-12*math.Abs(alpha[0])+1e-300 {
				break
			}
			beta = append(beta, b)
			next := append([]float64(nil), w...)
			scale(1/b, next)
			basis = append(basis, next)
		}
		pr := &passResult{}
		pr.ritz(alpha, beta)
		wts := make([]float64, len(pr.theta))
		for i := range wts {
			wts[i] = pr.s[i][0] * pr.s[i][0]
		}
		q.Nodes = append(q.Nodes, pr.theta)
		q.Weights = append(q.Weights, wts)
	}
	return q
}

// Trace estimates tr f(A) = Dim * E[sum_i tau_i^2 f(theta_i)] with its standard error over probes.
func (q Quadrature) Trace(f func(float64) float64) Estimate {
	per := make([]float64, len(q.Nodes))
	for p := range q.Nodes {
		for i, t := range q.Nodes[p] {
			per[p] += q.Weights[p][i] * f(t)
		}
		per[p] *= float64(q.Dim)
	}
	v, se := meanSE(per)
	return Estimate{v, se, len(per)}
}

// Density evaluates the spectral density smoothed with a Gaussian of width sigma,
// rho(x) = (1/Dim) sum_j N(x; lambda_j, sigma^2), at the grid points, with the standard
// error over probes. It integrates to one.
func (q Quadrature) Density(grid []float64, sigma float64) (rho, se []float64) {
	rho, se = make([]float64, len(grid)), make([]float64, len(grid))
	per := make([]float64, len(q.Nodes))
	for g, x := range grid {
		for p := range q.Nodes {
			per[p] = 0
			for i, t := range q.Nodes[p] {
				per[p] += q.Weights[p][i] * gauss(x-t, sigma)
			}
		}
		rho[g], se[g] = meanSE(per)
	}
	return rho, se
}

// DenseDensity is the smoothed density of known eigenvalues, the reference for Density.
func DenseDensity(eigs, grid []float64, sigma float64) []float64 {
	rho := make([]float64, len(grid))
	for g, x := range grid {
		for _, l := range eigs {
			rho[g] += gauss(x-l, sigma)
		}
		rho[g] /= float64(len(eigs))
	}
	return rho
}

func gauss(d, s float64) float64 {
	return math.Exp(-d*d/(2*s*s)) / (s * math.Sqrt(2*math.Pi))
}
