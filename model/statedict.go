package model

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/safetensors"
)

// State dicts: the weights of PyTorch's nn.Linear and nn.Conv2d layers, in PyTorch's layout
// (Linear: weight [out, in], bias [out]; Conv2d: weight [out, in, k, k], bias [out]), mapped
// to and from sgdlab's parameter vector. Two layouts differ: a convolution's weights are
// [out][ky][kx][in] in sgdlab, and the first fully connected layer after a convolution sees
// the feature maps flattened channels-last ((y, x, c)), where torch.flatten of NCHW gives
// (c, y, x). The layers of a file are taken in the natural order of their names (the
// indices of an nn.Sequential, or conv1, conv2, fc1, ...), each a prefix with ".weight"
// and, when the model has biases, ".bias".

// stateLayer is one parametric layer as a state dict sees it.
type stateLayer struct {
	name  string
	shape []int // PyTorch's weight shape
	wOff  int   // offset of the weights in theta
	bOff  int   // offset of the bias (-1: none)
	conv  *convOp
	// flat is the feature-map shape a fully connected layer flattens (nil when its input is
	// already a vector).
	flat *Shape
}

func stateLayers(m Model) ([]stateLayer, error) {
	var ls []stateLayer
	switch mm := m.(type) {
	case *MLP:
		for l := 1; l <= mm.layers(); l++ {
			sl := stateLayer{name: fmt.Sprintf("layer%d", l), shape: []int{mm.Widths[l], mm.Widths[l-1]},
				wOff: mm.wOff[l-1], bOff: -1}
			if mm.Bias {
				sl.bOff = mm.bOff[l-1]
			}
			ls = append(ls, sl)
		}
	case *CNN:
		nc, nf := 0, 0
		var prev Shape = mm.In
		for _, o := range mm.ops {
			switch op := o.(type) {
			case *convOp:
				nc++
				sl := stateLayer{name: fmt.Sprintf("conv%d", nc), shape: []int{op.outS.C, op.in.C, op.k, op.k},
					wOff: op.off, bOff: -1, conv: op}
				if op.bias {
					sl.bOff = op.off + op.outS.C*op.kk()
				}
				ls = append(ls, sl)
			case *denseOp:
				nf++
				sl := stateLayer{name: fmt.Sprintf("fc%d", nf), shape: []int{op.outN, op.inN}, wOff: op.off, bOff: -1}
				if op.bias {
					sl.bOff = op.off + op.outN*op.inN
				}
				if prev.H*prev.W > 1 {
					s := prev
					sl.flat = &s
				}
				ls = append(ls, sl)
			}
			prev = o.out()
		}
	default:
		return nil, fault.Invalid("model %s has no Linear or Conv2d layers to read from a state dict", m.Spec())
	}
	return ls, nil
}

// StateDict returns theta as PyTorch-layout tensors named layerL/convL/fcL.weight and .bias.
func StateDict(m Model, theta []float64) ([]safetensors.Tensor, error) {
	ls, err := stateLayers(m)
	if err != nil {
		return nil, err
	}
	var out []safetensors.Tensor
	for _, l := range ls {
		w := safetensors.Tensor{Name: l.name + ".weight", Shape: slices.Clone(l.shape)}
		w.Data = make([]float64, w.Len())
		l.permute(theta[l.wOff:], w.Data, true)
		out = append(out, w)
		if l.bOff >= 0 {
			out = append(out, safetensors.Tensor{Name: l.name + ".bias", Shape: []int{l.shape[0]},
				Data: slices.Clone(theta[l.bOff : l.bOff+l.shape[0]])})
		}
	}
	return out, nil
}

// permute copies a layer's weights between sgdlab's layout (s) and PyTorch's (t); toTorch
// says which way.
func (l stateLayer) permute(s, t []float64, toTorch bool) {
	mv := func(si, ti int) {
		if toTorch {
			t[ti] = s[si]
		} else {
			s[si] = t[ti]
		}
	}
	switch {
	case l.conv != nil:
		out, in, k := l.shape[0], l.shape[1], l.shape[2]
		for o := 0; o < out; o++ {
			for c := 0; c < in; c++ {
				for ky := 0; ky < k; ky++ {
					for kx := 0; kx < k; kx++ {
						mv(((o*k+ky)*k+kx)*in+c, ((o*in+c)*k+ky)*k+kx)
					}
				}
			}
		}
	case l.flat != nil:
		out, H, W, C := l.shape[0], l.flat.H, l.flat.W, l.flat.C
		for o := 0; o < out; o++ {
			for y := 0; y < H; y++ {
				for x := 0; x < W; x++ {
					for c := 0; c < C; c++ {
						mv(o*H*W*C+(y*W+x)*C+c, o*H*W*C+(c*H+y)*W+x)
					}
				}
			}
		}
	default:
		n := l.shape[0] * l.shape[1]
		if toTorch {
			copy(t[:n], s[:n])
		} else {
			copy(s[:n], t[:n])
		}
	}
}

// LoadStateDict reads theta for m from a state dict's tensors: every weight and bias the
// model needs, in PyTorch's shapes, and nothing else. Errors name the tensor and the shape
// expected and are of class fault.ErrInvalid.
func LoadStateDict(m Model, f *safetensors.File) ([]float64, error) {
	ls, err := stateLayers(m)
	if err != nil {
		return nil, err
	}
	prefixes, err := layerPrefixes(f)
	if err != nil {
		return nil, err
	}
	if len(prefixes) != len(ls) {
		return nil, fault.Invalid("the weights file has %d layer(s) (%s) but %s has %d (%s)", len(prefixes),
			strings.Join(prefixes, ", "), m.Spec(), len(ls), describeLayers(ls))
	}
	theta := make([]float64, m.NumParams())
	for i, l := range ls {
		p := prefixes[i]
		w, _ := f.Get(p + ".weight")
		if !slices.Equal(w.Shape, l.shape) {
			return nil, fault.Invalid("tensor %s.weight has shape %v, but layer %d of %s (%s) needs %v", p, w.Shape,
				i+1, m.Spec(), l.name, l.shape)
		}
		l.permute(theta[l.wOff:], w.Data, false)
		b, hasB := f.Get(p + ".bias")
		switch {
		case l.bOff >= 0 && !hasB:
			return nil, fault.Invalid("tensor %s.bias is missing: %s has biases (use :nobias for a model without)",
				p, m.Spec())
		case l.bOff < 0 && hasB:
			return nil, fault.Invalid("tensor %s.bias is extra: %s has no biases (drop :nobias from the spec)", p,
				m.Spec())
		case hasB:
			if !slices.Equal(b.Shape, []int{l.shape[0]}) {
				return nil, fault.Invalid("tensor %s.bias has shape %v, but layer %d needs [%d]", p, b.Shape, i+1,
					l.shape[0])
			}
			copy(theta[l.bOff:], b.Data)
		}
	}
	return theta, nil
}

func describeLayers(ls []stateLayer) string {
	var s []string
	for _, l := range ls {
		s = append(s, fmt.Sprintf("%s %v", l.name, l.shape))
	}
	return strings.Join(s, ", ")
}

var naturalRun = regexp.MustCompile(`\d+|\D+`)

// naturalLess orders names by their runs of digits (as numbers) and other characters, so
// that 2 < 10 and conv2 < conv10.
func naturalLess(a, b string) bool {
	ra, rb := naturalRun.FindAllString(a, -1), naturalRun.FindAllString(b, -1)
	for i := 0; i < len(ra) && i < len(rb); i++ {
		x, ex := strconv.Atoi(ra[i])
		y, ey := strconv.Atoi(rb[i])
		switch {
		case ex == nil && ey == nil && x != y:
			return x < y
		case ra[i] != rb[i]:
			return ra[i] < rb[i]
		}
	}
	return len(ra) < len(rb)
}

// layerPrefixes returns the layers of a state dict (the prefixes of its .weight tensors) in
// natural order; any tensor that is not a layer's weight or bias is an error.
func layerPrefixes(f *safetensors.File) ([]string, error) {
	var ps []string
	for _, t := range f.Tensors {
		switch {
		case strings.HasSuffix(t.Name, ".weight"):
			ps = append(ps, strings.TrimSuffix(t.Name, ".weight"))
		case strings.HasSuffix(t.Name, ".bias"):
			if _, ok := f.Get(strings.TrimSuffix(t.Name, ".bias") + ".weight"); !ok {
				return nil, fault.Invalid("tensor %s has no matching .weight", t.Name)
			}
		default:
			return nil, fault.Invalid("tensor %s is neither a weight nor a bias: sgdlab reads Linear and Conv2d "+
				"layers only (no batch norm or other buffers)", t.Name)
		}
	}
	slices.SortFunc(ps, func(a, b string) int {
		switch {
		case naturalLess(a, b):
			return -1
		case naturalLess(b, a):
			return 1
		}
		return 0
	})
	return ps, nil
}

// ModelForWeights parses spec with the input and output sizes its weights imply: those of
// the spec for mlp and cnn, those of the first and last weight tensors for linear.
func ModelForWeights(spec string, f *safetensors.File) (Model, error) {
	sp := strings.TrimSpace(spec)
	if strings.HasPrefix(sp, "linear") {
		ps, err := layerPrefixes(f)
		if err != nil {
			return nil, err
		}
		if len(ps) != 1 {
			return nil, fault.Invalid("linear has one layer, the weights file has %d", len(ps))
		}
		w, _ := f.Get(ps[0] + ".weight")
		if len(w.Shape) != 2 {
			return nil, fault.Invalid("tensor %s.weight has shape %v: a Linear layer's weight is [out, in]", ps[0],
				w.Shape)
		}
		return Parse(spec, w.Shape[1], w.Shape[0])
	}
	m, err := parseUnchecked(spec)
	if err != nil {
		return nil, fault.AsInvalid(err)
	}
	return m, nil
}
