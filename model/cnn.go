package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/sgdlab/sgdlab/internal/memory"
)

// CNN is a convolutional network: a stack of 2-D convolutions (square kernels, stride, zero
// padding, bias), max and average pooling, and fully connected layers, with an activation
// after every convolution and every hidden fully connected layer and a linear output layer.
// Images are stored channels-last: a sample is its height x width x channels values in
// row-major order (y, x, c), the layout the first fully connected layer flattens. The
// parameters of a convolution are its weights W[out][ky][kx][in] followed by its bias; a
// fully connected layer holds W[out][in] followed by its bias (docs/design.md, "Models").
type CNN struct {
	In     Shape
	Layers []Layer
	Act    Activation
	Bias   bool
	ops    []layerOp
	p      int
}

// Shape is an image shape (a flat vector has H = W = 1).
type Shape struct{ H, W, C int }

// Size is the number of values.
func (s Shape) Size() int { return s.H * s.W * s.C }

// Layer is one layer of a CNN spec.
type Layer struct {
	Kind byte // 'c' convolution, 'm' max pooling, 'a' average pooling, 'f' fully connected
	Out  int  // output channels (c) or units (f)
	K    int  // kernel or window size
	S    int  // stride
	Pad  int  // zero padding (c)
}

// String is the layer's canonical token.
func (l Layer) String() string {
	switch l.Kind {
	case 'c':
		s := fmt.Sprintf("c%dk%d", l.Out, l.K)
		if l.S != 1 {
			s += fmt.Sprintf("s%d", l.S)
		}
		if l.Pad != 0 {
			s += fmt.Sprintf("p%d", l.Pad)
		}
		return s
	case 'm', 'a':
		s := fmt.Sprintf("%c%d", l.Kind, l.K)
		if l.S != l.K {
			s += fmt.Sprintf("s%d", l.S)
		}
		return s
	}
	return fmt.Sprintf("f%d", l.Out)
}

// NewCNN builds a CNN on inputs of shape in; the last layer must be fully connected.
func NewCNN(in Shape, layers []Layer, act Activation, bias bool) (*CNN, error) {
	if in.H < 1 || in.W < 1 || in.C < 1 {
		return nil, fmt.Errorf("input shape %dx%dx%d must be positive", in.H, in.W, in.C)
	}
	if len(layers) == 0 || layers[len(layers)-1].Kind != 'f' {
		return nil, fmt.Errorf("the last layer must be fully connected (fK)")
	}
	m := &CNN{In: in, Layers: append([]Layer(nil), layers...), Act: act, Bias: bias}
	cur := in
	var total int64
	flat := false
	for i, l := range layers {
		if l.Out < 0 || l.K < 0 || l.S < 0 || l.Pad < 0 {
			return nil, fmt.Errorf("layer %s: sizes must be positive", l)
		}
		var o layerOp
		switch l.Kind {
		case 'c':
			if flat {
				return nil, fmt.Errorf("layer %s: a convolution cannot follow a fully connected layer", l)
			}
			switch {
			case l.K < 1:
				return nil, fmt.Errorf("layer %s: the kernel size %d must be at least 1", l, l.K)
			case l.S < 1:
				return nil, fmt.Errorf("layer %s: the stride %d must be at least 1", l, l.S)
			case l.Out < 1:
				return nil, fmt.Errorf("layer %s: the number of channels %d must be at least 1", l, l.Out)
			}
			ho, wo := (cur.H+2*l.Pad-l.K)/l.S+1, (cur.W+2*l.Pad-l.K)/l.S+1
			if cur.H+2*l.Pad < l.K || cur.W+2*l.Pad < l.K {
				return nil, fmt.Errorf("layer %s: kernel %d is larger than the padded %dx%d image", l, l.K, cur.H,
					cur.W)
			}
			o = &convOp{in: cur, outS: Shape{ho, wo, l.Out}, k: l.K, s: l.S, pad: l.Pad, bias: bias}
		case 'm', 'a':
			if flat {
				return nil, fmt.Errorf("layer %s: pooling cannot follow a fully connected layer", l)
			}
			switch {
			case l.K < 1:
				return nil, fmt.Errorf("layer %s: the window %d must be at least 1", l, l.K)
			case l.S < 1:
				return nil, fmt.Errorf("layer %s: the stride %d must be at least 1", l, l.S)
			case l.K > cur.H || l.K > cur.W:
				return nil, fmt.Errorf("layer %s: window %d does not fit the %dx%d image", l, l.K, cur.H, cur.W)
			}
			o = &poolOp{in: cur, outS: Shape{(cur.H-l.K)/l.S + 1, (cur.W-l.K)/l.S + 1, cur.C}, k: l.K, s: l.S,
				max: l.Kind == 'm'}
		case 'f':
			if l.Out < 1 {
				return nil, fmt.Errorf("layer %s: units must be at least 1", l)
			}
			flat = true
			o = &denseOp{inN: cur.Size(), outN: l.Out, bias: bias}
		default:
			return nil, fmt.Errorf("unknown layer kind %q", l.Kind)
		}
		total = memory.Add(total, int64(o.nparams()))
		if total > MaxParams {
			return nil, fmt.Errorf("the layers give more than %d parameters", int64(MaxParams))
		}
		o.setOffset(int(total) - o.nparams())
		m.ops = append(m.ops, o)
		cur = o.out()
		if l.Kind != 'm' && l.Kind != 'a' && i < len(layers)-1 && act != Linear {
			m.ops = append(m.ops, &actOp{shape: cur, act: act})
		}
	}
	m.p = int(total)
	return m, nil
}

func (m *CNN) Spec() string {
	toks := []string{fmt.Sprintf("%dx%dx%d", m.In.H, m.In.W, m.In.C)}
	for _, l := range m.Layers {
		toks = append(toks, l.String())
	}
	s := "cnn:" + strings.Join(toks, "-") + ":" + m.Act.String()
	if !m.Bias {
		s += ":nobias"
	}
	return s
}

func (m *CNN) NumParams() int { return m.p }
func (m *CNN) InDim() int     { return m.In.Size() }
func (m *CNN) OutDim() int    { return m.ops[len(m.ops)-1].out().Size() }

// Blocks names each layer's weights and bias (conv1.weight, fc1.bias, ...).
func (m *CNN) Blocks() []Block {
	var bs []Block
	nc, nf := 0, 0
	for _, o := range m.ops {
		var name string
		var w, b int
		switch op := o.(type) {
		case *convOp:
			nc++
			name, w, b = fmt.Sprintf("conv%d", nc), op.outS.C*op.kk(), op.outS.C
		case *denseOp:
			nf++
			name, w, b = fmt.Sprintf("fc%d", nf), op.outN*op.inN, op.outN
		default:
			continue
		}
		off := o.offset()
		bs = append(bs, Block{Name: name + ".weight", Off: off, Len: w})
		if m.Bias {
			bs = append(bs, Block{Name: name + ".bias", Off: off + w, Len: b})
		}
	}
	return bs
}

// Init draws weights uniformly from U(-s, s) and sets biases to 0: with ReLU the He
// (Kaiming) scale s = sqrt(6/fan_in), which keeps the activations' variance through deep
// stacks of convolutions (Glorot's halves it at every ReLU layer, and nine layers silence
// the network), otherwise Glorot's s = sqrt(6/(fan_in + fan_out)); the fans of a convolution
// count its kernel (k^2 in and k^2 out per channel). The output layer always uses Glorot.
func (m *CNN) Init(theta []float64, rng *rand.Rand) {
	clear(theta[:m.p])
	for _, o := range m.ops {
		var fanIn, fanOut, n int
		switch op := o.(type) {
		case *convOp:
			fanIn, fanOut, n = op.kk(), op.k*op.k*op.outS.C, op.outS.C*op.kk()
		case *denseOp:
			fanIn, fanOut, n = op.inN, op.outN, op.outN*op.inN
		default:
			continue
		}
		s := math.Sqrt(6 / float64(fanIn+fanOut))
		if m.Act == ReLU && o != m.ops[len(m.ops)-1] {
			s = math.Sqrt(6 / float64(fanIn))
		}
		w := theta[o.offset() : o.offset()+n]
		for i := range w {
			w[i] = s * (2*rng.Float64() - 1)
		}
	}
}

// ActivationValues is the number of values one sample's forward pass holds (the inputs and
// outputs of every operation): memory estimates and chunk sizes use it.
func (m *CNN) ActivationValues() int {
	n := m.In.Size()
	for _, o := range m.ops {
		n += o.out().Size()
	}
	return n
}

// ScratchValues bounds the values an evaluator keeps besides its batch buffers: three
// im2col patch matrices of at most convGroupValues values (or one sample) per convolution.
func (m *CNN) ScratchValues() int {
	n := 0
	for _, o := range m.ops {
		if c, ok := o.(*convOp); ok {
			n += 3 * max(convGroupValues, c.hw()*c.kk())
		}
	}
	return n
}

// PreferredChunk keeps an evaluator's four sets of buffers near 2^23 values (64 MiB).
func (m *CNN) PreferredChunk() int { return max(1, min(DefaultChunk, (1<<21)/m.ActivationValues())) }

// parseCNN reads cnn:HxWxC-layer-...-fK[:relu|tanh|linear][:nobias].
func parseCNN(text string, pos []string, errf func(string, ...any) error) (Model, error) {
	if len(pos) == 0 {
		return nil, errf("needs layers, e.g. cnn:28x28x1-c8k3p1-m2-f10:relu")
	}
	toks := strings.Split(pos[0], "-")
	dims := strings.Split(toks[0], "x")
	if len(dims) != 3 {
		return nil, errf("the first token %q must be the input shape HxWxC, e.g. 32x32x3", toks[0])
	}
	var in [3]int
	for i, d := range dims {
		v, err := strconv.Atoi(d)
		if err != nil || v < 1 || v > 1<<16 {
			return nil, errf("input size %q is not an integer in [1, 65536]", d)
		}
		in[i] = v
	}
	var layers []Layer
	for _, t := range toks[1:] {
		l, err := parseLayer(t)
		if err != nil {
			return nil, errf("%v", err)
		}
		layers = append(layers, l)
	}
	act, bias, err := activationOptions(pos[1:])
	if err != nil {
		return nil, errf("%v", err)
	}
	m, err := NewCNN(Shape{in[0], in[1], in[2]}, layers, act, bias)
	if err != nil {
		return nil, errf("%v", err)
	}
	return m, nil
}

// parseLayer reads c64k3[s1][p1], m2[s2], a2[s2] or f10.
func parseLayer(t string) (Layer, error) {
	bad := fmt.Errorf("layer %q: use cOUTkK[sS][pP] (convolution), mK[sS] (max pooling), aK[sS] (average "+
		"pooling) or fN (fully connected)", t)
	if t == "" {
		return Layer{}, bad
	}
	l := Layer{Kind: t[0]}
	fields := map[byte]int{}
	order := ""
	rest := t[1:]
	key := byte(0)
	for len(rest) > 0 {
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if j == 0 || j > 7 {
			return l, bad
		}
		v, _ := strconv.Atoi(rest[:j])
		if _, dup := fields[key]; dup {
			return l, bad
		}
		fields[key] = v
		order += string(rune(key))
		rest = rest[j:]
		if len(rest) > 0 {
			key = rest[0]
			rest = rest[1:]
		}
	}
	get := func(k byte, def int) int {
		if v, ok := fields[k]; ok {
			return v
		}
		return def
	}
	allowed := map[byte]string{'c': "\x00ksp", 'm': "\x00s", 'a': "\x00s", 'f': "\x00"}[l.Kind]
	if allowed == "" {
		return l, bad
	}
	for _, k := range order {
		if !strings.ContainsRune(allowed, k) {
			return l, bad
		}
	}
	switch l.Kind {
	case 'c':
		if _, ok := fields['k']; !ok {
			return l, bad
		}
		l.Out, l.K, l.S, l.Pad = get(0, 0), get('k', 0), get('s', 1), get('p', 0)
	case 'm', 'a':
		l.K = get(0, 0)
		l.S = get('s', l.K)
	case 'f':
		l.Out = get(0, 0)
	}
	return l, nil
}
