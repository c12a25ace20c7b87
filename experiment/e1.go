package experiment

import (
	"fmt"
	"math"
	"path/filepath"

	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/noise"
	"github.com/sgdlab/sgdlab/npy"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/sgd"
	"github.com/sgdlab/sgdlab/study"
)

type e1Params struct {
	Data   string  `json:"data"`
	Model  string  `json:"model"`
	Eta    float64 `json:"eta"`
	Batch  int     `json:"batch"`
	Epochs []int   `json:"epochs"` // checkpoints (0 = initialisation)
	Seed   uint64  `json:"seed"`
}

func (p *e1Params) Validate() error {
	var c check
	c.that(positive(p.Eta), "eta = %v must be a positive finite number", p.Eta)
	c.that(p.Batch >= 1, "batch = %d must be at least 1", p.Batch)
	c.that(len(p.Epochs) > 0, "epochs: give at least one checkpoint")
	for i, e := range p.Epochs {
		c.that(e >= 0 && e <= 1e6, "epoch %d must be between 0 and 10^6", e)
		c.that(i == 0 || e > p.Epochs[i-1], "epochs must increase: %v", p.Epochs)
	}
	return c.err
}

const e1Title = "Decoupling: (1/N) sum l grad f grad f^T against L G"

var e1 = &Experiment{
	ID: "E1", Title: e1Title, Paper: true, Weight: 1.5,
	Defaults: func(full bool) Params {
		p := &e1Params{Data: "mnist:parity:2000", Model: "mlp:784-100-100-1:relu", Eta: 0.01, Batch: 100,
			Epochs: []int{0, 50, 500}, Seed: 1}
		if full {
			p.Data = "mnist:parity:10000"
		}
		return p
	},
	Run: func(env *Env, params Params) (*Result, error) {
		return timed(func() (*Result, error) { return runE1(env, params.(*e1Params)) })
	},
}

// e1Point is the comparison at one checkpoint.
type e1Point struct {
	Epoch    int
	L        float64
	Spectra  noise.Spectra   // (1/N) sum l grad f grad f^T against L G
	Sigma    noise.Agreement // the exact noise covariance against (2L/B) G
	Strength noise.Strength
}

func runE1(env *Env, p *e1Params) (*Result, error) {
	res := &Result{ID: "E1", Title: e1Title, Paper: true, Params: p,
		Claim: "On the first 10^4 MNIST images (label +1 even, -1 odd), for a 784-100-100-1 ReLU network trained " +
			"by SGD (eta = 0.01, B = 100), the eigenvalue histograms of (1/N) sum l_mu grad f grad f^T and L (1/N) " +
			"sum grad f grad f^T nearly coincide at initialisation and after 50 and 500 epochs: the decoupling " +
			"approximation holds.",
		Theory: "Decoupling: l_mu and grad f_mu grad f_mu^T uncorrelated over mu, so the two matrices are equal; " +
			"then Sigma ~ (2L/B) G.",
		Setup: fmt.Sprintf(
			"%s, %s, Glorot initialisation (seed %d), SGD eta = %g, B = %d, epoch sampling; spectra through the N "+
				"x N Gram route (exact eigenvalues for N <= %d, otherwise Lanczos + stochastic Lanczos "+
				"quadrature); the exact noise covariance is also compared with (2L/B) G.",
			p.Data,
			p.Model,
			p.Seed,
			p.Eta,
			p.Batch,
			noise.ExactEigenLimit,
		),
	}
	pts, err := measureE1(env, p)
	if err != nil {
		return nil, err
	}
	if err := renderE1(env, pts, res); err != nil {
		return nil, err
	}
	res.judge(verdictE1(pts, critE1Cosine, critE1Hist))
	return res, nil
}

// measureE1 trains to the last checkpoint (keeping the parameters at each) and analyses the
// noise at every checkpoint, both through the study layer (stored and reused).
func measureE1(env *Env, p *e1Params) ([]e1Point, error) {
	prob := study.Problem{Model: p.Model, Data: p.Data, Loss: "mse"}
	o, err := prob.Build(env.Ctx, env.Study)
	if err != nil {
		return nil, err
	}
	spe := int64(sgd.StepsPerEpoch(o.N(), p.Batch))
	var checks []int64
	for _, ep := range p.Epochs {
		checks = append(checks, int64(ep)*spe)
	}
	thetas := map[int64][]float64{}
	if last := checks[len(checks)-1]; last > 0 {
		env.stage("E1: training to epoch %d", p.Epochs[len(p.Epochs)-1])
		tr, err := study.Train(
			env.Ctx,
			env.Study,
			study.TrainSpec{Problem: prob, Eta: p.Eta, Batch: p.Batch, Sampling: "epoch", Seed: p.Seed,
				Steps: last, LogEvery: last, Checkpoints: checks},
		)
		if err != nil {
			return nil, err
		}
		for _, c := range tr.Checkpoints {
			thetas[c.Step] = c.Theta
		}
	}
	var pts []e1Point
	for i, ep := range p.Epochs {
		env.stage("E1: spectra at epoch %d", ep)
		spec := study.NoiseSpec{Problem: prob, Theta: thetas[checks[i]], ThetaName: fmt.Sprintf("epoch %d", ep),
			Batch: p.Batch, Sampling: "epoch", Minimum: "none", TopK: 5, Fig1: true, Seed: p.Seed}
		rec, err := study.Noise(env.Ctx, env.Study, spec)
		if err != nil {
			return nil, err
		}
		a := rec.Analysis
		if a.Fig1 == nil || a.Decoupled == nil {
			return nil, fmt.Errorf("E1: the noise analysis at epoch %d has no Fig. 1 spectra (%v)", ep, a.Notes)
		}
		if th := spec.Theta; th != nil {
			if err := npy.WriteFile(filepath.Join(env.Dir, fmt.Sprintf("theta_epoch%d.npy", ep)),
				npy.Vector(th)); err != nil {
				return nil, err
			}
		}
		pts = append(pts, e1Point{Epoch: ep, L: a.Loss, Spectra: *a.Fig1, Sigma: *a.Decoupled, Strength: a.Strength})
	}
	return pts, nil
}

// verdictE1 checks the decoupling at every checkpoint: the Frobenius cosine of the two
// matrices (their large eigenvalues: required) and the overlap of their eigenvalue
// histograms (the whole spectrum: needed for full agreement). A checkpoint whose spectra
// were not compared is an uninformative check, never a passing one.
func verdictE1(pts []e1Point, minCos, minHist Criterion) Verdict {
	var v Verdict
	if len(pts) == 0 {
		v.add(missing(Paper, minCos, "Frobenius cosine", "no checkpoint was analysed"))
		return v
	}
	for _, pt := range pts {
		c, h := float64(pt.Spectra.Cosine), pt.Spectra.HistAgree
		if !finiteF(c) {
			h = math.NaN() // no spectra: the histogram overlap is not a measurement either
		}
		v.add(atLeast(Paper, minCos, fmt.Sprintf("Frobenius cosine at epoch %d", pt.Epoch), c, 1,
			"At epoch %d the two matrices have Frobenius cosine %.3f (criterion %g).", pt.Epoch, c, minCos.Value))
		v.add(atLeast(Paper, minHist, fmt.Sprintf("histogram overlap at epoch %d", pt.Epoch), h, 1,
			"Their eigenvalue histograms overlap by %.2f (criterion %g).", h, minHist.Value).as(Full))
	}
	for _, pt := range pts {
		v.remark("Epoch %d: top eigenvalues in ratio %.3f; the exact noise covariance against (2L/(KB)) G has "+
			"cosine %.3f and trace ratio %.3f.", pt.Epoch, float64(pt.Spectra.TopRatio), float64(pt.Sigma.Cosine),
			float64(pt.Sigma.TraceRatio))
	}
	return v
}

func renderE1(env *Env, pts []e1Point, res *Result) error {
	tab := Table{Title: "Agreement of the two matrices at each checkpoint", Header: []string{"epoch", "L",
		"top eigenvalue ratio", "Frobenius cosine", "histogram overlap", "Sigma vs (2L/(KB))G: cosine", "trace ratio",
		"top-5 overlap"}}
	for _, pt := range pts {
		sp, ag := pt.Spectra, pt.Sigma
		tab.Rows = append(tab.Rows, []string{fmt.Sprint(pt.Epoch), g4(pt.L), f3(float64(sp.TopRatio)),
			f3(float64(sp.Cosine)), f3(sp.HistAgree), f3(float64(ag.Cosine)), f3(float64(ag.TraceRatio)),
			f3(float64(ag.Overlap))})
		res.Numbers = append(res.Numbers, Number{Name: fmt.Sprintf("epoch %d: Frobenius cosine of the two matrices",
			pt.Epoch), Value: sp.Cosine, Theory: 1},
			Number{Name: fmt.Sprintf("epoch %d: histogram overlap (1 = identical)", pt.Epoch),
				Value: num.Float(sp.HistAgree), Theory: 1},
			Number{Name: fmt.Sprintf("epoch %d: exact Sigma vs (2L/(KB)) G cosine", pt.Epoch),
				Value: ag.Cosine, Theory: 1})
		var xs []float64
		var rows [][]float64
		for i := range sp.HistW {
			xs = append(xs, sp.Edges[i])
			rows = append(rows, []float64{sp.Edges[i], sp.Edges[i+1], sp.HistW[i], sp.HistD[i]})
		}
		fig, err := env.figure(fmt.Sprintf("spectra_epoch%d", pt.Epoch),
			report.Figure{Title: fmt.Sprintf("E1: eigenvalue histograms at "+
				"epoch %d (L = %.4g)", pt.Epoch, pt.L), XLabel: "log10 eigenvalue", YLabel: "fraction of eigenvalues",
				Series: []report.Series{{Name: "(1/N) sum l grad f grad f^T", X: xs, Y: sp.HistW,
					Style: report.Steps}, {Name: "L (1/N) sum grad f grad f^T", X: xs, Y: sp.HistD,
					Style: report.Steps}}}, []string{"log10_lo", "log10_hi", "weighted", "decoupled"}, rows,
			sp.Method+".")
		if err != nil {
			return err
		}
		res.Figures = append(res.Figures, fig)
	}
	res.Tables = append(res.Tables, tab)
	return nil
}
