// Package landscape finds the stationary points of a training loss that the theory refers
// to: minima theta* (gradient descent, L-BFGS, or one exact Newton step for models linear in
// theta) and index-1 saddles theta^s between two minima (nudged elastic band with a climbing
// image, then refinement), with the loss and Hessian spectrum at each (docs/theory.md, "Escape").
package landscape

import (
	"context"
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"

	"github.com/sgdlab/sgdlab/model"
)

// Point is a stationary point with its loss and gradient norm.
type Point struct {
	Theta    []float64 `json:"-"`
	Loss     float64   `json:"loss"`
	GradNorm float64   `json:"grad_norm"`
	Method   string    `json:"method"`
	Evals    int       `json:"evaluations"`
}

// MinimizeOptions configures Minimize.
type MinimizeOptions struct {
	// GradTol stops when |grad L| <= GradTol (default 1e-10 * max(1, |grad L(theta_0)|)
	// but at least 1e-12).
	GradTol float64
	// MaxEvals bounds the number of loss-and-gradient evaluations (default 20000).
	MaxEvals int
}

// IsQuadratic reports whether the objective is quadratic in theta (a linear model with
// the mean-square loss), so that a single Newton step lands exactly on the minimum.
func IsQuadratic(o *model.Objective) bool {
	m, ok := o.Model.(*model.MLP)
	_, mse := o.Loss.(model.MSE)
	return ok && mse && len(m.Widths) == 2
}

// Minimize descends from theta0 to a local minimum of L. Quadratic objectives with P up to
// a few thousand are solved exactly by one Newton step on the dense Hessian; others use
// L-BFGS with full-batch gradients. It returns an error if the gradient tolerance is not met.
func Minimize(ctx context.Context, w *model.Worker, theta0 []float64, opt MinimizeOptions) (Point, error) {
	o := w.Objective()
	P := o.P()
	g := make([]float64, P)
	w.LossGrad(theta0, g)
	if opt.GradTol <= 0 {
		opt.GradTol = math.Max(1e-10*math.Max(1, norm(g)), 1e-12)
	}
	if opt.MaxEvals <= 0 {
		opt.MaxEvals = 20000
	}
	if IsQuadratic(o) && P <= 4000 {
		return newton(w, theta0, opt)
	}
	evals := 0
	prob := optimize.Problem{Func: func(x []float64) float64 { evals++; return w.Loss(x) }, Grad: func(grad,
		x []float64) {
		w.LossGrad(x, grad)
	}}
	settings := &optimize.Settings{GradientThreshold: opt.GradTol, FuncEvaluations: opt.MaxEvals,
		Converger: &optimize.FunctionConverge{Absolute: 0, Relative: 0, Iterations: 1 << 30}}
	res, err := optimize.Minimize(prob, append([]float64(nil), theta0...), settings, &optimize.LBFGS{Store: 30})
	if res == nil {
		return Point{}, fmt.Errorf("minimisation failed: %w", err)
	}
	p := Point{Theta: res.X, Method: "L-BFGS", Evals: evals}
	p.Loss = w.LossGrad(p.Theta, g)
	p.GradNorm = norm(g)
	if ctx.Err() != nil {
		return p, ctx.Err()
	}
	// L-BFGS's line search stalls near machine precision; small models are polished by
	// Newton steps on the dense Hessian while it is positive definite.
	if p.GradNorm > opt.GradTol && P <= DenseHessianLimit {
		if q, err := newton(w, p.Theta, opt); err == nil && q.GradNorm < p.GradNorm {
			q.Method, q.Evals = "L-BFGS, Newton polish", evals+q.Evals
			p = q
		}
	}
	if p.GradNorm > opt.GradTol*10 {
		return p, fmt.Errorf(
			"no minimum reached: |grad L| = %.3g after %d evaluations (tolerance %.3g, L-BFGS status %v); give "+
				"more evaluations or start closer",
			p.GradNorm,
			evals,
			opt.GradTol,
			res.Status,
		)
	}
	return p, nil
}

// newton takes one exact Newton step theta* = theta - H^{-1} grad L (and a second to polish
// rounding), valid because L is quadratic.
func newton(w *model.Worker, theta0 []float64, opt MinimizeOptions) (Point, error) {
	P := w.Objective().P()
	theta := append([]float64(nil), theta0...)
	g := make([]float64, P)
	for it := 0; it < 2; it++ {
		H := mat.NewSymDense(P, w.DenseHessian(theta))
		w.LossGrad(theta, g)
		var ch mat.Cholesky
		if !ch.Factorize(H) {
			return Point{}, errors.New(
				"the Hessian is not positive definite (a singular quadratic loss has no unique minimum): give " +
					"the point to use",
			)
		}
		var step mat.VecDense
		if err := ch.SolveVecTo(&step, mat.NewVecDense(P, g)); err != nil {
			return Point{}, fmt.Errorf("Newton step: %w", err)
		}
		for i := range theta {
			theta[i] -= step.AtVec(i)
		}
	}
	p := Point{Theta: theta, Method: "exact (Newton step on a quadratic loss)", Evals: 2}
	p.Loss = w.LossGrad(theta, g)
	p.GradNorm = norm(g)
	return p, nil
}

func norm(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}
