package experiment

// E2, E3 and E6 measure Noise against L along training (noisetrack.go).
var e2 = noiseExperiment(
	"E2",
	"Noise proportional to the loss (MLP, Fashion-MNIST)",
	1,
	func(full bool) *noiseParams {
		p := &noiseParams{Data: "fashion:1000", Model: "mlp:784-256-256-256-10:relu", Loss: "mse", Eta: 0.1,
			Batch: 100, Epochs: 40, Skip: 5, Seed: 1}
		if full {
			p.Data, p.Model, p.Epochs = "fashion:60000", "mlp:784-2000-2000-2000-10:relu", 100
		}
		return p
	},
	"Fashion-MNIST, MLP 784-2000-2000-2000-10 (ReLU), one-hot targets, MSE, eta = 0.1, B = 100: Noise and L "+
		"measured every epoch fall together, Noise ∝ L.",
	nil,
)

var e3 = noiseExperiment(
	"E3",
	"Noise proportional to the loss (CNN, CIFAR-10)",
	0.2,
	func(full bool) *noiseParams {
		p := &noiseParams{Data: "cifar10:5000", Model: "mlp:3072-512-512-10:relu", Loss: "mse", Eta: 0.05, Batch: 100,
			Epochs: 10, Skip: 1, Seed: 1}
		if full {
			p.Data, p.Epochs = "cifar10:50000", 50
		}
		return p
	},
	"CIFAR-10, CNN 3x[64 conv3x3] pool 3x[128] pool 3x[256] pool, ReLU, 10 outputs, MSE, eta = 0.1, B = 100: Noise "+
		"against L has slope 1 on log-log axes.",
	func(p *noiseParams, r *Result) {
		if r.Status != NotMeasured {
			r.Notes = append(
				r.Notes,
				"This run uses the MLP "+p.Model+" on CIFAR-10, not the paper's CNN; it tests the same claim "+
					"(Noise ∝ L) on the same data with a different network.",
			)
		}
	},
)

var e6 = noiseExperiment("E6", "Noise against the loss under cross-entropy", 0.7,
	func(full bool) *noiseParams {
		p := &noiseParams{Data: "mnist:onehot:1000", Model: "mlp:784-100-10:relu", Loss: "ce", Eta: 0.1, Batch: 100,
			Epochs: 60, Skip: 10, Seed: 1}
		if full {
			p.Data, p.Model, p.Epochs = "mnist:onehot:10000", "mlp:784-500-500-10:relu", 100
		}
		return p
	},
	"The paper's appendix: for a network trained with the cross-entropy loss, Noise is also proportional to L.",
	nil)
