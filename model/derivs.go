package model

// JVP writes J v into out (N x K): the directional derivative of every output.
func (w *Worker) JVP(theta, v, out []float64) { w.pass(call{op: opJVP, theta: theta, v: v, out: out}) }

// VJP writes J^T u = sum_mu J_mu^T u_mu into out (P), for u of length N x K.
func (w *Worker) VJP(theta, u, out []float64) {
	w.pass(call{op: opVJP, theta: theta, u: u})
	w.reduce(out, 1)
}

// GNVP writes the Gauss-Newton product G v = (1/N) sum_mu J_mu^T (d2l/df2) J_mu v into out.
// For the MSE loss this is the theory's G = (1/N) sum_mu grad f_mu grad f_mu^T applied to v.
func (w *Worker) GNVP(theta, v, out []float64) {
	w.pass(call{op: opGNVP, theta: theta, v: v})
	w.reduce(out, 1/float64(w.o.N()))
}

// HVP writes the exact Hessian-vector product H v of L(theta) into out, computed with the
// R-operator (forward-mode over reverse-mode), including the residual-times-curvature term
// that the Gauss-Newton matrix drops.
func (w *Worker) HVP(theta, v, out []float64) {
	w.pass(call{op: opHVP, theta: theta, v: v})
	w.reduce(out, 1/float64(w.o.N()))
}

// DenseSym builds the n x n matrix whose columns are apply(e_j), symmetrised as
// (A + A^T)/2: a symmetric operator made dense for small n.
func DenseSym(n int, apply func(v, out []float64)) []float64 {
	a := make([]float64, n*n)
	e, col := make([]float64, n), make([]float64, n)
	for j := 0; j < n; j++ {
		e[j] = 1
		apply(e, col)
		e[j] = 0
		for i := 0; i < n; i++ {
			a[i*n+j] = col[i]
		}
	}
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			m := 0.5 * (a[i*n+j] + a[j*n+i])
			a[i*n+j], a[j*n+i] = m, m
		}
	}
	return a
}

// DenseHessian returns the exact Hessian of L at theta as a row-major P x P matrix.
// It costs P Hessian-vector products: meant for P up to a few thousand.
func (w *Worker) DenseHessian(theta []float64) []float64 {
	return DenseSym(w.o.P(), func(v, out []float64) { w.HVP(theta, v, out) })
}

// DenseGN returns the Gauss-Newton matrix (1/N) sum_mu J_mu^T (d2l/df2) J_mu (P x P).
func (w *Worker) DenseGN(theta []float64) []float64 {
	return DenseSym(w.o.P(), func(v, out []float64) { w.GNVP(theta, v, out) })
}

// StreamPerSampleGrads calls fn with consecutive blocks of per-sample loss gradients
// grad l_mu (rows i0 .. i0+n-1, each of length P), holding at most about 2^24 values in
// memory at once, so that N x P never has to fit. fn must not keep rows.
func (w *Worker) StreamPerSampleGrads(theta []float64, fn func(i0, n int, rows []float64) error) error {
	P, N := w.o.P(), w.o.N()
	block := max(1, min(w.chunk, (1<<24)/P))
	rows := make([]float64, block*P)
	idx := make([]int, block)
	for i0 := 0; i0 < N; i0 += block {
		n := min(block, N-i0)
		for i := range n {
			idx[i] = i0 + i
		}
		w.PerSampleGrads(theta, idx[:n], rows[:n*P])
		if err := fn(i0, n, rows[:n*P]); err != nil {
			return err
		}
	}
	return nil
}
