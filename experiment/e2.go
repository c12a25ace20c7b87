package experiment

import (
	"fmt"
	"strings"
)

// E2, E3 and E6 measure Noise against L along training (noisetrack.go).
var e2 = noiseExperiment(
	"E2",
	"Noise proportional to the loss (MLP, Fashion-MNIST)",
	1,
	func(full bool) *noiseParams {
		// Quick: 200 images the network memorises, so L falls by more than a decade over the fit.
		p := &noiseParams{Data: "fashion:200", Model: "mlp:784-256-256-256-10:relu", Loss: "mse", Eta: 0.1,
			Batch: 100, Epochs: 250, Skip: 20, Seed: 1}
		if full {
			p.Data, p.Model, p.Epochs = "fashion:60000", "mlp:784-2000-2000-2000-10:relu", 100
		}
		return p
	},
	"Fashion-MNIST, MLP 784-2000-2000-2000-10 (ReLU), one-hot targets, MSE, eta = 0.1, B = 100: Noise and L "+
		"measured every epoch fall together, Noise ∝ L.",
	nil,
)

// e3Model is the paper's CNN, 3x[conv3x3 w1] max-pool 3x[w2] max-pool 3x[w3] max-pool, 10
// linear outputs, on inputs of shape in.
func e3Model(in string, w1, w2, w3 int) string {
	var l []string
	for _, w := range []int{w1, w2, w3} {
		c := fmt.Sprintf("c%dk3p1", w)
		l = append(l, c, c, c, "m2")
	}
	return "cnn:" + in + "-" + strings.Join(l, "-") + "-f10:relu"
}

var e3 = noiseExperiment(
	"E3",
	"Noise proportional to the loss (CNN, CIFAR-10)",
	0.5,
	func(full bool) *noiseParams {
		// Quick: the paper's architecture with widths 4-8-16 instead of 64-128-256, 200 images
		// (400 SGD steps), Noise every 10 epochs without the Jacobian trace (one backward pass
		// per output).
		p := &noiseParams{Data: "cifar10:200", Model: e3Model("32x32x3", 4, 8, 16), StandInData: "fashion:200",
			StandInModel: e3Model("28x28x1", 4, 8, 16), Loss: "mse", Eta: 0.1, Batch: 100, Epochs: 200, Skip: 20,
			NoiseEvery: 10, NoJacobian: true, Seed: 1}
		if full {
			p.Data, p.Model = "cifar10:50000", e3Model("32x32x3", 64, 128, 256)
			p.StandInData, p.StandInModel = "fashion:60000", e3Model("28x28x1", 64, 128, 256)
			p.Epochs, p.Skip, p.NoiseEvery, p.NoJacobian = 50, 1, 1, false
		}
		return p
	},
	"CIFAR-10, CNN 3x[64 conv3x3] pool 3x[128] pool 3x[256] pool, ReLU, 10 outputs, MSE, eta = 0.1, B = 100: Noise "+
		"against L has slope 1 on log-log axes.",
	nil,
)

var e6 = noiseExperiment("E6", "Noise against the loss under cross-entropy", 0.7,
	func(full bool) *noiseParams {
		p := &noiseParams{Data: "mnist:onehot:1000", Model: "mlp:784-100-10:relu", Loss: "ce", Eta: 0.1, Batch: 100,
			Epochs: 150, Skip: 10, Seed: 1}
		if full {
			p.Data, p.Model, p.Epochs = "mnist:onehot:10000", "mlp:784-500-500-10:relu", 100
		}
		return p
	},
	"The paper's appendix: for a network trained with the cross-entropy loss, Noise is also proportional to L.",
	nil)
