package landscape

import (
	"fmt"
	"math"

	"github.com/sgdlab/sgdlab/curvature"
	"github.com/sgdlab/sgdlab/model"
)

// Minimum describes a minimum theta* with its Hessian spectrum: the inputs of the
// stationary and escape formulas (L*, h*, n).
type Minimum struct {
	Point
	// Eigs are eigenvalues of H* in descending order (all of them when Dense) with unit
	// eigenvectors Vecs.
	Eigs     []float64
	Vecs     [][]float64
	Dense    bool
	Outliers curvature.Outliers
}

// DenseHessianLimit is the largest P for which H* is formed densely.
const DenseHessianLimit = 2000

// Characterize computes the Hessian spectrum at a minimum: dense for P <= DenseHessianLimit,
// otherwise the top k eigenpairs by Lanczos. It refuses points whose gradient is not small.
func Characterize(w *model.Worker, theta []float64, k int) (*Minimum, error) {
	o := w.Objective()
	P := o.P()
	g := make([]float64, P)
	m := &Minimum{Point: Point{Theta: theta, Method: "given"}}
	m.Loss = w.LossGrad(theta, g)
	m.GradNorm = norm(g)
	if math.IsNaN(m.Loss) || math.IsInf(m.Loss, 0) || math.IsNaN(m.GradNorm) || math.IsInf(m.GradNorm, 0) {
		return nil, fmt.Errorf("%w: the loss or its gradient is not a finite number there (L = %g): the point is "+
			"beyond floating-point range", ErrNotMinimum, m.Loss)
	}
	// The gradient scales like sqrt(L) (|grad L|^2 <= 2 lambda_max (L - L_min) near a minimum),
	// and so does its rounding error: a tolerance proportional to L itself would accept, at a
	// large loss, points far down a slope.
	if tol := 1e-6 * math.Max(1, math.Sqrt(m.Loss)); m.GradNorm > tol {
		return nil, fmt.Errorf("%w: |grad L| = %.3g (tolerance %.1g)", ErrNotMinimum, m.GradNorm, tol)
	}
	if P <= DenseHessianLimit {
		vals, vecs, err := curvature.Eigen(P, w.DenseHessian(theta), true)
		if err != nil {
			return nil, fmt.Errorf("the Hessian at the minimum: %w", err)
		}
		// A zero gradient is also a saddle's: a minimum has no negative curvature.
		if scale := math.Max(math.Abs(vals[0]), math.Abs(vals[P-1])); vals[0] < -1e-8*scale {
			return nil, fmt.Errorf("%w: the Hessian has the negative eigenvalue %.4g (a saddle or a maximum)",
				ErrNotMinimum, vals[0])
		}
		m.Dense = true
		for i := P - 1; i >= 0; i-- {
			m.Eigs = append(m.Eigs, vals[i])
			v := make([]float64, P)
			for r := 0; r < P; r++ {
				v[r] = vecs.At(r, i)
			}
			m.Vecs = append(m.Vecs, v)
		}
		m.Outliers = curvature.FindOutliers(m.Eigs, true)
		return m, nil
	}
	res, err := curvature.Lanczos(curvature.Hessian(w, theta), curvature.LanczosOptions{K: min(k, P), Vectors: true,
		Tol: 1e-7})
	if err != nil {
		return nil, fmt.Errorf("Hessian at the minimum: %w", err)
	}
	m.Eigs, m.Vecs = res.Values, res.Vectors
	m.Outliers = curvature.FindOutliers(m.Eigs, false)
	return m, nil
}

// MinEig returns the smallest positive eigenvalue known (for relaxation-time estimates).
func (m *Minimum) MinEig() float64 {
	v := math.Inf(1)
	for _, e := range m.Eigs {
		if e > 0 {
			v = math.Min(v, e)
		}
	}
	return v
}

// Flow follows the gradient flow of L from theta by gradient descent with step h (halved
// whenever the loss would rise), until |grad L| <= tol, arrived(x) holds (when arrived is not
// nil) or maxIter steps, and returns the end point. Unlike a line-search method it cannot jump
// across a barrier when h is below 2/lambda for the largest curvature lambda on the way, so
// it tells which basin theta belongs to.
func Flow(land model.Landscape, theta []float64, h, tol float64, maxIter int, arrived func([]float64) bool) []float64 {
	x := append([]float64(nil), theta...)
	g := make([]float64, len(x))
	y := make([]float64, len(x))
	l := land.LossGrad(x, g)
	for it := 0; it < maxIter && norm(g) > tol && (arrived == nil || !arrived(x)); it++ {
		for {
			for i := range x {
				y[i] = x[i] - h*g[i]
			}
			if ly := land.LossGrad(y, nil); ly <= l || h < 1e-12 {
				l = ly
				break
			}
			h /= 2
		}
		x, y = y, x
		land.LossGrad(x, g)
	}
	return x
}

// Basin returns a test "does the gradient flow from theta end at thetaStar?" (within 1e-2
// times the scale of thetaStar), or nil when every point is in the basin (quadratic losses).
// lambdaMax is the largest Hessian eigenvalue at thetaStar; the flow uses step 0.5/lambdaMax.
// newLand makes an evaluator per call, so the test is safe for concurrent use.
func Basin(o *model.Objective, newLand func() model.Landscape, thetaStar []float64,
	lambdaMax float64) func(theta []float64) bool {
	if IsQuadratic(o) {
		return nil
	}
	scale := math.Max(norm(thetaStar), 1)
	h := 0.5 / lambdaMax
	near := func(x []float64) bool {
		d := 0.0
		for i := range x {
			d += (x[i] - thetaStar[i]) * (x[i] - thetaStar[i])
		}
		return math.Sqrt(d) < 1e-2*scale
	}
	// The flow stops as soon as it enters the ball the test accepts as arrival (a descent does
	// not climb out of it again while the ball lies inside thetaStar's basin, which the test
	// assumes anyway); most samples of a stationary chain start there, where a full descent
	// took up to 20000 gradient evaluations per sample.
	return func(theta []float64) bool {
		return near(Flow(newLand(), theta, h, 1e-8, 20000, near))
	}
}
