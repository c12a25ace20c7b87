package noise

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/sgdlab/sgdlab/curvature"
	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/gram"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/seed"
)

// Analysis is everything `sgdlab noise` reports at one parameter point.
type Analysis struct {
	N           int               `json:"N"`
	P           int               `json:"P"`
	K           int               `json:"K"`
	B           int               `json:"batch"`
	Sampling    string            `json:"sampling"`
	C           float64           `json:"sampling_factor"`
	Loss        float64           `json:"loss"`
	GradNorm    float64           `json:"grad_norm"`
	Strength    Strength          `json:"strength"`
	Decoupled   *Agreement        `json:"decoupled,omitempty"`
	HessianForm *Agreement        `json:"hessian_form,omitempty"`
	Fig1        *Spectra          `json:"fig1,omitempty"`
	Linear      *LinearCheck      `json:"linear_gaussian,omitempty"`
	Conventions map[string]string `json:"conventions"`
	Notes       []string          `json:"notes,omitempty"`
}

// maxScale bounds the noise strength and the loss of an analysis: their squares and fourth
// moments must stay finite.
const maxScale = 1e150

// AnalyzeOptions selects what Analyze computes.
type AnalyzeOptions struct {
	TopK      int           // eigenvectors in the overlap measure (default 5)
	Probes    int           // probes of stochastic estimates (default 30)
	WStar     *model.Worker // evaluates H at ThetaStar; nil skips the Hessian form
	ThetaStar []float64     // the minimum whose Hessian H* the noise model uses
	Fig1      bool          // compute the paper's Fig. 1 spectra (MSE, N*K <= gram.MaxSize)
	// Seed drives the stochastic estimates: each comparison draws from its own stream
	// seed.Stream(Seed, seed.Extra), so that adding one does not change the others.
	Seed     uint64
	Progress func(s string) // optional stage reporter
}

// Analyze measures the noise at the state's theta and compares it with the approximations,
// choosing for each comparison the exact route that fits in memory: dense P x P matrices
// for P <= DenseLimit, the N x N Gram route for the decoupled form of larger MSE models,
// and stochastic estimates (with standard errors) otherwise.
func (s *State) Analyze(opt AnalyzeOptions) (*Analysis, error) {
	o := s.W.Objective()
	if opt.TopK <= 0 {
		opt.TopK = 5
	}
	if opt.Probes <= 0 {
		opt.Probes = 30
	}
	rng := func() *rand.Rand { return seed.Stream(opt.Seed, seed.Extra) }
	var gr *GramRoute // built once, shared by the decoupled comparison and Fig. 1
	stage := func(x string) {
		if opt.Progress != nil {
			opt.Progress(x)
		}
	}
	a := &Analysis{N: o.N(), P: o.P(), K: o.K(), B: s.B, Sampling: s.Mode.String(), C: s.C, Loss: s.L,
		GradNorm: math.Sqrt(dot(s.Grad, s.Grad)), Conventions: Conventions(s)}
	if err := s.checkFinite(); err != nil {
		return nil, err
	}
	// The overlap of all P eigenvectors is trivially 1: use at most P-1 of them.
	k := max(1, min(opt.TopK, o.P()-1))
	_, mse := o.Loss.(model.MSE)
	stage("noise strength")
	a.Strength = s.MeasureStrength(mse)
	// The comparisons square covariance entries (Frobenius norms, fourth moments): a noise of
	// 1e150 or more would overflow there, and is refused here with the numbers.
	if st := a.Strength; !(math.Abs(st.Noise) < maxScale) || !(s.L < maxScale) || !(st.JacNorm*s.L < maxScale) {
		return nil, fault.Invalid("the noise at the point is beyond the range sgdlab can compare (Noise = %.3g, L = "+
			"%.3g; limit %.0g): choose parameters of a smaller size", st.Noise, s.L, maxScale)
	}
	noNoise := s.C == 0 || a.Strength.Noise == 0
	switch {
	case s.C == 0:
		// B = N without replacement: every batch is the data set and SGD has no noise.
		a.Notes = append(a.Notes, fmt.Sprintf("B = N = %d without replacement: every batch is the whole data set, so "+
			"SGD has no noise (Sigma = 0) and the comparisons with its approximations are not defined", s.B))
	case noNoise:
		a.Notes = append(a.Notes, "every per-sample gradient equals the mean gradient (Noise = 0 to rounding: one "+
			"sample, or identical samples), so SGD has no noise (Sigma = 0) and the comparisons with its "+
			"approximations are not defined")
	}
	if noNoise {
		opt.WStar = nil
	}
	nk := o.N() * o.K()
	decName, hesName := "decoupled 2L G / (K B)", "Hessian form 2L H* / (K B)"
	switch {
	case noNoise:
	case o.P() <= DenseLimit:
		stage("dense covariances")
		S := curvature.ToDense(s.Exact())
		d, err := CompareDense(decName, S, curvature.ToDense(s.Decoupled()), o.P(), k)
		if err != nil {
			return a, err
		}
		a.Decoupled = &d
		if opt.WStar != nil {
			h, err := CompareDense(hesName, S, curvature.ToDense(s.HessianForm(opt.WStar, opt.ThetaStar)), o.P(), k)
			if err != nil {
				return a, err
			}
			a.HessianForm = &h
		}
		if lc := s.linearCheck(S); lc != nil {
			a.Linear = lc
		}
	default:
		if mse && nk <= gram.MaxSize {
			stage("Gram route: decoupled form")
			var err error
			if gr, err = s.NewGramRoute(); err != nil {
				return a, err
			}
			d, err := gr.CompareDecoupled(k, rng())
			if err != nil {
				return a, err
			}
			a.Decoupled = &d
		} else {
			stage("stochastic comparison: decoupled form")
			tr := a.Strength.Noise * s.C
			trA := math.NaN()
			if mse {
				trA = s.formFactor() * a.Strength.JacNorm
			}
			d, err := CompareOperators(decName, s.Exact(), s.Decoupled(), tr, trA, k, opt.Probes, rng())
			if err != nil {
				return a, err
			}
			a.Decoupled = &d
		}
		if opt.WStar != nil {
			stage("stochastic comparison: Hessian form")
			h, err := CompareOperators(hesName, s.Exact(), s.HessianForm(opt.WStar, opt.ThetaStar),
				a.Strength.Noise*s.C, math.NaN(), k, opt.Probes, rng())
			if err != nil {
				return a, err
			}
			a.HessianForm = &h
		}
	}
	if opt.Fig1 {
		if !mse {
			a.Notes = append(a.Notes, "Fig. 1 spectra skipped: defined for the mean-square loss")
		} else if nk > gram.MaxSize && o.P() > DenseLimit {
			a.Notes = append(a.Notes, "Fig. 1 spectra skipped: N*K exceeds the Gram limit; use fewer samples")
		} else {
			stage("Fig. 1 spectra")
			var sp Spectra
			var err error
			if gr != nil {
				sp, err = gr.Fig1(20, rng())
			} else {
				sp, err = s.Fig1(20, rng())
			}
			switch {
			case errors.Is(err, errFig1Zero):
				a.Notes = append(a.Notes, "Fig. 1 spectra not measured: "+err.Error())
			case err != nil:
				return a, err
			default:
				a.Fig1 = &sp
			}
		}
	}
	return a, nil
}

// Conventions states the conventions behind every number of an Analysis.
func Conventions(s *State) map[string]string {
	samp := "with replacement: Sigma = (1/B)(M - g g^T)"
	if s.Mode.String() == "epoch" {
		samp = "without replacement (epoch): Sigma = (N-B)/(B(N-1)) (M - g g^T)"
	}
	return map[string]string{
		"loss":  "l_mu = 1/2 |f_mu - y_mu|^2, L = (1/N) sum l_mu",
		"noise": "xi = grad L - grad L_B; Sigma = Cov(xi) over batch draws, " + samp,
		"M":     "M = (1/N) sum_mu grad l_mu grad l_mu^T, g = grad L",
		"G":     "G = Gauss-Newton (1/N) sum J^T (d2l/df2) J (MSE: (1/N) sum grad f grad f^T)",
		"decoupled": "c * (2 L(theta)/K) G(theta), c the sampling factor above and K the number of outputs " +
			"(c = 1/B with replacement and K = 1: the paper's (2L/B) G)",
		"hessian": "c * (2 L(theta)/K) H(theta*), exact Hessian at the minimum theta*",
		"Noise":   "Noise = (1/N) sum |grad l_mu|^2 - |g|^2 = tr Sigma / c",
		"cosine":  "<S, A>_F / (|S|_F |A|_F)",
		"overlap": "(1/k) |U_S^T U_A|_F^2 of the top-k eigenvectors",
		"fig1":    "eigenvalues of (1/N) sum l_mu grad f grad f^T vs L (1/N) sum grad f grad f^T",
		"trace_ratio": "tr(approximation) / tr(exact Sigma); strength.decoupled_ratio is the same quantity for " +
			"the decoupled form ((2L/K) (1/N) sum |J|_F^2 / Noise)",
	}
}

// LinearCheck compares the exact covariance of Gaussian linear regression with the
// population formula (docs/theory.md, "SGD noise").
type LinearCheck struct {
	// Sigma_pop = c [ (E y^2 + |theta|^2) I + theta theta^T ]; MaxZ is the largest
	// |Sigma - Sigma_pop| in units of the entry's standard error from the finite data.
	MaxZ float64 `json:"max_z_vs_population" check:"nonneg"`
	// The decoupled form is c (E y^2 + |theta|^2) I: the gap Sigma - decoupled should be
	// c theta theta^T. GapExplained = 1 - |S - A - c theta theta^T|_F / |S - A|_F.
	GapNorm      float64   `json:"gap_rel_norm" check:"nonneg"`  // |S - A|_F / |S|_F
	GapExplained num.Float `json:"gap_explained_by_theta_theta"` // NaN when there is no gap
	// MaxZGap is the largest |(S - A) - c theta theta^T| entry in standard errors: values
	// of a few mean the unexplained rest of the gap is finite-sample noise.
	MaxZGap    float64 `json:"max_z_gap_minus_theta_theta" check:"nonneg"`
	ThetaNorm2 float64 `json:"theta_norm2"`
	Ey2        float64 `json:"mean_y2"`
}

// linearCheck applies to `linear` models on gauss: data.
func (s *State) linearCheck(S []float64) *LinearCheck {
	o := s.W.Objective()
	if o.Model.Spec() != "linear" || !strings.HasPrefix(o.Data.Spec, "gauss:") || o.K() != 1 {
		return nil
	}
	d, n := o.Data.D, o.N()
	th := s.Theta
	lc := &LinearCheck{}
	for _, v := range th {
		lc.ThetaNorm2 += v * v
	}
	for _, y := range o.Data.Y {
		lc.Ey2 += y * y / float64(n)
	}
	A := curvature.ToDense(s.Decoupled())
	var gap, rest, sn float64
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			var m1, m2 float64
			for mu := 0; mu < n; mu++ {
				x := o.Data.Row(mu)
				r := s.DLdF[mu]
				v := r * r * x[i] * x[j]
				m1 += v
				m2 += v * v
			}
			m1 /= float64(n)
			se := s.C * (math.Sqrt((m2/float64(n)-m1*m1)/float64(n)) + 2*math.Sqrt(lc.ThetaNorm2)*3/math.Sqrt(float64(n)))
			pop := s.C * th[i] * th[j]
			if i == j {
				pop += s.C * (lc.Ey2 + lc.ThetaNorm2)
			}
			if !(se > 0) {
				return nil // no standard error (one sample, or no noise): nothing to judge the entries by
			}
			lc.MaxZ = math.Max(lc.MaxZ, math.Abs(S[i*d+j]-pop)/se)
			g := S[i*d+j] - A[i*d+j]
			gap += g * g
			e := g - s.C*th[i]*th[j]
			rest += e * e
			lc.MaxZGap = math.Max(lc.MaxZGap, math.Abs(e)/se)
			sn += S[i*d+j] * S[i*d+j]
		}
	}
	if !(sn > 0) {
		return nil
	}
	lc.GapNorm = math.Sqrt(gap / sn)
	lc.GapExplained = num.Float(math.NaN())
	if gap > 0 {
		lc.GapExplained = num.Float(1 - math.Sqrt(rest/gap))
	}
	return lc
}
