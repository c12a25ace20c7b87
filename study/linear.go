package study

import (
	"errors"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/sgdlab/sgdlab/chain"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/stats"
	"github.com/sgdlab/sgdlab/theory"
)

// FiniteStep is what the exact discrete chain says about the stationary law of SGD on a
// linear model (docs/theory.md, "Discrete time"): the finite-step exponent phi_eta from the
// chain's exact covariance, and Kesten's tail exponent alpha with phi_K = (alpha + p)/2.
type FiniteStep struct {
	PhiEta      num.Float `json:"phi_eta"`
	CovResidual float64   `json:"covariance_residual"`
	Alpha       num.Float `json:"kesten_alpha"`
	AlphaSE     num.Float `json:"kesten_alpha_se"`
	PhiK        num.Float `json:"phi_kesten"`
	Method      string    `json:"kesten_method"`
	Notes       []string  `json:"notes,omitempty"`
}

// MaxKestenParams bounds the parameters for which Kesten's alpha is estimated by products
// of random matrices (the cost grows as p^2 per product).
const MaxKestenParams = 8

// FiniteStepOf computes phi_eta and Kesten's alpha for SGD with replacement on the linear
// model of o at its least-squares minimum thetaStar; ok is false when the model is not a
// linear model with the mean-square loss.
func FiniteStepOf(o *model.Objective, thetaStar []float64, eta float64, batch int, seedVal uint64) (*FiniteStep,
	bool) {
	fl, ok := model.AsFeatureLinear(o.Model)
	if !ok || !model.IsIdentityFeatures(fl) {
		return nil, false
	}
	if _, mse := o.Loss.(model.MSE); !mse {
		return nil, false
	}
	fs := &FiniteStep{PhiEta: num.Float(math.NaN()), Alpha: num.Float(math.NaN()), AlphaSE: num.Float(math.NaN()),
		PhiK: num.Float(math.NaN())}
	p := o.P()
	cov, err := chain.LinearCovariance(o, thetaStar, eta, batch)
	switch {
	case err != nil:
		fs.Notes = append(fs.Notes, "phi_eta not measured: "+err.Error())
	case !cov.Finite:
		fs.Notes = append(fs.Notes, "phi_eta: the chain's second moment is infinite at this step and batch size")
	default:
		lstar := o.NewWorker(1, 0).LossGrad(thetaStar, nil)
		h := hessianOf(o, p)
		tr := 0.0
		for i := range p {
			for j := range p {
				tr += h[i*p+j] * cov.C[j*p+i]
			}
		}
		fs.PhiEta, fs.CovResidual = num.Float(chain.PhiEta(tr, p, lstar)), cov.Residual
	}
	z := features(o, p)
	switch {
	case p == 1:
		m := max(o.N(), 100_000)
		a, se, err := chain.KestenBatches(z, eta, batch, m, seedVal)
		if errors.Is(err, chain.ErrNoTail) {
			fs.Notes = append(fs.Notes, "Kesten alpha not measured: "+err.Error()+" (no batch among "+itoa(m)+
				" drawn has |1 - eta mean x^2| > 1: the tail is too thin to resolve)")
			break
		} else if err != nil {
			fs.Notes = append(fs.Notes, "Kesten alpha not measured: "+err.Error())
			break
		}
		fs.Alpha, fs.AlphaSE = num.Float(a), num.Float(se)
		fs.Method = "E|1 - eta mean_batch x^2|^alpha = 1, exactly over the N samples"
		if batch > 1 {
			fs.Method = "E|1 - eta mean_batch x^2|^alpha = 1 over " + itoa(m) + " Monte Carlo batches"
		}
	case p <= MaxKestenParams:
		draw := func(rng *rand.Rand, a []float64) {
			clear(a)
			for i := range p {
				a[i*p+i] = 1
			}
			c := eta / float64(batch)
			for range batch {
				row := z[rng.IntN(o.N())*p:]
				for i := range p {
					for j := range p {
						a[i*p+j] -= c * row[i] * row[j]
					}
				}
			}
		}
		a, se, _, err := chain.KestenProducts(draw, p, 1000, 400, 4, seedVal)
		if err != nil {
			fs.Notes = append(fs.Notes, "Kesten alpha not measured: "+err.Error())
			break
		}
		fs.Alpha, fs.AlphaSE = num.Float(a), num.Float(se)
		fs.Method = "population dynamics of products of I - (eta/B) sum_batch x x^T over the data (1000 walkers, " +
			"4 replicas, extrapolated in the population size)"
	default:
		fs.Notes = append(fs.Notes, "Kesten alpha not measured: more than "+itoa(MaxKestenParams)+" parameters")
	}
	if !math.IsNaN(float64(fs.Alpha)) {
		fs.PhiK = num.Float(theory.PhiKesten(float64(fs.Alpha), p))
	}
	return fs, true
}

// features returns the linear model's features (N x p), with the constant of a bias.
func features(o *model.Objective, p int) []float64 {
	z := make([]float64, o.N()*p)
	for mu := 0; mu < o.N(); mu++ {
		copy(z[mu*p:], o.Data.Row(mu))
		if p > o.Data.D {
			z[mu*p+o.Data.D] = 1
		}
	}
	return z
}

// hessianOf is the linear model's Hessian E[z z^T] (independent of theta).
func hessianOf(o *model.Objective, p int) []float64 {
	h := make([]float64, p*p)
	z := features(o, p)
	for mu := 0; mu < o.N(); mu++ {
		row := z[mu*p : (mu+1)*p]
		for i := range p {
			for j := range p {
				h[i*p+j] += row[i] * row[j] / float64(o.N())
			}
		}
	}
	return h
}

// TailOf estimates the tail index alpha of the distance from the minimum from samples of
// u = L/L* - 1 (sqrt(u) is a norm of theta - theta* near a quadratic minimum): Hill's
// estimator at k = 2 sqrt(n) and the CSN threshold, with intervals widened by tau.
func TailOf(u []float64, tau float64) (hill, csn *stats.Tail) {
	r := make([]float64, len(u))
	for i, v := range u {
		r[i] = math.Sqrt(math.Max(v, 0))
	}
	if h, err := stats.Hill(r, stats.HillK(len(r)), tau); err == nil {
		h.Choice = "k = 2 sqrt(n)"
		hill = &h
	}
	if c, err := stats.CSN(r, 50, tau); err == nil {
		c.Choice = "x_min minimising the KS distance (Clauset, Shalizi, Newman 2009)"
		csn = &c
	}
	return hill, csn
}

func itoa(n int) string { return strconv.Itoa(n) }
