package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/sgdlab/sgdlab/internal/linalg"
	"github.com/sgdlab/sgdlab/internal/memory"
)

// Activation is a hidden-layer nonlinearity.
type Activation int

const (
	ReLU Activation = iota
	Tanh
	Linear
)

func (a Activation) String() string {
	return [...]string{"relu", "tanh", "linear"}[a]
}

// MLP is a fully connected network with the given widths (inputs first, outputs last),
// an activation on every hidden layer and a linear output layer. Layer l holds its
// weight matrix W_l (out x in, row-major) followed by its bias b_l (if Bias is set).
// Linear regression f = theta . x is the MLP with widths [D, 1] and no bias.
type MLP struct {
	Widths []int
	Act    Activation
	Bias   bool
	name   string // "linear" or "mlp", for Spec
	wOff   []int  // offset of W_l in theta, l = 1..L (index l-1)
	bOff   []int  // offset of b_l
	p      int
}

// NewMLP builds an MLP; widths must have at least two entries, all positive.
func NewMLP(widths []int, act Activation, bias bool) (*MLP, error) {
	if len(widths) < 2 {
		return nil, fmt.Errorf("mlp needs at least input and output widths, got %v", widths)
	}
	for _, w := range widths {
		if w <= 0 {
			return nil, fmt.Errorf("mlp widths must be positive, got %v", widths)
		}
	}
	var total int64
	for l := 1; l < len(widths); l++ {
		total = memory.Add(total, memory.Mul(int64(widths[l]), int64(widths[l-1])+1))
	}
	if total > MaxParams {
		return nil, fmt.Errorf("mlp widths %v give more than %d parameters", widths, int64(MaxParams))
	}
	m := &MLP{Widths: append([]int(nil), widths...), Act: act, Bias: bias, name: "mlp"}
	off := 0
	for l := 1; l < len(widths); l++ {
		m.wOff = append(m.wOff, off)
		off += widths[l] * widths[l-1]
		m.bOff = append(m.bOff, off)
		if bias {
			off += widths[l]
		}
	}
	m.p = off
	return m, nil
}

// NewLinear returns linear regression f = W x (+ b) from d inputs to k outputs.
func NewLinear(d, k int, bias bool) *MLP {
	m, _ := NewMLP([]int{d, k}, Linear, bias)
	m.name = "linear"
	return m
}

func (m *MLP) Spec() string {
	if m.name == "linear" {
		if m.Bias {
			return "linear:bias"
		}
		return "linear"
	}
	ws := make([]string, len(m.Widths))
	for i, w := range m.Widths {
		ws[i] = strconv.Itoa(w)
	}
	s := "mlp:" + strings.Join(ws, "-") + ":" + m.Act.String()
	if !m.Bias {
		s += ":nobias"
	}
	return s
}

func (m *MLP) NumParams() int { return m.p }
func (m *MLP) InDim() int     { return m.Widths[0] }
func (m *MLP) OutDim() int    { return m.Widths[len(m.Widths)-1] }
func (m *MLP) layers() int    { return len(m.Widths) - 1 }

func (m *MLP) Blocks() []Block {
	var bs []Block
	for l := 1; l <= m.layers(); l++ {
		bs = append(bs, Block{Name: fmt.Sprintf("layer%d.weight", l), Off: m.wOff[l-1],
			Len: m.Widths[l] * m.Widths[l-1]})
		if m.Bias {
			bs = append(bs, Block{Name: fmt.Sprintf("layer%d.bias", l), Off: m.bOff[l-1], Len: m.Widths[l]})
		}
	}
	return bs
}

// Init draws weights from Glorot (Xavier) uniform U(-s, s), s = sqrt(6 / (fan_in + fan_out)),
// and sets biases to zero. Linear regression starts at zero.
func (m *MLP) Init(theta []float64, rng *rand.Rand) {
	clear(theta[:m.p])
	if m.name == "linear" {
		return
	}
	for l := 1; l <= m.layers(); l++ {
		in, out := m.Widths[l-1], m.Widths[l]
		s := math.Sqrt(6 / float64(in+out))
		w := theta[m.wOff[l-1] : m.wOff[l-1]+in*out]
		for i := range w {
			w[i] = s * (2*rng.Float64() - 1)
		}
	}
}

// weights returns W_l (1-based l) as a matrix view of theta (or of a direction v).
func (m *MLP) weights(theta []float64, l int) linalg.Matrix {
	in, out := m.Widths[l-1], m.Widths[l]
	return linalg.M(out, in, theta[m.wOff[l-1]:m.wOff[l-1]+in*out])
}

func (m *MLP) bias(theta []float64, l int) []float64 {
	if !m.Bias {
		return nil
	}
	return theta[m.bOff[l-1] : m.bOff[l-1]+m.Widths[l]]
}

// mlpEval holds per-layer buffers for batches of up to maxB samples.
// Index l runs over layers 0..L; Z[0], RZ[0] are unused, A[0] aliases the input.
type mlpEval struct {
	m     *MLP
	maxB  int
	b     int
	theta []float64
	v     []float64
	A     [][]float64 // activations, b x w[l]
	Z     [][]float64 // pre-activations
	RA    [][]float64 // forward-mode tangents of A
	RZ    [][]float64
	D     [][]float64 // backpropagated dl/dZ_l
	RD    [][]float64
	tmp   []float64 // b x max width
	// Sparse inputs (e.g. MNIST, ~80% zeros): the batch's input in CSR form and a buffer for
	// transposed first-layer weights, used when the input density is below sparseDensity.
	sparse bool
	csr    *linalg.CSR
	wT     []float64 // in x out of layer 1
	// The evaluator's own buffers; A, Z and csr point at them except after Restore.
	ownA, ownZ [][]float64
	ownCSR     linalg.CSR
}

// sparseDensity is the input density below which the first layer skips zero inputs, for
// batches of at least sparseMinRows rows. The openblas build sets sparseMinRows: below it
// the per-batch costs of the sparse path (transposing W_1, building the compressed rows
// and columns) outweigh its saving over OpenBLAS's dense product.
var (
	sparseDensity = 0.5
	sparseMinRows = 0
)

// denseOnly disables the sparse path (tests compare both).
var denseOnly = false

func (m *MLP) NewEval(maxBatch int) Eval {
	L := m.layers()
	e := &mlpEval{m: m, maxB: maxBatch}
	alloc := func() [][]float64 {
		s := make([][]float64, L+1)
		for l := 1; l <= L; l++ {
			s[l] = make([]float64, maxBatch*m.Widths[l])
		}
		return s
	}
	e.A, e.Z, e.RA, e.RZ, e.D, e.RD = alloc(), alloc(), alloc(), alloc(), alloc(), alloc()
	e.ownA, e.ownZ, e.csr = e.A, e.Z, &e.ownCSR
	maxW := 0
	for _, w := range m.Widths {
		maxW = max(maxW, w)
	}
	e.tmp = make([]float64, maxBatch*maxW)
	e.wT = make([]float64, m.Widths[0]*m.Widths[1])
	return e
}

func mat(rows, cols int, data []float64) linalg.Matrix { return linalg.M(rows, cols, data) }

// act applies the activation to z in place into a; deriv writes sigma'(z) given z and a = sigma(z).
func (e *mlpEval) activate(z, a []float64) {
	switch e.m.Act {
	case ReLU:
		for i, v := range z {
			a[i] = max(v, 0)
		}
	case Tanh:
		for i, v := range z {
			a[i] = math.Tanh(v)
		}
	default:
		copy(a, z)
	}
}

// mulDeriv multiplies x in place by sigma'(Z_l) elementwise.
func (e *mlpEval) mulDeriv(l int, x []float64) {
	switch e.m.Act {
	case ReLU:
		// A conditional move on the bits, not a branch: about half of the units are
		// inactive, so a branch is mispredicted every other element.
		z := e.Z[l][:len(x)]
		for i := range x {
			b := math.Float64bits(x[i])
			if z[i] <= 0 {
				b = 0
			}
			x[i] = math.Float64frombits(b)
		}
	case Tanh:
		a := e.A[l][:len(x)]
		for i := range x {
			x[i] *= 1 - a[i]*a[i]
		}
	}
}

func (e *mlpEval) Forward(theta, X []float64, b int, F []float64) {
	if b > e.maxB {
		panic(fmt.Sprintf("model: batch %d exceeds evaluator capacity %d", b, e.maxB))
	}
	m, L := e.m, e.m.layers()
	e.theta, e.b = theta, b
	e.A, e.Z, e.csr = e.ownA, e.ownZ, &e.ownCSR
	e.A[0] = X[:b*m.Widths[0]]
	e.sparse = !denseOnly && m.Widths[0] >= 64 && b >= sparseMinRows &&
		linalg.Density(b, m.Widths[0], e.A[0]) < sparseDensity
	if e.sparse {
		e.csr.Fill(b, m.Widths[0], e.A[0])
	}
	for l := 1; l <= L; l++ {
		out := m.Widths[l]
		z := e.Z[l][:b*out]
		if bs := m.bias(theta, l); bs != nil {
			for i := 0; i < b; i++ {
				copy(z[i*out:(i+1)*out], bs)
			}
		} else {
			clear(z)
		}
		e.mulInput(l, theta, z)
		if l < L {
			e.activate(z, e.A[l][:b*out])
		}
	}
	copy(F[:b*m.OutDim()], e.Z[L][:b*m.OutDim()])
}

// backprop fills D[l] for all layers from D[L] = dF.
func (e *mlpEval) backprop(dF []float64) {
	m, L, b := e.m, e.m.layers(), e.b
	copy(e.D[L][:b*m.OutDim()], dF[:b*m.OutDim()])
	for l := L; l > 1; l-- {
		d := e.D[l-1][:b*m.Widths[l-1]]
		linalg.Gemm(false, false, 1, mat(b, m.Widths[l], e.D[l]), m.weights(e.theta, l), 0, mat(b, m.Widths[l-1], d))
		e.mulDeriv(l-1, d)
	}
}

// addGrad adds D_l^T A_{l-1} and colsum(D_l) of the given buffers to grad (the per-layer VJP).
func (e *mlpEval) addGrad(l int, D, A []float64, grad []float64, withBias bool) {
	m, b := e.m, e.b
	in, out := m.Widths[l-1], m.Widths[l]
	if l == 1 && e.sparse {
		// grad W_1 += D^T X through (X^T D)^T, skipping zero inputs.
		gT := e.wT[:in*out]
		clear(gT)
		e.csr.AddTMul(mat(b, out, D), gT, out)
		g := m.weights(grad, 1)
		for o := 0; o < out; o++ {
			row := g.Data[o*in : (o+1)*in]
			for j := range row {
				row[j] += gT[j*out+o]
			}
		}
	} else {
		linalg.Gemm(true, false, 1, mat(b, out, D), mat(b, in, A), 1, m.weights(grad, l))
	}
	if withBias && m.Bias {
		gb := m.bias(grad, l)
		for i := 0; i < b; i++ {
			row := D[i*out : (i+1)*out]
			for j, v := range row {
				gb[j] += v
			}
		}
	}
}

func (e *mlpEval) Backward(dF, grad []float64) {
	e.backprop(dF)
	for l := 1; l <= e.m.layers(); l++ {
		e.addGrad(l, e.D[l], e.A[l-1], grad, true)
	}
}

func (e *mlpEval) PerSample(dF, rows []float64, stride int) {
	e.backprop(dF)
	m, P := e.m, e.m.p
	for i := 0; i < e.b; i++ {
		row := rows[i*stride : i*stride+P]
		for l := 1; l <= m.layers(); l++ {
			in, out := m.Widths[l-1], m.Widths[l]
			d := e.D[l][i*out : (i+1)*out]
			a := e.A[l-1][i*in : (i+1)*in]
			w := row[m.wOff[l-1] : m.wOff[l-1]+in*out]
			for r, dv := range d {
				wr := w[r*in : (r+1)*in]
				for c, av := range a {
					wr[c] = dv * av
				}
			}
			if m.Bias {
				copy(row[m.bOff[l-1]:m.bOff[l-1]+out], d)
			}
		}
	}
}

func (e *mlpEval) JVP(v, RF []float64) {
	m, L, b := e.m, e.m.layers(), e.b
	e.v = v
	for l := 1; l <= L; l++ {
		in, out := m.Widths[l-1], m.Widths[l]
		rz := e.RZ[l][:b*out]
		if bs := m.bias(v, l); bs != nil {
			for i := 0; i < b; i++ {
				copy(rz[i*out:(i+1)*out], bs)
			}
		} else {
			clear(rz)
		}
		e.mulInput(l, v, rz)
		if l > 1 {
			linalg.Gemm(false, true, 1, mat(b, in, e.RA[l-1]), m.weights(e.theta, l), 1, mat(b, out, rz))
		}
		if l < L {
			ra := e.RA[l][:b*out]
			copy(ra, rz)
			e.mulDeriv(l, ra)
		}
	}
	copy(RF[:b*m.OutDim()], e.RZ[L][:b*m.OutDim()])
}

func (e *mlpEval) RBackward(dF, RdF, hv []float64) {
	m, L, b := e.m, e.m.layers(), e.b
	K := m.OutDim()
	copy(e.D[L][:b*K], dF[:b*K])
	copy(e.RD[L][:b*K], RdF[:b*K])
	for l := L; l >= 1; l-- {
		in, out := m.Widths[l-1], m.Widths[l]
		// R{grad W_l} = RD_l^T A_{l-1} + D_l^T RA_{l-1};  R{grad b_l} = colsum(RD_l).
		e.addGrad(l, e.RD[l], e.A[l-1], hv, true)
		if l > 1 {
			e.addGrad(l, e.D[l], e.RA[l-1], hv, false)
		}
		if l == 1 {
			break
		}
		// DW = D_l W_l ; D_{l-1} = DW * s'(Z_{l-1});
		// RD_{l-1} = (RD_l W_l + D_l V_l) * s'(Z_{l-1}) + DW * s''(Z_{l-1}) * RZ_{l-1}.
		dw := e.tmp[:b*in]
		linalg.Gemm(false, false, 1, mat(b, out, e.D[l]), m.weights(e.theta, l), 0, mat(b, in, dw))
		rd := e.RD[l-1][:b*in]
		linalg.Gemm(false, false, 1, mat(b, out, e.RD[l]), m.weights(e.theta, l), 0, mat(b, in, rd))
		linalg.Gemm(false, false, 1, mat(b, out, e.D[l]), m.weights(e.v, l), 1, mat(b, in, rd))
		e.mulDeriv(l-1, rd)
		if m.Act == Tanh {
			a, rz := e.A[l-1][:b*in], e.RZ[l-1][:b*in]
			for i := range rd {
				rd[i] += dw[i] * (-2 * a[i] * (1 - a[i]*a[i])) * rz[i]
			}
		}
		d := e.D[l-1][:b*in]
		copy(d, dw)
		e.mulDeriv(l-1, d)
	}
}

func (e *mlpEval) LayerFactors(dF []float64) []LayerFactor {
	e.backprop(dF)
	m, b := e.m, e.b
	fs := make([]LayerFactor, m.layers())
	for l := 1; l <= m.layers(); l++ {
		in, out := m.Widths[l-1], m.Widths[l]
		fs[l-1] = LayerFactor{D: e.D[l][:b*out], A: e.A[l-1][:b*in], Out: out, In: in, Bias: m.Bias}
	}
	return fs
}

// mulInput adds A_{l-1} W^T to z (b x out) for the layer-l weights W taken from w (theta or
// a direction): through the sparse input for l = 1 when the batch is sparse.
func (e *mlpEval) mulInput(l int, w, z []float64) {
	m, b := e.m, e.b
	in, out := m.Widths[l-1], m.Widths[l]
	if l == 1 && e.sparse {
		linalg.Transpose(m.weights(w, 1), e.wT)
		e.csr.MulT(e.wT, out, mat(b, out, z))
		return
	}
	linalg.Gemm(false, true, 1, mat(b, in, e.A[l-1]), m.weights(w, l), 1, mat(b, out, z))
}

// mlpSnapshot is a saved forward pass.
type mlpSnapshot struct {
	b      int
	theta  []float64
	A, Z   [][]float64
	sparse bool
	csr    linalg.CSR
}

// Snapshot copies the state of the last Forward (the input A[0] is kept by reference).
func (e *mlpEval) Snapshot() any {
	s := &mlpSnapshot{b: e.b, theta: e.theta, sparse: e.sparse, A: make([][]float64, len(e.A)), Z: make([][]float64,
		len(e.Z))}
	s.A[0] = e.A[0]
	for l := 1; l < len(e.A); l++ {
		n := e.b * e.m.Widths[l]
		s.A[l] = append([]float64(nil), e.A[l][:n]...)
		s.Z[l] = append([]float64(nil), e.Z[l][:n]...)
	}
	if e.sparse {
		c := e.csr
		s.csr = linalg.CSR{Rows: c.Rows, Cols: c.Cols, Ptr: append([]int(nil), c.Ptr...), Idx: append([]int32(nil),
			c.Idx...), Val: append([]float64(nil), c.Val...)}
	}
	return s
}

// Restore makes a snapshot the evaluator's current forward state.
func (e *mlpEval) Restore(snapshot any) {
	s := snapshot.(*mlpSnapshot)
	e.b, e.theta, e.sparse = s.b, s.theta, s.sparse
	e.A, e.Z, e.csr = s.A, s.Z, &s.csr
}
