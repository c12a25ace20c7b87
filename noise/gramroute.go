package noise

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/sgdlab/sgdlab/curvature"
	"github.com/sgdlab/sgdlab/gram"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/num"
)

// ExactEigenLimit is the largest N*K for which full N x N spectra are computed exactly
// (dense symmetric eigensolver); larger problems use Lanczos for the top eigenvalues and
// stochastic Lanczos quadrature for the histogram.
const ExactEigenLimit = 3000

// GramRoute holds the Jacobian Gram matrix K (N*K x N*K) at theta and what is derived from
// it. Every P x P matrix of docs/theory.md ("SGD noise") of the form J^T W J / N has the nonzero
// spectrum of an N*K x N*K matrix built from K, which makes exact comparisons possible for
// networks with many more parameters than samples.
type GramRoute struct {
	s  *State
	K  []float64 // nk x nk, both triangles filled
	nk int
}

// NewGramRoute computes the Jacobian Gram at the state's theta (MSE loss only: the
// decoupled form (2L/B) G uses G = J^T J / N, the theory's Gauss-Newton matrix for the MSE loss).
func (s *State) NewGramRoute() (*GramRoute, error) {
	o := s.W.Objective()
	if _, ok := o.Loss.(model.MSE); !ok {
		return nil, errors.New(
			"the Gram route compares with (2L/B) G, defined for the mean-square loss; use the operator route for " +
				"other losses",
		)
	}
	K, err := gram.Jacobian(o, s.Theta)
	if err != nil {
		return nil, err
	}
	return &GramRoute{s: s, K: K.RawSymmetric().Data, nk: o.N() * o.K()}, nil
}

// lossGram returns C R K and C R K R^T C: with R the N x NK block matrix of dl/df rows and
// C = I - 11^T/N the centering matrix, the rows of C R J are the centred per-sample loss
// gradients g_mu - g, so C R K = Gc J^T and C R K R^T C = Gc Gc^T.
func (g *GramRoute) lossGram() (crk []float64, gc []float64) {
	o := g.s.W.Objective()
	N, Kout, nk := o.N(), o.K(), g.nk
	dl := g.s.DLdF
	rk := make([]float64, N*nk) // R K
	for mu := 0; mu < N; mu++ {
		row := rk[mu*nk : (mu+1)*nk]
		for k := 0; k < Kout; k++ {
			w := dl[mu*Kout+k]
			if w == 0 {
				continue
			}
			for c := 0; c < nk; c++ {
				row[c] += w * g.K[(mu*Kout+k)*nk+c]
			}
		}
	}
	center(rk, N, nk)
	crk = rk
	// Gc Gc^T = (C R K) R^T C.
	gc = make([]float64, N*N)
	for mu := 0; mu < N; mu++ {
		row := crk[mu*nk : (mu+1)*nk]
		for nu := 0; nu < N; nu++ {
			s := 0.0
			for k := 0; k < Kout; k++ {
				s += row[nu*Kout+k] * dl[nu*Kout+k]
			}
			gc[mu*N+nu] = s
		}
	}
	// Right-multiply by C: subtract each row's mean.
	for mu := 0; mu < N; mu++ {
		row := gc[mu*N : (mu+1)*N]
		m := 0.0
		for _, v := range row {
			m += v
		}
		m /= float64(N)
		for nu := range row {
			row[nu] -= m
		}
	}
	return crk, gc
}

// center subtracts the mean row from the rows of the n x m matrix a.
func center(a []float64, n, m int) {
	mean := make([]float64, m)
	for i := 0; i < n; i++ {
		for j, v := range a[i*m : (i+1)*m] {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	for i := 0; i < n; i++ {
		row := a[i*m : (i+1)*m]
		for j := range row {
			row[j] -= mean[j]
		}
	}
}

// CompareDecoupled compares the exact Sigma with c 2L G exactly through the Gram matrices:
// traces, the Frobenius cosine and the top-k eigenvector overlap.
func (g *GramRoute) CompareDecoupled(k int, rng *rand.Rand) (Agreement, error) {
	o := g.s.W.Objective()
	N, nk, Kout := o.N(), g.nk, o.K()
	c, L := g.s.C, g.s.L
	crk, gc := g.lossGram()
	ag := Agreement{Form: "decoupled (2L/(KB)) G", K: k, Method: "gram"}
	trS, trA := 0.0, 0.0
	for mu := 0; mu < N; mu++ {
		trS += gc[mu*N+mu]
	}
	for r := 0; r < nk; r++ {
		trA += g.K[r*nk+r]
	}
	trS *= c / float64(N)
	trA *= 2 * c * L / float64(Kout) / float64(N)
	// <S, A>_F = (c^2 2L / N^2) |Gc J^T|_F^2 ; |S|_F = (c/N)|Gc Gc^T|_F ; |A|_F = (2cL/N)|K|_F.
	sa, ss, aa := 0.0, 0.0, 0.0
	for _, v := range crk {
		sa += v * v
	}
	for _, v := range gc {
		ss += v * v
	}
	for _, v := range g.K {
		aa += v * v
	}
	if why := notCompared(trS, trA, trA); why != "" {
		ag.undefined(why)
		return ag, nil
	}
	ag.TraceRatio, ag.TraceSE, ag.CosineSE = num.Float(trA/trS), 0, 0
	ag.Cosine = num.Float(sa / math.Sqrt(ss) / math.Sqrt(aa))
	// Overlap: u_i = Gc^T a_i / sqrt(s_i), w_j = J^T b_j / sqrt(kappa_j); u_i . w_j =
	// a_i^T (Gc J^T) b_j / sqrt(s_i kappa_j).
	k = min(k, N-1, nk)
	ra, err := curvature.Lanczos(curvature.Dense{N: N, A: gc}, curvature.LanczosOptions{K: k, Vectors: true,
		Tol: 1e-8, Rand: rng})
	if err != nil {
		return ag, fmt.Errorf("top eigenvectors of the noise Gram: %w", err)
	}
	rb, err := curvature.Lanczos(curvature.Dense{N: nk, A: g.K}, curvature.LanczosOptions{K: k, Vectors: true,
		Tol: 1e-8, Rand: rng})
	if err != nil {
		return ag, fmt.Errorf("top eigenvectors of the Jacobian Gram: %w", err)
	}
	ov := 0.0
	tmp := make([]float64, nk)
	for i, a := range ra.Vectors {
		clear(tmp)
		for mu := 0; mu < N; mu++ {
			if a[mu] == 0 {
				continue
			}
			row := crk[mu*nk : (mu+1)*nk]
			for q, v := range row {
				tmp[q] += a[mu] * v
			}
		}
		for j, b := range rb.Vectors {
			d := dot(tmp, b) / math.Sqrt(ra.Values[i]*rb.Values[j])
			ov += d * d
		}
	}
	ag.Overlap = num.Float(ov / float64(k))
	ag.K = k
	return ag, nil
}

// Spectra is the paper's Fig. 1 comparison: the spectrum of (1/N) sum_mu l_mu grad f grad f^T
// against that of L (1/N) sum_mu grad f grad f^T.
type Spectra struct {
	Weighted  []float64 `json:"weighted_top"`  // top eigenvalues of (1/N) sum l_mu grad f grad f^T
	Decoupled []float64 `json:"decoupled_top"` // top eigenvalues of L G
	// All nonzero eigenvalues when N*K <= ExactEigenLimit (descending), else nil.
	WeightedAll  []float64 `json:"-"`
	DecoupledAll []float64 `json:"-"`
	// Histograms over log10(eigenvalue) bins (fraction of the N*K eigenvalues per bin),
	// exact or from stochastic Lanczos quadrature with standard errors.
	Edges      []float64 `json:"log10_edges"`
	HistW      []float64 `json:"hist_weighted"`
	HistWSE    []float64 `json:"hist_weighted_se,omitempty"`
	HistD      []float64 `json:"hist_decoupled"`
	HistDSE    []float64 `json:"hist_decoupled_se,omitempty"`
	Cosine     num.Float `json:"cosine" check:"cos"`        // Frobenius cosine of the two P x P matrices (exact)
	TopRatio   num.Float `json:"top_ratio" check:"nonneg"`  // lambda_1(weighted) / lambda_1(decoupled)
	HistAgree  float64   `json:"hist_overlap" check:"prob"` // sum_bins min(hist_w, hist_d), 1 = identical
	Method     string    `json:"method"`
	MatrixSize int       `json:"matrix_size"`
}

// errFig1Zero is returned when one of the two matrices of Fig. 1 vanishes (L = 0 at an
// interpolating point, or a vanishing Jacobian): their spectra cannot be compared.
var errFig1Zero = errors.New("one of the two Fig. 1 matrices is zero (L = 0 or a vanishing Jacobian): their " +
	"spectra are not compared")

// Fig1 computes the spectra of the two matrices of the paper's Fig. 1 through the Gram route.
func (g *GramRoute) Fig1(top int, rng *rand.Rand) (Spectra, error) {
	o := g.s.W.Objective()
	N, Kout, nk := o.N(), o.K(), g.nk
	L := g.s.L
	sq := make([]float64, nk)
	for r := range sq {
		sq[r] = math.Sqrt(g.s.Losses[r/Kout])
	}
	w := make([]float64, nk*nk) // (1/N) Wh K Wh
	d := make([]float64, nk*nk) // (L/N) K
	var tWK, tWKWK, tKK float64
	for r := 0; r < nk; r++ {
		for q := 0; q < nk; q++ {
			v := g.K[r*nk+q]
			w[r*nk+q] = sq[r] * v * sq[q] / float64(N)
			d[r*nk+q] = L * v / float64(N)
			lr, lq := sq[r]*sq[r], sq[q]*sq[q]
			tWK += lr * v * v
			tWKWK += lr * lq * v * v
			tKK += v * v
		}
	}
	// tr(AB) = (L/N^2) tr(W K K), |A|^2 = tr(WKWK)/N^2, |B|^2 = L^2 tr(KK)/N^2.
	if !(L > 0) || !(tKK > 0) {
		return Spectra{}, errFig1Zero
	}
	sp := Spectra{MatrixSize: nk, Cosine: num.Float(tWK / math.Sqrt(tWKWK) / math.Sqrt(tKK))}
	top = min(top, nk)
	if nk <= ExactEigenLimit {
		sp.Method = "exact eigendecomposition of the N*K x N*K Gram forms"
		if err := sp.exact(nk, w, d, top); err != nil {
			return sp, err
		}
	} else {
		sp.Method = "Lanczos top eigenvalues and stochastic Lanczos quadrature (30 probes x 100 steps) of the Gram " +
			"forms"
		rw, err := curvature.Lanczos(curvature.Dense{N: nk, A: w}, curvature.LanczosOptions{K: top, Tol: 1e-8,
			Rand: rng})
		if err != nil {
			return sp, err
		}
		rd, err := curvature.Lanczos(curvature.Dense{N: nk, A: d}, curvature.LanczosOptions{K: top, Tol: 1e-8,
			Rand: rng})
		if err != nil {
			return sp, err
		}
		sp.Weighted, sp.Decoupled = rw.Values, rd.Values
		sp.Edges = logEdges(rw.Values[0], rd.Values[0])
		qw := curvature.SLQ(curvature.Dense{N: nk, A: w}, 30, 100, rng)
		qd := curvature.SLQ(curvature.Dense{N: nk, A: d}, 30, 100, rng)
		sp.HistW, sp.HistWSE = slqHistogram(qw, sp.Edges)
		sp.HistD, sp.HistDSE = slqHistogram(qd, sp.Edges)
		sp.TopRatio = num.Float(sp.Weighted[0] / sp.Decoupled[0])
		sp.HistAgree = histOverlap(sp.HistW, sp.HistD)
	}
	return sp, nil
}

// exact fills the spectra from two dense n x n matrices.
func (sp *Spectra) exact(n int, w, d []float64, top int) error {
	ew, _, err := curvature.Eigen(n, w, false)
	if err != nil {
		return err
	}
	ed, _, err := curvature.Eigen(n, d, false)
	if err != nil {
		return err
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(ew)))
	sort.Sort(sort.Reverse(sort.Float64Slice(ed)))
	sp.WeightedAll, sp.DecoupledAll = ew, ed
	sp.Weighted, sp.Decoupled = ew[:top], ed[:top]
	sp.Edges = logEdges(ew[0], ed[0])
	sp.HistW = histogram(ew, sp.Edges)
	sp.HistD = histogram(ed, sp.Edges)
	sp.TopRatio = num.Float(sp.Weighted[0] / sp.Decoupled[0])
	sp.HistAgree = histOverlap(sp.HistW, sp.HistD)
	return nil
}

// Fig1 computes the paper's Fig. 1 spectra: in parameter space from dense P x P matrices
// when P <= DenseLimit, else through the Gram route (MSE loss).
func (s *State) Fig1(top int, rng *rand.Rand) (Spectra, error) {
	o := s.W.Objective()
	P, N, K := o.P(), o.N(), o.K()
	if P > DenseLimit {
		gr, err := s.NewGramRoute()
		if err != nil {
			return Spectra{}, err
		}
		return gr.Fig1(top, rng)
	}
	w, d := make([]float64, P*P), make([]float64, P*P)
	const chunk = 64
	rows := make([]float64, chunk*K*P)
	idx := make([]int, 0, chunk)
	for i0 := 0; i0 < N; i0 += chunk {
		n := min(chunk, N-i0)
		idx = idx[:0]
		for i := 0; i < n; i++ {
			idx = append(idx, i0+i)
		}
		s.W.OutputGrads(s.Theta, idx, rows[:n*K*P])
		for r := 0; r < n*K; r++ {
			l := s.Losses[i0+r/K]
			row := rows[r*P : (r+1)*P]
			for i, a := range row {
				if a == 0 {
					continue
				}
				wi, di := w[i*P:(i+1)*P], d[i*P:(i+1)*P]
				for j, b := range row {
					wi[j] += l * a * b
					di[j] += a * b
				}
			}
		}
	}
	var tab, taa, tbb float64
	for i := range w {
		w[i] /= float64(N)
		d[i] *= s.L / float64(N)
		tab += w[i] * d[i]
		taa += w[i] * w[i]
		tbb += d[i] * d[i]
	}
	if !(taa > 0) || !(tbb > 0) {
		return Spectra{}, errFig1Zero
	}
	sp := Spectra{MatrixSize: P, Cosine: num.Float(tab / math.Sqrt(taa) / math.Sqrt(tbb)),
		Method: "exact eigendecomposition of the P x P matrices"}
	return sp, sp.exact(P, w, d, min(top, P))
}

// logEdges spans 10 decades below the larger top eigenvalue in 40 bins of log10, plus a
// first bin [edges[0], edges[1]) that also collects every smaller value, zeros included.
func logEdges(a, b float64) []float64 {
	hi := math.Ceil(math.Log10(math.Max(a, b))*4) / 4
	lo := hi - 10
	edges := []float64{lo - 0.25}
	for i := 0; i <= 40; i++ {
		edges = append(edges, lo+float64(i)*(hi-lo)/40)
	}
	return edges
}

// histogram returns the fraction of values in each log10 bin (values <= 0 fall in the first).
func histogram(vals, edges []float64) []float64 {
	h := make([]float64, len(edges)-1)
	for _, v := range vals {
		h[bin(v, edges)]++
	}
	for i := range h {
		h[i] /= float64(len(vals))
	}
	return h
}

// histOverlap is sum_bins min(a, b) of two histograms that each sum to one: 1 when they are
// identical. The sum is capped at 1, which it can pass only by the rounding of its terms.
func histOverlap(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += math.Min(a[i], b[i])
	}
	return math.Min(s, 1)
}

func bin(v float64, edges []float64) int {
	if v <= 0 {
		return 0
	}
	lv := math.Log10(v)
	i := sort.SearchFloat64s(edges, lv) - 1
	return max(0, min(i, len(edges)-2))
}

// slqHistogram bins the quadrature measure of each probe and averages over probes.
func slqHistogram(q curvature.Quadrature, edges []float64) (h, se []float64) {
	nb := len(edges) - 1
	per := make([][]float64, len(q.Nodes))
	for p := range q.Nodes {
		per[p] = make([]float64, nb)
		for i, t := range q.Nodes[p] {
			per[p][bin(t, edges)] += q.Weights[p][i]
		}
	}
	h, se = make([]float64, nb), make([]float64, nb)
	for b := 0; b < nb; b++ {
		s, s2 := 0.0, 0.0
		for p := range per {
			s += per[p][b]
			s2 += per[p][b] * per[p][b]
		}
		n := float64(len(per))
		h[b] = s / n
		se[b] = math.Sqrt(math.Max(s2/n-h[b]*h[b], 0) / (n - 1))
	}
	return h, se
}
