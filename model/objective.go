package model

import (
	"context"
	"fmt"
	"sync"

	"github.com/sgdlab/sgdlab/fault"

	"github.com/sgdlab/sgdlab/data"
)

// Objective is the training loss L(theta) = (1/N) sum_mu l(f(theta, x_mu), y_mu) of a
// model on a dataset (docs/theory.md, "Conventions").
type Objective struct {
	Model Model
	Loss  Loss
	Data  *data.Dataset
	// Ctx, if set, interrupts long computations: once it is cancelled, full-data passes of
	// the objective's Workers return at once without doing their work (their results are then
	// meaningless), so that a loop of thousands of passes ends within one pass; callers
	// check Ctx.Err() afterwards and return it.
	Ctx context.Context

	packOnce sync.Once
	packed   []float64

	derivedMu sync.Mutex
	derived   map[any]any
}

// NewObjective checks that model, loss and data fit together.
func NewObjective(m Model, loss Loss, d *data.Dataset) (*Objective, error) {
	if m.InDim() != d.D || m.OutDim() != d.K {
		return nil, fmt.Errorf("shape mismatch: model %s takes %d inputs and gives %d outputs, but data %s has %d "+
			"inputs and %d targets", m.Spec(), m.InDim(), m.OutDim(), d.Spec, d.D, d.K)
	}
	if _, ok := loss.(CrossEntropy); ok && d.K < 2 {
		return nil, fmt.Errorf("cross-entropy needs at least two classes (one-hot targets), but data %s has %d "+
			"target", d.Spec, d.K)
	}
	return &Objective{Model: m, Loss: loss, Data: d}, nil
}

// P is the number of parameters, N the number of samples, K the number of outputs.
func (o *Objective) P() int { return o.Model.NumParams() }
func (o *Objective) N() int { return o.Data.N }
func (o *Objective) K() int { return o.Data.K }

// CheckTheta returns an error when theta does not have the model's length.
func (o *Objective) CheckTheta(theta []float64) error {
	if len(theta) != o.P() {
		return fault.Invalid("parameter vector has %d values but model %s has %d parameters", len(theta),
			o.Model.Spec(), o.P())
	}
	return nil
}

// DefaultChunk is the number of samples a Worker evaluates at once in full-data passes.
const DefaultChunk = 256

// ChunkFor is the number of samples an evaluator of m should take at once: DefaultChunk, or
// fewer for models whose samples hold many values (a CNN's feature maps).
func ChunkFor(m Model) int {
	if c, ok := m.(interface{ PreferredChunk() int }); ok {
		return c.PreferredChunk()
	}
	return DefaultChunk
}

// Worker evaluates an Objective with preallocated buffers, over the full dataset (split into
// chunks processed by up to par goroutines) or over a mini-batch of indices. Full-data
// results are deterministic and independent of par. A Worker is not safe for concurrent use.
type Worker struct {
	o     *Objective
	chunk int
	lanes []*lane // passSlots lanes: evaluators and partial sums
	par   int     // goroutines of a full-data pass (1 .. passSlots)
	ctx   context.Context
	c     call // the pass in progress
	fc    *forwardCache
}

// forwardCache holds the forward pass over all samples at one theta.
type forwardCache struct {
	theta []float64 // a copy, to detect changes
	ptr   *float64  // the caller's slice
	snaps []any     // per chunk
	f     []float64 // outputs, N x K
}

// lane is one goroutine's evaluator and buffers.
type lane struct {
	ev     Eval
	x, y   []float64 // gathered inputs and targets
	f, g   []float64 // outputs, dl/df
	rf, rg []float64 // J v, d2l/df2 J v
	acc    []float64 // P-vector accumulator
	sum    float64
}

// NewWorker returns a worker using up to par goroutines for full-data passes and evaluating
// at most chunk samples at once (chunk <= 0: DefaultChunk). Its results do not depend on par.
func (o *Objective) NewWorker(par, chunk int) *Worker {
	if chunk <= 0 {
		chunk = ChunkFor(o.Model)
	}
	w := &Worker{o: o, chunk: chunk, par: min(max(par, 1), passSlots), ctx: o.Ctx}
	D, K, P := o.Data.D, o.Data.K, o.P()
	for i := 0; i < passSlots; i++ {
		w.lanes = append(w.lanes, &lane{ev: o.Model.NewEval(chunk), x: make([]float64, chunk*D), y: make([]float64,
			chunk*K), f: make([]float64, chunk*K), g: make([]float64, chunk*K), rf: make([]float64, chunk*K),
			rg: make([]float64, chunk*K), acc: make([]float64, P)})
	}
	return w
}

// Uninterruptible makes the worker's passes ignore the objective's context and returns the
// worker: for single evaluations that must be real even after an interruption (the loss at
// the parameters a stopped run saves).
func (w *Worker) Uninterruptible() *Worker {
	w.ctx = nil
	return w
}

// Objective returns the objective the worker evaluates.
func (w *Worker) Objective() *Objective { return w.o }

// piece prepares inputs and targets of samples idx[i0:i0+n] (or i0..i0+n-1 when idx is nil)
// and runs the forward pass; it returns the targets.
func (w *Worker) piece(ln *lane, theta []float64, idx []int, i0, n int) (y []float64) {
	d := w.o.Data
	var x []float64
	if idx == nil {
		x = d.X[i0*d.D : (i0+n)*d.D]
		y = d.Y[i0*d.K : (i0+n)*d.K]
	} else {
		for j, mu := range idx[i0 : i0+n] {
			copy(ln.x[j*d.D:(j+1)*d.D], d.X[mu*d.D:(mu+1)*d.D])
			copy(ln.y[j*d.K:(j+1)*d.K], d.Y[mu*d.K:(mu+1)*d.K])
		}
		x, y = ln.x[:n*d.D], ln.y[:n*d.K]
	}
	ln.ev.Forward(theta, x, n, ln.f)
	return y
}

// op names a per-piece operation of a full-data pass.
type op int

const (
	opLossGrad op = iota
	opPerSample
	opOutputs
	opPerSampleGrads
	opOutputGrads
	opJVP
	opVJP
	opGNVP
	opHVP
	opCache
)

// call holds the operation and arguments of the pass in progress. It lives in the Worker,
// so a pass allocates nothing on the single-lane path.
type call struct {
	op                 op
	theta, v, u, out   []float64
	losses, dldf, rows []float64
	idx                []int
	wantGrad           bool
}

// passSlots is the number of partial sums of a full-data pass: piece c of the samples is
// accumulated into slot c mod passSlots and the slots are added in order at the end. The
// grouping never depends on how many goroutines ran the slots, so every full-data result is
// the same for any Worker parallelism (a pass uses at most passSlots goroutines; large
// matrix products inside a piece split over the cores by themselves).
const passSlots = 2

// each runs w.c over pieces of the sample set (w.c.idx, or all N when it is nil): piece c
// goes to lane c mod passSlots. The lane accumulators are cleared first.
func (w *Worker) each() {
	total := w.o.N()
	if w.c.idx != nil {
		total = len(w.c.idx)
	}
	pieces := (total + w.chunk - 1) / w.chunk
	if w.par == 1 || pieces <= 1 {
		for l := range w.lanes {
			w.lanePieces(l, pieces, total)
		}
		return
	}
	w.parallel(pieces, total)
}

// parallel runs the lanes on w.par goroutines (a separate function, so that the sequential
// path allocates nothing). The lanes are the parallelism, so a multithreaded BLAS inside
// them would oversubscribe the cores: it runs single-threaded meanwhile.
func (w *Worker) parallel(pieces, total int) {
	defer SingleThreadedBLAS()()
	var grp fault.Group // a panic on a lane is raised again here
	for g := 0; g < w.par; g++ {
		grp.Go(func() {
			for l := g; l < len(w.lanes); l += w.par {
				w.lanePieces(l, pieces, total)
			}
		})
	}
	grp.Wait()
}

// lanePieces runs lane l's pieces l, l+passSlots, ...
func (w *Worker) lanePieces(l, pieces, total int) {
	ln := w.lanes[l]
	clear(ln.acc)
	ln.sum = 0
	for c := l; c < pieces; c += len(w.lanes) {
		i0 := c * w.chunk
		w.run(ln, i0, min(w.chunk, total-i0))
	}
}

// run performs w.c on samples i0..i0+n-1.
func (w *Worker) run(ln *lane, i0, n int) {
	c := &w.c
	K, P := w.o.K(), w.o.P()
	if c.op == opLossGrad {
		w.lossGradPiece(ln, c.theta, c.idx, i0, n, c.wantGrad)
		return
	}
	var y []float64
	if w.cached(c) && c.op != opCache {
		ln.ev.(ForwardCache).Restore(w.fc.snaps[i0/w.chunk])
		copy(ln.f, w.fc.f[i0*K:(i0+n)*K])
		y = w.o.Data.Y[i0*K : (i0+n)*K]
	} else {
		y = w.piece(ln, c.theta, c.idx, i0, n)
	}
	switch c.op {
	case opCache:
		w.fc.snaps[i0/w.chunk] = ln.ev.(ForwardCache).Snapshot()
		copy(w.fc.f[i0*K:(i0+n)*K], ln.f[:n*K])
	case opPerSample:
		for i := 0; i < n; i++ {
			l := w.o.Loss.Eval(ln.f[i*K:(i+1)*K], y[i*K:(i+1)*K], ln.g[i*K:(i+1)*K])
			if c.losses != nil {
				c.losses[i0+i] = l
			}
		}
		if c.dldf != nil {
			copy(c.dldf[i0*K:(i0+n)*K], ln.g[:n*K])
		}
	case opOutputs:
		copy(c.out[i0*K:(i0+n)*K], ln.f[:n*K])
	case opPerSampleGrads:
		for i := 0; i < n; i++ {
			w.o.Loss.Eval(ln.f[i*K:(i+1)*K], y[i*K:(i+1)*K], ln.g[i*K:(i+1)*K])
		}
		ln.ev.PerSample(ln.g, c.rows[i0*P:(i0+n)*P], P)
	case opOutputGrads:
		for k := 0; k < K; k++ {
			clear(ln.g[:n*K])
			for i := 0; i < n; i++ {
				ln.g[i*K+k] = 1
			}
			ln.ev.PerSample(ln.g, c.rows[(i0*K+k)*P:], K*P)
		}
	case opJVP:
		ln.ev.JVP(c.v, ln.rf)
		copy(c.out[i0*K:(i0+n)*K], ln.rf[:n*K])
	case opVJP:
		ln.ev.Backward(c.u[i0*K:(i0+n)*K], ln.acc)
	case opGNVP:
		ln.ev.JVP(c.v, ln.rf)
		for i := 0; i < n; i++ {
			w.o.Loss.Curv(ln.f[i*K:(i+1)*K], y[i*K:(i+1)*K], ln.rf[i*K:(i+1)*K], ln.rg[i*K:(i+1)*K])
		}
		ln.ev.Backward(ln.rg, ln.acc)
	case opHVP:
		ln.ev.JVP(c.v, ln.rf)
		for i := 0; i < n; i++ {
			f, yy := ln.f[i*K:(i+1)*K], y[i*K:(i+1)*K]
			w.o.Loss.Eval(f, yy, ln.g[i*K:(i+1)*K])
			w.o.Loss.Curv(f, yy, ln.rf[i*K:(i+1)*K], ln.rg[i*K:(i+1)*K])
		}
		ln.ev.RBackward(ln.g, ln.rg, ln.acc)
	}
}

// maxCacheValues bounds the memory of a forward cache (float64 values).
const maxCacheValues = 1 << 26

// CacheForward saves the forward pass over all samples at theta, so that later Jacobian-,
// Gauss-Newton- and Hessian-vector products at the same theta (same slice, unchanged) skip
// it; products at any other theta are unaffected. It returns false (and caches nothing)
// when the model does not support it or the cache would be too large.
func (w *Worker) CacheForward(theta []float64) bool {
	if fc := w.fc; fc != nil && len(theta) == len(fc.theta) && &theta[0] == fc.ptr && equal(theta, fc.theta) {
		return true // already cached
	}
	w.fc = nil
	if _, ok := w.lanes[0].ev.(ForwardCache); !ok || len(theta) == 0 {
		return false
	}
	values := w.o.N() * w.o.K()
	if m, ok := w.o.Model.(*MLP); ok {
		for _, wd := range m.Widths[1:] {
			values += 2 * w.o.N() * wd
		}
	}
	if values > maxCacheValues {
		return false
	}
	fc := &forwardCache{theta: append([]float64(nil), theta...), ptr: &theta[0],
		snaps: make([]any, (w.o.N()+w.chunk-1)/w.chunk), f: make([]float64, w.o.N()*w.o.K())}
	w.fc = fc
	w.pass(call{op: opCache, theta: theta})
	return true
}

// cached reports whether the pass c can use the forward cache.
func (w *Worker) cached(c *call) bool {
	fc := w.fc
	if fc == nil || c.idx != nil || len(c.theta) != len(fc.theta) || &c.theta[0] != fc.ptr {
		return false
	}
	switch c.op {
	case opJVP, opVJP, opGNVP, opHVP, opCache:
	default:
		return false
	}
	return true
}

// pass sets up and runs a full-data (or idx) pass (nothing once the objective's context is
// cancelled).
func (w *Worker) pass(c call) {
	if w.ctx != nil && w.ctx.Err() != nil {
		for _, ln := range w.lanes {
			clear(ln.acc)
			ln.sum = 0
		}
		return
	}
	if w.fc != nil && c.op != opCache && w.cached(&c) && !equal(c.theta, w.fc.theta) {
		w.fc = nil // theta changed in place since it was cached
	}
	w.c = c
	w.each()
	w.c = call{}
}

func equal(a, b []float64) bool {
	for i, v := range a {
		if v != b[i] {
			return false
		}
	}
	return true
}

// reduce sums the lane accumulators into out (if not nil) scaled by s, and returns the
// scaled sum of the lane scalars.
func (w *Worker) reduce(out []float64, s float64) float64 {
	total := 0.0
	if out != nil {
		clear(out)
	}
	for _, ln := range w.lanes {
		total += ln.sum
		if out != nil {
			for i, v := range ln.acc {
				out[i] += v
			}
		}
	}
	if out != nil {
		for i := range out {
			out[i] *= s
		}
	}
	return total * s
}

// lossGradPiece adds the losses of samples i0..i0+n-1 of idx to ln.sum and, when
// wantGrad, their summed gradients J^T dl/df to ln.acc.
func (w *Worker) lossGradPiece(ln *lane, theta []float64, idx []int, i0, n int, wantGrad bool) {
	K := w.o.K()
	y := w.piece(ln, theta, idx, i0, n)
	var g []float64
	for i := 0; i < n; i++ {
		if wantGrad {
			g = ln.g[i*K : (i+1)*K]
		}
		ln.sum += w.o.Loss.Eval(ln.f[i*K:(i+1)*K], y[i*K:(i+1)*K], g)
	}
	if wantGrad {
		ln.ev.Backward(ln.g, ln.acc)
	}
}

// lossGrad returns the mean loss over idx (all N when nil) and writes the mean gradient
// into grad when it is not nil. A set that fits in one chunk runs on the calling goroutine
// without allocating (the SGD hot path).
func (w *Worker) lossGrad(theta []float64, idx []int, grad []float64) float64 {
	n := w.o.N()
	if idx != nil {
		n = len(idx)
	}
	if n <= w.chunk {
		ln := w.lanes[0]
		ln.sum = 0
		if grad != nil {
			clear(grad)
			acc := ln.acc
			ln.acc = grad
			w.lossGradPiece(ln, theta, idx, 0, n, true)
			ln.acc = acc
			s := 1 / float64(n)
			for i := range grad {
				grad[i] *= s
			}
		} else {
			w.lossGradPiece(ln, theta, idx, 0, n, false)
		}
		return ln.sum / float64(n)
	}
	w.pass(call{op: opLossGrad, theta: theta, idx: idx, wantGrad: grad != nil})
	return w.reduce(grad, 1/float64(n))
}

// Loss returns L(theta) over the full dataset.
func (w *Worker) Loss(theta []float64) float64 { return w.lossGrad(theta, nil, nil) }

// LossGrad returns L(theta) and writes grad L(theta) into grad.
func (w *Worker) LossGrad(theta, grad []float64) float64 { return w.lossGrad(theta, nil, grad) }

// BatchLossGrad returns the mini-batch loss L_B = (1/|idx|) sum_{mu in idx} l_mu and writes
// its gradient into grad (grad may be nil).
func (w *Worker) BatchLossGrad(theta []float64, idx []int, grad []float64) float64 {
	return w.lossGrad(theta, idx, grad)
}

// PerSample writes, for every sample mu, l_mu into losses[mu] (if not nil) and
// dl_mu/df into dldf[mu*K:(mu+1)*K] (if not nil). For the MSE loss dl/df is the residual f - y.
func (w *Worker) PerSample(theta, losses, dldf []float64) {
	w.pass(call{op: opPerSample, theta: theta, losses: losses, dldf: dldf})
}

// Outputs writes f(theta, x_mu) for every sample into out (N x K).
func (w *Worker) Outputs(theta, out []float64) { w.pass(call{op: opOutputs, theta: theta, out: out}) }

// PerSampleGrads writes grad l_mu for the samples idx (all N when idx is nil) as rows of
// rows (len(idx) x P, row-major). This is not divided by N.
func (w *Worker) PerSampleGrads(theta []float64, idx []int, rows []float64) {
	w.pass(call{op: opPerSampleGrads, theta: theta, idx: idx, rows: rows})
}

// OutputGrads writes grad f_k(theta, x_mu) for the samples idx (all N when idx is nil) as
// rows mu*K + k of rows ((len(idx)*K) x P). These are the rows of the Jacobian J.
func (w *Worker) OutputGrads(theta []float64, idx []int, rows []float64) {
	w.pass(call{op: opOutputGrads, theta: theta, idx: idx, rows: rows})
}

// Derived returns the value build computes for key, computing it once per objective: read-only
// data derived from the objective (such as the per-sample tables of a fast path) that every
// goroutine shares. key must be comparable and identify everything build depends on.
func (o *Objective) Derived(key any, build func() any) any {
	o.derivedMu.Lock()
	defer o.derivedMu.Unlock()
	if v, ok := o.derived[key]; ok {
		return v
	}
	if o.derived == nil {
		o.derived = map[any]any{}
	}
	v := build()
	o.derived[key] = v
	return v
}

// PackedRows returns the data as one row per sample, inputs then targets (N x (D+K)),
// built once and shared read-only: the layout the SGD fast path reads a sample from.
func (o *Objective) PackedRows() []float64 {
	o.packOnce.Do(func() {
		d, k := o.Data.D, o.Data.K
		o.packed = make([]float64, o.N()*(d+k))
		for i := 0; i < o.N(); i++ {
			copy(o.packed[i*(d+k):], o.Data.X[i*d:(i+1)*d])
			copy(o.packed[i*(d+k)+d:], o.Data.Y[i*k:(i+1)*k])
		}
	})
	return o.packed
}
