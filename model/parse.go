package model

import (
	"fmt"
	"strconv"
	"strings"
)

// Parse builds the model named by spec for data with in inputs and out targets:
//
//	linear[:bias]                    f = W x (+ b), shape taken from the data
//	mlp:784-100-100-1:relu[:nobias]  widths, hidden activation relu|tanh|linear
//	doublewell[:a=0.25]              the double-well regression family (one target)
//
// A model whose shape disagrees with the data is an error that names both shapes.
func Parse(spec string, in, out int) (Model, error) {
	spec = strings.TrimSpace(spec)
	name, rest, _ := strings.Cut(spec, ":")
	var opts []string
	if rest != "" {
		opts = strings.Split(rest, ":")
	}
	switch strings.ToLower(name) {
	case "linear":
		bias := false
		for _, o := range opts {
			switch o {
			case "bias":
				bias = true
			case "nobias":
			default:
				return nil, fmt.Errorf("model linear: unknown option %q (use linear or linear:bias)", o)
			}
		}
		return NewLinear(in, out, bias), nil
	case "mlp":
		if len(opts) == 0 {
			return nil, fmt.Errorf("model mlp needs widths, e.g. mlp:%d-100-100-%d:relu", in, out)
		}
		var widths []int
		for _, w := range strings.Split(opts[0], "-") {
			v, err := strconv.Atoi(w)
			if err != nil || v <= 0 {
				return nil, fmt.Errorf("model %s: width %q is not a positive integer", spec, w)
			}
			widths = append(widths, v)
		}
		act, bias := ReLU, true
		for _, o := range opts[1:] {
			switch strings.ToLower(o) {
			case "relu":
				act = ReLU
			case "tanh":
				act = Tanh
			case "linear", "identity":
				act = Linear
			case "nobias":
				bias = false
			case "bias":
				bias = true
			default:
				return nil, fmt.Errorf("model %s: unknown option %q (activations: relu, tanh, linear; nobias)", spec, o)
			}
		}
		m, err := NewMLP(widths, act, bias)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", spec, err)
		}
		if m.InDim() != in || m.OutDim() != out {
			return nil, fmt.Errorf("shape mismatch: model %s takes %d inputs and gives %d outputs, but the data has %d inputs and %d targets", spec, m.InDim(), m.OutDim(), in, out)
		}
		return m, nil
	case "doublewell":
		a := 0.25
		for _, o := range opts {
			k, v, ok := strings.Cut(o, "=")
			f, err := strconv.ParseFloat(v, 64)
			if !ok || k != "a" || err != nil || f <= 0 {
				return nil, fmt.Errorf("model %s: expected doublewell:a=VALUE with VALUE > 0", spec)
			}
			a = f
		}
		if out != 1 {
			return nil, fmt.Errorf("shape mismatch: model doublewell has one output, but the data has %d targets", out)
		}
		return &DoubleWell{A: a, N: in}, nil
	}
	return nil, fmt.Errorf("unknown model spec %q: use linear, linear:bias, mlp:IN-H1-...-OUT:relu|tanh|linear or doublewell:a=0.25", spec)
}
