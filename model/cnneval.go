package model

import "fmt"

// cnnEval evaluates a CNN on batches: bufs[k] is the input of operation k (bufs[0] the data,
// bufs[len(ops)] the outputs); rbufs, dbufs and rdbufs hold their tangents, gradients and
// the gradients' tangents, allocated on first use.
type cnnEval struct {
	m                    *CNN
	ops                  []layerOp
	maxB, b              int
	theta, v             []float64
	bufs                 [][]float64
	rbufs, dbufs, rdbufs [][]float64
}

func (m *CNN) NewEval(maxBatch int) Eval {
	e := &cnnEval{m: m, maxB: maxBatch}
	for _, o := range m.ops {
		e.ops = append(e.ops, o.newScratch(maxBatch))
	}
	e.bufs = e.alloc()
	return e
}

// alloc returns one buffer per operation boundary (the data slot left nil).
func (e *cnnEval) alloc() [][]float64 {
	s := make([][]float64, len(e.ops)+1)
	for k, o := range e.ops {
		s[k+1] = make([]float64, e.maxB*o.out().Size())
	}
	return s
}

func (e *cnnEval) Forward(theta, X []float64, b int, F []float64) {
	if b > e.maxB {
		panic(fmt.Sprintf("model: batch %d exceeds evaluator capacity %d", b, e.maxB))
	}
	e.theta, e.b = theta, b
	e.bufs[0] = X[:b*e.m.In.Size()]
	for k, o := range e.ops {
		o.forward(theta, e.bufs[k], e.bufs[k+1], b)
	}
	K := e.m.OutDim()
	copy(F[:b*K], e.bufs[len(e.ops)][:b*K])
}

// backprop fills dbufs from the output gradient dF (dbufs[0], the data's, stays nil).
func (e *cnnEval) backprop(dF []float64) {
	if e.dbufs == nil {
		e.dbufs = e.alloc()
	}
	n, K := len(e.ops), e.m.OutDim()
	copy(e.dbufs[n][:e.b*K], dF[:e.b*K])
	for k := n - 1; k >= 0; k-- {
		e.ops[k].backward(e.theta, e.bufs[k], e.bufs[k+1], e.dbufs[k+1], e.dbufs[k], e.b)
	}
}

func (e *cnnEval) Backward(dF, grad []float64) {
	e.backprop(dF)
	for k, o := range e.ops {
		if o.nparams() > 0 {
			o.grad(e.bufs[k], e.dbufs[k+1], grad, e.b)
		}
	}
}

func (e *cnnEval) PerSample(dF, rows []float64, stride int) {
	e.backprop(dF)
	for k, o := range e.ops {
		if o.nparams() > 0 {
			o.perSample(e.bufs[k], e.dbufs[k+1], rows, stride, e.b)
		}
	}
}

func (e *cnnEval) JVP(v, RF []float64) {
	if e.rbufs == nil {
		e.rbufs = e.alloc()
	}
	e.v = v
	for k, o := range e.ops {
		o.tangent(e.theta, v, e.bufs[k], e.bufs[k+1], e.rbufs[k], e.rbufs[k+1], e.b)
	}
	K := e.m.OutDim()
	copy(RF[:e.b*K], e.rbufs[len(e.ops)][:e.b*K])
}

func (e *cnnEval) RBackward(dF, RdF, hv []float64) {
	if e.dbufs == nil {
		e.dbufs = e.alloc()
	}
	if e.rdbufs == nil {
		e.rdbufs = e.alloc()
	}
	n, K := len(e.ops), e.m.OutDim()
	copy(e.dbufs[n][:e.b*K], dF[:e.b*K])
	copy(e.rdbufs[n][:e.b*K], RdF[:e.b*K])
	for k := n - 1; k >= 0; k-- {
		o := e.ops[k]
		o.backward(e.theta, e.bufs[k], e.bufs[k+1], e.dbufs[k+1], e.dbufs[k], e.b)
		o.rbackward(e.theta, e.v, e.bufs[k], e.bufs[k+1], e.rbufs[k], e.dbufs[k+1], e.rdbufs[k+1], e.rdbufs[k], hv,
			e.b)
	}
}
