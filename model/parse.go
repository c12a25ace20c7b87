package model

import (
	"fmt"
	"math"
	"strings"

	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/internal/memory"
	"github.com/sgdlab/sgdlab/internal/specstr"
)

// MaxParams bounds the parameter count of a model spec (2^34 float64 values are 128 GiB).
const MaxParams = 1 << 34

// Parse builds the model named by spec for data with in inputs and out targets:
//
//	linear[:bias]                    f = W x (+ b), shape taken from the data
//	mlp:784-100-100-1:relu[:nobias]  widths, hidden activation relu|tanh|linear
//	doublewell[:a=0.25]              the double-well regression family (one target)
//	asymwell:a=0.25,k=0.5[,gate=1]   two minima of different sharpness (k) or effective
//	                                 dimension (gate), experiment X3 (one target)
//	cnn:32x32x3-c64k3p1-m2-f10:relu  a convolutional network (see CNN): input HxWxC, then
//	                                 cOUTkK[sS][pP] convolutions, mK[sS] max and aK[sS]
//	                                 average pooling, fN fully connected layers (last: outputs)
//
// A model whose shape disagrees with the data is an error that names both shapes. Every
// error is of class fault.ErrInvalid.
func Parse(spec string, in, out int) (Model, error) {
	m, err := parse(spec, in, out)
	return m, fault.AsInvalid(err)
}

func parse(text string, in, out int) (Model, error) {
	sp, err := specstr.Parse("model", text)
	if err != nil {
		return nil, err
	}
	var m Model
	switch sp.Name {
	case "linear":
		m, err = parseLinear(sp, in, out)
	case "mlp":
		m, err = parseMLP(sp)
	case "doublewell":
		m, err = parseDoubleWell(sp, in)
	case "asymwell":
		m, err = parseAsymWell(sp, in)
	case "cnn":
		m, err = parseCNN(text, sp.Positional(), func(f string, a ...any) error { return sp.Errorf(f, a...) })
	default:
		return nil, fmt.Errorf("unknown model spec %q: use linear, linear:bias, mlp:IN-H1-...-OUT:relu|tanh|linear, "+
			"cnn:HxWxC-c64k3p1-m2-...-f10:relu or doublewell:a=0.25", text)
	}
	if err != nil {
		return nil, err
	}
	if err := sp.Done(); err != nil {
		return nil, err
	}
	if in < 0 {
		return m, nil // parseUnchecked: no data to compare with
	}
	if m.InDim() != in || m.OutDim() != out {
		return nil, fmt.Errorf("shape mismatch: model %s takes %d inputs and gives %d outputs, but the data has %d "+
			"inputs and %d targets", text, m.InDim(), m.OutDim(), in, out)
	}
	return m, nil
}

// parseUnchecked parses a spec whose sizes it states (mlp, cnn) without data to check
// them against.
func parseUnchecked(spec string) (Model, error) { return parse(spec, -1, -1) }

func parseLinear(sp *specstr.Spec, in, out int) (Model, error) {
	bias := false
	for _, o := range sp.Positional() {
		switch strings.ToLower(o) {
		case "bias":
			bias = true
		case "nobias":
		default:
			return nil, sp.Errorf("unknown option %q (use linear or linear:bias)", o)
		}
	}
	if memory.Mul(int64(in)+1, int64(out)) > MaxParams {
		return nil, sp.Errorf("%d x %d weights exceed %d parameters", out, in, int64(MaxParams))
	}
	return NewLinear(in, out, bias), nil
}

func parseMLP(sp *specstr.Spec) (Model, error) {
	pos := sp.Positional()
	if len(pos) == 0 {
		return nil, sp.Errorf("needs widths, e.g. mlp:784-100-100-1:relu")
	}
	var widths []int
	for _, w := range strings.Split(pos[0], "-") {
		v, err := specstr.ParseInt(w, 1, 1<<30, func() error {
			return sp.Errorf("width %q is not an integer in [1, 2^30]", w)
		})
		if err != nil {
			return nil, err
		}
		widths = append(widths, int(v))
	}
	act, bias, err := activationOptions(pos[1:])
	if err != nil {
		return nil, sp.Errorf("%v", err)
	}
	m, err := NewMLP(widths, act, bias)
	if err != nil {
		return nil, sp.Errorf("%v", err)
	}
	return m, nil
}

// activationOptions reads the options after a network's layers: the activation (relu, the
// default; tanh; linear) and whether the layers have biases (bias, the default; nobias).
// Each may be given once: mlp:2-3-1:tanh:relu is refused rather than silently relu.
func activationOptions(opts []string) (Activation, bool, error) {
	act, bias := ReLU, true
	var gotAct, gotBias string
	once := func(prev *string, o, what string) error {
		if *prev != "" {
			return fmt.Errorf("%s given twice (%q and %q): give one", what, *prev, o)
		}
		*prev = o
		return nil
	}
	for _, o := range opts {
		var err error
		switch strings.ToLower(o) {
		case "relu":
			act, err = ReLU, once(&gotAct, o, "the activation")
		case "tanh":
			act, err = Tanh, once(&gotAct, o, "the activation")
		case "linear", "identity":
			act, err = Linear, once(&gotAct, o, "the activation")
		case "nobias":
			bias, err = false, once(&gotBias, o, "the bias option")
		case "bias":
			bias, err = true, once(&gotBias, o, "the bias option")
		default:
			err = fmt.Errorf("unknown option %q (activations: relu, tanh, linear; nobias)", o)
		}
		if err != nil {
			return act, bias, err
		}
	}
	return act, bias, nil
}

func parseAsymWell(sp *specstr.Spec, in int) (Model, error) {
	if pos := sp.Positional(); len(pos) > 0 {
		return nil, sp.Errorf("unexpected %q; write asymwell:a=0.25,k=0.5[,gate=1]", pos[0])
	}
	a, err := sp.Float("a", 0.25, 1e-150, 1e150)
	if err != nil {
		return nil, err
	}
	k, err := sp.Float("k", 0, -50, 50)
	if err != nil {
		return nil, err
	}
	gate, err := sp.Int("gate", 0, 0, 1)
	if err != nil {
		return nil, err
	}
	if math.Abs(k)*math.Sqrt(a) > 0.5 {
		return nil, sp.Errorf("|k| sqrt(a) = %.3g must be at most 1/2 (the third zero of g, -1/k, must stay behind "+
			"a high barrier)", math.Abs(k)*math.Sqrt(a))
	}
	return &AsymWell{A: a, K: k, Gate: gate == 1, N: in}, nil
}

func parseDoubleWell(sp *specstr.Spec, in int) (Model, error) {
	if pos := sp.Positional(); len(pos) > 0 {
		return nil, sp.Errorf("unexpected %q; write doublewell:a=0.25", pos[0])
	}
	a, err := sp.Float("a", 0.25, 1e-150, 1e150)
	if err != nil {
		return nil, err
	}
	return &DoubleWell{A: a, N: in}, nil
}
