// Package model defines differentiable models f(theta, x) with flat parameter vectors,
// the losses sgdlab trains them with, and the objective L(theta) = (1/N) sum_mu l_mu over
// a dataset together with its exact derivatives (docs/theory.md, "Conventions").
//
// A Model describes structure; an Eval owns the buffers for evaluating it on batches, so
// hot loops do not allocate. The Objective combines a model, a loss and a dataset and
// provides the full-data quantities: loss, gradient, per-sample gradients, Jacobian-vector
// and vector-Jacobian products, Gauss-Newton and exact Hessian-vector products (the
// R-operator of Pearlmutter 1994, not finite differences), and dense Hessians for small P.
package model

import "math/rand/v2"

// Block is a named contiguous range of parameters, such as one layer's weights.
type Block struct {
	Name string
	Off  int
	Len  int
}

// Model is a differentiable function f(theta, x) from D inputs to K outputs with P parameters.
type Model interface {
	// Spec is the canonical spec string that Parse turns back into this model.
	Spec() string
	NumParams() int
	InDim() int
	OutDim() int
	// Blocks partitions [0, NumParams) into named ranges (per layer weights and biases).
	Blocks() []Block
	// Init writes the model's default initial parameters (Glorot uniform for networks).
	Init(theta []float64, rng *rand.Rand)
	// NewEval returns an evaluator for batches of at most maxBatch samples.
	NewEval(maxBatch int) Eval
}

// Eval evaluates one model on batches. It keeps the intermediate values of the last
// Forward (and JVP) call, so the calls must follow the order documented on each method.
// An Eval is not safe for concurrent use; make one per goroutine.
type Eval interface {
	// Forward computes the outputs F (b x K, row-major) for inputs X (b x D) at theta.
	// theta and X must stay unchanged until the next Forward.
	Forward(theta, X []float64, b int, F []float64)
	// Backward adds sum_i J_i^T dF_i to grad, where J_i = df(theta, x_i)/dtheta (K x P).
	Backward(dF, grad []float64)
	// PerSample writes J_i^T dF_i into rows[i*stride : i*stride+P] for each sample i of
	// the batch (stride >= P lets callers interleave rows).
	PerSample(dF, rows []float64, stride int)
	// JVP writes RF = J v (b x K) and keeps the forward-mode state RBackward needs.
	JVP(v, RF []float64)
	// RBackward adds sum_i [ J_i^T RdF_i + sum_k dF_ik Hess(f_ik) v ] to hv, with v from
	// the last JVP. With dF = dl/df and RdF = (d2l/df2) J v this is the exact Hessian-vector
	// product of the loss (the R-operator applied to backpropagation).
	RBackward(dF, RdF, hv []float64)
}

// LayerFactor is one dense layer's share of the per-sample gradients: for sample i the
// gradient with respect to the layer's weights is the outer product D[i] A[i]^T and, if
// the layer has a bias, D[i] with respect to the bias.
type LayerFactor struct {
	D    []float64 // b x Out: backpropagated dl/dz of the layer
	A    []float64 // b x In: the layer's inputs
	Out  int
	In   int
	Bias bool
}

// Factored is implemented by evaluators of models built from dense layers. It lets Gram
// matrices of per-sample gradients be computed from per-layer Gram matrices,
// <g_i, g_j> = sum_l (D_l[i] . D_l[j]) (A_l[i] . A_l[j] + bias), without ever forming
// the N x P matrix of gradients.
type Factored interface {
	// LayerFactors backpropagates dF (b x K) after Forward and returns one LayerFactor per
	// layer; the slices alias internal buffers and are valid until the next call.
	LayerFactors(dF []float64) []LayerFactor
}

// ForwardCache is implemented by evaluators whose forward pass can be saved and restored,
// so that repeated products at one theta (the Hessian-vector products of a Lanczos run) skip
// it. Restore points the evaluator at the saved state, which later calls only read; the next
// Forward goes back to the evaluator's own buffers.
type ForwardCache interface {
	Snapshot() any
	Restore(snapshot any)
}
