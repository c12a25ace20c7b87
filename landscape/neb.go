package landscape

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/optimize"

	"github.com/sgdlab/sgdlab/curvature"
	"github.com/sgdlab/sgdlab/model"
)

// NEBOptions configures the nudged elastic band.
type NEBOptions struct {
	Images  int     // movable images between the end points (default 15)
	Spring  float64 // spring constant (default 1)
	MaxIter int     // optimisation steps (default 20000)
	Tol     float64 // stop when the largest image force is below Tol (default 1e-6)
	// ClimbAfter switches on the climbing image after this many steps (default 100).
	ClimbAfter int
}

// Path is a converged (or last) elastic band.
type Path struct {
	Images    [][]float64 `json:"-"`
	Losses    []float64   `json:"losses"`
	Climber   int         `json:"climbing_image"`
	Iters     int         `json:"iterations"`
	MaxForce  float64     `json:"max_force"`
	Converged bool        `json:"converged"`
}

// NEB relaxes an elastic band between minima a and b (Henkelman, Uberuaga, Jonsson 2000):
// the true force perpendicular to the improved tangent plus springs along it, with the
// highest image climbing to the saddle; FIRE minimisation (Bitzek et al. 2006).
func NEB(ctx context.Context, land model.Landscape, a, b []float64, opt NEBOptions) (*Path, error) {
	// Zero (or negative) options take their defaults.
	opt.Images, opt.MaxIter, opt.ClimbAfter = cmp.Or(max(opt.Images, 0), 15), cmp.Or(max(opt.MaxIter, 0), 20000),
		cmp.Or(max(opt.ClimbAfter, 0), 100)
	opt.Spring, opt.Tol = cmp.Or(max(opt.Spring, 0), 1), cmp.Or(max(opt.Tol, 0), 1e-6)
	P, M := len(a), opt.Images+2
	img := make([][]float64, M)
	for i := range img {
		s := float64(i) / float64(M-1)
		img[i] = make([]float64, P)
		for j := range img[i] {
			img[i][j] = (1-s)*a[j] + s*b[j]
		}
	}
	E := make([]float64, M)
	G := make([][]float64, M)
	F := make([][]float64, M)
	V := make([][]float64, M)
	for i := range img {
		G[i], F[i], V[i] = make([]float64, P), make([]float64, P), make([]float64, P)
	}
	tau := make([]float64, P)
	path := &Path{}
	forces := func(climb bool) float64 {
		for i := 1; i < M-1; i++ {
			E[i] = land.LossGrad(img[i], G[i])
		}
		E[0], E[M-1] = land.LossGrad(img[0], nil), land.LossGrad(img[M-1], nil)
		hi := 1
		for i := 2; i < M-1; i++ {
			if E[i] > E[hi] {
				hi = i
			}
		}
		path.Climber = hi
		maxF := 0.0
		for i := 1; i < M-1; i++ {
			improvedTangent(img, E, i, tau)
			gt := dot(G[i], tau)
			if climb && i == hi {
				for j := range tau {
					F[i][j] = -G[i][j] + 2*gt*tau[j]
				}
			} else {
				dn := dist(img[i+1], img[i]) - dist(img[i], img[i-1])
				for j := range tau {
					F[i][j] = -G[i][j] + gt*tau[j] + opt.Spring*dn*tau[j]
				}
			}
			maxF = math.Max(maxF, norm(F[i]))
		}
		return maxF
	}
	// FIRE.
	dt, dtMax, alpha := 0.05, 0.5, 0.1
	npos := 0
	maxStep := 0.2 * dist(a, b) / float64(M-1)
	for it := 0; it < opt.MaxIter; it++ {
		climb := it >= opt.ClimbAfter
		maxF := forces(climb)
		path.Iters, path.MaxForce = it, maxF
		if climb && maxF < opt.Tol {
			path.Converged = true
			break
		}
		if it%256 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		pw, vv, ff := 0.0, 0.0, 0.0
		for i := 1; i < M-1; i++ {
			pw += dot(F[i], V[i])
			vv += dot(V[i], V[i])
			ff += dot(F[i], F[i])
		}
		if pw > 0 {
			s := alpha * math.Sqrt(vv/math.Max(ff, 1e-300))
			for i := 1; i < M-1; i++ {
				for j := range V[i] {
					V[i][j] = (1-alpha)*V[i][j] + s*F[i][j]
				}
			}
			if npos++; npos > 5 {
				dt = math.Min(dt*1.1, dtMax)
				alpha *= 0.99
			}
		} else {
			npos = 0
			dt *= 0.5
			alpha = 0.1
			for i := range V {
				clear(V[i])
			}
		}
		for i := 1; i < M-1; i++ {
			step := 0.0
			for j := range V[i] {
				V[i][j] += dt * F[i][j]
				step += (dt * V[i][j]) * (dt * V[i][j])
			}
			sc := 1.0
			if st := math.Sqrt(step); st > maxStep {
				sc = maxStep / st
			}
			for j := range V[i] {
				img[i][j] += sc * dt * V[i][j]
			}
		}
	}
	forces(true)
	path.Images, path.Losses = img, append([]float64(nil), E...)
	return path, nil
}

// improvedTangent writes the unit tangent at image i (Henkelman and Jonsson 2000).
func improvedTangent(img [][]float64, E []float64, i int, tau []float64) {
	ep, e0, em := E[i+1], E[i], E[i-1]
	switch {
	case ep > e0 && e0 > em:
		for j := range tau {
			tau[j] = img[i+1][j] - img[i][j]
		}
	case ep < e0 && e0 < em:
		for j := range tau {
			tau[j] = img[i][j] - img[i-1][j]
		}
	default:
		dmax := math.Max(math.Abs(ep-e0), math.Abs(em-e0))
		dmin := math.Min(math.Abs(ep-e0), math.Abs(em-e0))
		wp, wm := dmax, dmin
		if ep <= em {
			wp, wm = dmin, dmax
		}
		for j := range tau {
			tau[j] = wp*(img[i+1][j]-img[i][j]) + wm*(img[i][j]-img[i-1][j])
		}
	}
	if n := norm(tau); n > 0 {
		for j := range tau {
			tau[j] /= n
		}
	}
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i, x := range a {
		s += x * b[i]
	}
	return s
}

func dist(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += (a[i] - b[i]) * (a[i] - b[i])
	}
	return math.Sqrt(s)
}

// Saddle is an index-1 saddle point with its Hessian spectrum.
type Saddle struct {
	Point
	NegEig  float64   `json:"negative_eigenvalue"`
	Index   int       `json:"index"` // number of negative eigenvalues found
	Eigs    []float64 `json:"eigenvalues"`
	NegVec  []float64 `json:"-"` // unit eigenvector of the negative eigenvalue
	Refined string    `json:"refinement"`
}

// RefineSaddle converges from a climbing image to a stationary point by eigenvector
// following on the dense Hessian (P <= DenseHessianLimit: uphill along the lowest mode,
// downhill along the others, within a trust radius), or for larger P by minimising |grad L|^2
// with L-BFGS (gradient 2 H grad L from Hessian-vector products); it then counts the negative
// eigenvalues. It returns an error when the end point is not an index-1 saddle.
func RefineSaddle(ctx context.Context, w *model.Worker, x0 []float64, tol float64) (*Saddle, error) {
	P := w.Objective().P()
	x := append([]float64(nil), x0...)
	g := make([]float64, P)
	s := &Saddle{}
	if tol <= 0 {
		tol = 1e-9
	}
	if P <= DenseHessianLimit {
		s.Refined = "eigenvector following on the dense Hessian"
		trust := 0.1 * math.Max(norm(x0), 1)
		for it := 0; it < 500; it++ {
			w.LossGrad(x, g)
			if norm(g) < tol {
				break
			}
			vals, vecs, err := curvature.Eigen(P, w.DenseHessian(x), true)
			if err != nil {
				return s, fmt.Errorf("Hessian during the saddle refinement: %w", err)
			}
			step := make([]float64, P)
			for i := 0; i < P; i++ {
				gi := 0.0
				for r := 0; r < P; r++ {
					gi += vecs.At(r, i) * g[r]
				}
				l := math.Abs(vals[i])
				if l < 1e-8 {
					l = 1e-8
				}
				c := -gi / l // downhill along |lambda|
				if i == 0 {
					c = gi / l // uphill along the lowest mode
				}
				for r := 0; r < P; r++ {
					step[r] += c * vecs.At(r, i)
				}
			}
			if n := norm(step); n > trust {
				for r := range step {
					step[r] *= trust / n
				}
			}
			for r := range x {
				x[r] += step[r]
			}
		}
	} else {
		s.Refined = "L-BFGS on |grad L|^2 with Hessian-vector products"
		hg := make([]float64, P)
		prob := optimize.Problem{Func: func(y []float64) float64 { w.LossGrad(y, g); return 0.5 * dot(g, g) },
			Grad: func(grad, y []float64) { w.LossGrad(y, g); w.HVP(y, g, hg); copy(grad, hg) }}
		res, err := optimize.Minimize(prob, x, &optimize.Settings{GradientThreshold: tol * tol,
			FuncEvaluations: 5000}, &optimize.LBFGS{})
		if res != nil {
			x = res.X
		} else if err != nil {
			return nil, err
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	s.Theta = x
	s.Loss = w.LossGrad(x, g)
	s.GradNorm = norm(g)
	s.Method = s.Refined
	if P <= DenseHessianLimit {
		vals, vecs, err := curvature.Eigen(P, w.DenseHessian(x), true)
		if err != nil {
			return s, fmt.Errorf("Hessian at the saddle: %w", err)
		}
		s.Eigs = vals
		for _, v := range vals {
			if v < -1e-10*math.Max(1, math.Abs(vals[P-1])) {
				s.Index++
			}
		}
		s.NegEig = vals[0]
		s.NegVec = make([]float64, P)
		for r := range s.NegVec {
			s.NegVec[r] = vecs.At(r, 0)
		}
	} else {
		res, err := curvature.Lanczos(curvature.Hessian(w, x), curvature.LanczosOptions{K: 2,
			Which: curvature.Smallest, Vectors: true, Tol: 1e-7})
		if err != nil {
			return s, fmt.Errorf("Hessian at the saddle: %w", err)
		}
		s.Eigs = res.Values
		for _, v := range res.Values {
			if v < 0 {
				s.Index++
			}
		}
		s.NegEig, s.NegVec = res.Values[0], res.Vectors[0]
	}
	if s.GradNorm > 1e3*tol {
		return s, fmt.Errorf("saddle refinement did not converge: |grad L| = %.3g", s.GradNorm)
	}
	if s.Index != 1 {
		return s, fmt.Errorf("the refined stationary point has %d negative Hessian eigenvalues, not 1 (not an "+
			"index-1 saddle)", s.Index)
	}
	return s, nil
}

// ErrNoSaddle is wrapped when no index-1 saddle was found between two minima.
var ErrNoSaddle = errors.New("no index-1 saddle found")
