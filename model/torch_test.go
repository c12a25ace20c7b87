package model

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/safetensors"
)

// PyTorch's numbers for a CNN (strided and padded convolutions, max and average pooling,
// flatten, Linear) and an MLP, at weights read from its state dicts
// (bench/peers/torch_fixture.py made the files): the loss, its gradient and one
// Hessian-vector product agree to 1e-10 relative in float64.
func TestTorchFixture(t *testing.T) {
	dir := filepath.Join("testdata", "torch")
	var expected map[string]json.RawMessage
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &expected)
	for _, name := range []string{"cnn", "mlp"} {
		var exp struct {
			Spec string  `json:"spec"`
			Loss float64 `json:"loss"`
		}
		json.Unmarshal(expected[name], &exp)
		read := func(suffix string) *safetensors.File {
			f, err := safetensors.Read(filepath.Join(dir, name+suffix+".safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
		weights := read("")
		m, err := ModelForWeights(exp.Spec, weights)
		if err != nil {
			t.Fatal(err)
		}
		vec := func(f *safetensors.File) []float64 {
			v, err := LoadStateDict(m, f)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		theta := vec(weights)
		ds, err := data.Load("npy:x="+filepath.Join(dir, name+"_x.npy")+",y="+filepath.Join(dir, name+"_y.npy"),
			data.Options{})
		if err != nil {
			t.Fatal(err)
		}
		o, err := NewObjective(m, MSE{}, ds)
		if err != nil {
			t.Fatal(err)
		}
		w := o.NewWorker(1, 0)
		grad := make([]float64, o.P())
		loss := w.LossGrad(theta, grad)
		hv := make([]float64, o.P())
		w.HVP(theta, vec(read("_v")), hv)
		if e := math.Abs(loss-exp.Loss) / exp.Loss; e > 1e-10 {
			t.Errorf("%s: loss %.17g, PyTorch %.17g (relative %.2g)", name, loss, exp.Loss, e)
		}
		for _, c := range []struct {
			what      string
			got, want []float64
		}{{"gradient", grad, vec(read("_grad"))}, {"Hessian-vector product", hv, vec(read("_hv"))}} {
			if e := relErr(c.got, c.want); e > 1e-10 {
				t.Errorf("%s: %s relative error %.2g", name, c.what, e)
			} else {
				t.Logf("%s %s: relative error %.2g", name, c.what, e)
			}
		}
		// The state dict written back reads as the same parameters.
		sd, err := StateDict(m, theta)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "w.safetensors")
		if err := safetensors.Write(path, sd, map[string]string{"spec": m.Spec()}); err != nil {
			t.Fatal(err)
		}
		back, err := safetensors.Read(path)
		if err != nil {
			t.Fatal(err)
		}
		if again := vec(back); relErr(again, theta) != 0 || back.Metadata["spec"] != m.Spec() {
			t.Errorf("%s: round trip changed the parameters", name)
		}
	}
}

// Missing, extra and mis-shaped tensors are one-line errors naming the tensor.
func TestStateDictErrors(t *testing.T) {
	m, _ := Parse("mlp:3-4-2:tanh", 3, 2)
	theta := make([]float64, m.NumParams())
	good, _ := StateDict(m, theta)
	cases := []struct {
		edit func([]safetensors.Tensor) []safetensors.Tensor
		want string
	}{
		{func(ts []safetensors.Tensor) []safetensors.Tensor { return ts[:3] }, "layer2.bias is missing"},
		{func(ts []safetensors.Tensor) []safetensors.Tensor {
			return append(ts, safetensors.Tensor{Name: "bn.running_mean", Shape: []int{2}, Data: []float64{0, 0}})
		}, "neither a weight nor a bias"},
		{func(ts []safetensors.Tensor) []safetensors.Tensor {
			ts[2] = safetensors.Tensor{Name: "layer2.weight", Shape: []int{4, 2}, Data: make([]float64, 8)}
			return ts
		}, "layer2.weight has shape [4 2]"},
		{func(ts []safetensors.Tensor) []safetensors.Tensor { return ts[:2] }, "has 1 layer(s)"},
	}
	for _, c := range cases {
		ts := c.edit(append([]safetensors.Tensor(nil), good...))
		path := filepath.Join(t.TempDir(), "w.safetensors")
		if err := safetensors.Write(path, ts, nil); err != nil {
			t.Fatal(err)
		}
		f, err := safetensors.Read(path)
		if err == nil {
			_, err = LoadStateDict(m, f)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}
