package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/npy"
	"github.com/sgdlab/sgdlab/seed"
)

// problemFlags name the model, the data and the loss of a command.
type problemFlags struct {
	Model string `help:"Model spec: linear, linear:bias, mlp:IN-H1-...-OUT:relu|tanh|linear[:nobias], doublewell:a=0.25." default:"linear"`
	Data  string `help:"Data spec: gauss:N=10000,d=1,seed=1[,sigma=1], mnist:parity:N, mnist:onehot:N, fashion:N, cifar10:N, npy:x=X.npy,y=y.npy, csv:path=F.csv[,targets=1]." default:"gauss:N=10000,d=1"`
	Loss  string `help:"Loss: mse (THEORY's 1/2 (f - y)^2) or ce (softmax cross-entropy)." default:"mse"`
}

// build loads the data and returns the objective; every failure is the user's input.
func (p problemFlags) build(e *env) (*model.Objective, error) {
	d, err := data.Load(p.Data, data.Options{FashionDir: e.g.FashionDir, CIFARDir: e.g.CIFARDir})
	if err != nil {
		return nil, badInput(err)
	}
	o, err := model.Build(p.Model, p.Loss, d)
	return o, badInput(err)
}

// loadTheta reads a parameter vector from a .npy file and checks it against the model.
func loadTheta(path string, o *model.Objective) ([]float64, error) {
	a, err := npy.ReadFile(path)
	if err != nil {
		return nil, badInput(err)
	}
	if len(a.Data) != o.P() {
		return nil, badInput(fmt.Errorf("%s holds %d values but model %s has %d parameters: pass the weights of this model", path, len(a.Data), o.Model.Spec(), o.P()))
	}
	if err := model.CheckFinite(a.Data); err != nil {
		return nil, badInput(fmt.Errorf("%s: %w", path, err))
	}
	return a.Data, nil
}

// thetaArg reads --theta: a .npy file, or a comma-separated list of numbers for small models.
func thetaArg(arg string, o *model.Objective) ([]float64, error) {
	if strings.HasSuffix(arg, ".npy") {
		return loadTheta(arg, o)
	}
	var theta []float64
	for _, f := range strings.Split(arg, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, badInput(fmt.Errorf("--theta %q is neither a .npy file nor a comma-separated list of numbers", arg))
		}
		theta = append(theta, v)
	}
	if len(theta) != o.P() {
		return nil, badInput(fmt.Errorf("--theta has %d values but model %s has %d parameters", len(theta), o.Model.Spec(), o.P()))
	}
	return theta, model.CheckFinite(theta)
}

// startTheta returns --theta if given, else the model's initialisation from the seed.
func startTheta(arg string, o *model.Objective, s uint64) ([]float64, string, error) {
	if arg != "" {
		th, err := thetaArg(arg, o)
		return th, arg, err
	}
	th := make([]float64, o.P())
	o.Model.Init(th, seed.Stream(s, seed.Init))
	return th, "model initialisation (seed " + strconv.FormatUint(s, 10) + ")", nil
}

func sqrt(x float64) float64 { return math.Sqrt(x) }
