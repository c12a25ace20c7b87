package experiment

import (
	"errors"
	"fmt"

	"github.com/sgdlab/sgdlab/data"
)

type noiseParams struct {
	Data   string  `json:"data"`
	Model  string  `json:"model"`
	Loss   string  `json:"loss"`
	Eta    float64 `json:"eta"`
	Batch  int     `json:"batch"`
	Epochs int     `json:"epochs"`
	Skip   int     `json:"fit_from_epoch"`
	Seed   uint64  `json:"seed"`
}

// E2, E3 and E6 measure Noise against L along training; they differ in data, network,
// loss and the paper's claim.
var e2 = noiseExperiment("E2", "Noise proportional to the loss (MLP, Fashion-MNIST)", 1,
	func(full bool) *noiseParams {
		p := &noiseParams{Data: "fashion:1000", Model: "mlp:784-256-256-256-10:relu", Loss: "mse", Eta: 0.1, Batch: 100, Epochs: 40, Skip: 5, Seed: 1}
		if full {
			p.Data, p.Model, p.Epochs = "fashion:60000", "mlp:784-2000-2000-2000-10:relu", 100
		}
		return p
	},
	"Fashion-MNIST, MLP 784-2000-2000-2000-10 (ReLU), one-hot targets, MSE, eta = 0.1, B = 100: Noise and L measured every epoch fall together, Noise ∝ L.",
	nil)

var e3 = noiseExperiment("E3", "Noise proportional to the loss (CNN, CIFAR-10)", 0.2,
	func(full bool) *noiseParams {
		p := &noiseParams{Data: "cifar10:5000", Model: "mlp:3072-512-512-10:relu", Loss: "mse", Eta: 0.05, Batch: 100, Epochs: 10, Skip: 1, Seed: 1}
		if full {
			p.Data, p.Epochs = "cifar10:50000", 50
		}
		return p
	},
	"CIFAR-10, CNN 3x[64 conv3x3] pool 3x[128] pool 3x[256] pool, ReLU, 10 outputs, MSE, eta = 0.1, B = 100: Noise against L has slope 1 on log-log axes.",
	func(p *noiseParams, r *Result) {
		if r.Status != DataMissing {
			r.Notes = append(r.Notes, "sgdlab has no convolutional layers: this run uses the MLP stand-in "+p.Model+" on CIFAR-10, not the paper's CNN; it tests the same claim (Noise ∝ L) on the same data with a different network.")
		}
	})

var e6 = noiseExperiment("E6", "Noise against the loss under cross-entropy", 0.7,
	func(full bool) *noiseParams {
		p := &noiseParams{Data: "mnist:onehot:1000", Model: "mlp:784-100-10:relu", Loss: "ce", Eta: 0.1, Batch: 100, Epochs: 60, Skip: 10, Seed: 1}
		if full {
			p.Data, p.Model, p.Epochs = "mnist:onehot:10000", "mlp:784-500-500-10:relu", 100
		}
		return p
	},
	"The paper's appendix: for a network trained with the cross-entropy loss, Noise is also proportional to L.",
	nil)

// noiseExperiment makes a Noise-against-L experiment of the paper; note, if set, amends a
// result (e.g. with a caveat about the network used).
func noiseExperiment(id, title string, weight float64, defaults func(full bool) *noiseParams, claim string, note func(*noiseParams, *Result)) *Experiment {
	return &Experiment{
		ID: id, Title: title, Paper: true, Weight: weight,
		Defaults: func(full bool) any { return defaults(full) },
		Run: func(env *Env, params any) (*Result, error) {
			return timed(func() (*Result, error) {
				p := params.(*noiseParams)
				r, err := runNoiseExperiment(env, id, title, claim, p)
				if r != nil && note != nil {
					note(p, r)
				}
				return r, err
			})
		},
	}
}

func runNoiseExperiment(env *Env, id, title, claim string, p *noiseParams) (*Result, error) {
	res := &Result{ID: id, Title: title, Paper: true, Params: p, Claim: claim,
		Theory: "Noise = (1/N) sum |grad l|^2 - |grad L|^2 ~ 2 L (1/N) sum |grad f|^2 for the MSE loss (THEORY section 2): proportional to L once the Jacobian factor settles. THEORY gives no formula for cross-entropy.",
		Setup:  fmt.Sprintf("%s, %s, %s loss, eta = %g, B = %d, %d epochs, Glorot initialisation (seed %d); Noise and L over the full training set every epoch; least-squares slope of log Noise vs log L from epoch %d.", p.Data, p.Model, p.Loss, p.Eta, p.Batch, p.Epochs, p.Seed, p.Skip)}
	nt, fig, err := runNoiseTrack(env, id, p.Model, p.Data, p.Loss, p.Eta, p.Batch, p.Epochs, p.Skip, p.Seed)
	if err != nil {
		if isMissing(err) {
			res.Status = DataMissing
			res.Verdict = "Not run: " + err.Error()
			return res, nil
		}
		return nil, err
	}
	res.Figures = append(res.Figures, *fig)
	noiseVerdict(res, nt, p.Skip)
	return res, nil
}

// isMissing reports a dataset that is not available on this machine.
func isMissing(err error) bool { return errors.Is(err, data.ErrNotAvailable) }
