package landscape

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/theory"
)

// Barrier is a minimum, a second minimum and the index-1 saddle between them.
type Barrier struct {
	MinA   *Minimum `json:"min_a"`
	MinB   *Minimum `json:"min_b"`
	Saddle *Saddle  `json:"saddle"`
	Path   *Path    `json:"path"`
	DeltaL float64  `json:"delta_L"` // L^s - L*(A)
	// DeltaLogL is log(L^s / L*(A)); NaN (null), with Note saying why, when L*(A) = 0.
	DeltaLogL num.Float `json:"delta_log_L"`
	Note      string    `json:"note,omitempty"`
	Tried     []string  `json:"tried"`
}

// ErrFirstNotMinimum and ErrSecondNotMinimum are wrapped when the first or the second end
// point of a barrier search is not a minimum.
var (
	ErrFirstNotMinimum  = errors.New("not a minimum")
	ErrSecondNotMinimum = errors.New("not a minimum")
)

// endNotMinimum is an error about an end point (errors.Is its sentinel).
type endNotMinimum struct {
	error
	which error
}

func (e endNotMinimum) Unwrap() []error { return []error{e.error, e.which} }

// FindBarrier characterises the minima a and b (both must be minima) and finds the saddle
// between them: NEB with a climbing image, then refinement; if that fails, a denser band.
// Failure returns an error wrapping ErrNoSaddle that lists what was tried.
func FindBarrier(ctx context.Context, w *model.Worker, a, b []float64) (*Barrier, error) {
	ma, err := Characterize(w, a, 20)
	if err != nil {
		return nil, endNotMinimum{fmt.Errorf("the first minimum: %w", err), ErrFirstNotMinimum}
	}
	mb, err := Characterize(w, b, 20)
	if err != nil {
		return nil, endNotMinimum{fmt.Errorf("the second minimum: %w", err), ErrSecondNotMinimum}
	}
	if dist(a, b) < 1e-6*math.Max(1, norm(a)) {
		return nil, fmt.Errorf("the two minima coincide (distance %.2g): give two distinct minima", dist(a, b))
	}
	br := &Barrier{MinA: ma, MinB: mb}
	// The band's many loss and gradient evaluations use the data's moments when the model
	// has them (the same loss, O(d^2) per evaluation instead of O(N)); the saddle is then
	// refined on the full data.
	land := model.Landscape(w)
	if fl, ok := model.NewFeatureLandscape(w.Objective(), false); ok {
		land = fl
	}
	for _, images := range []int{15, 31} {
		path, err := NEB(ctx, land, a, b, NEBOptions{Images: images})
		if err != nil {
			return nil, err
		}
		what := fmt.Sprintf("NEB with %d images (climbing image %d, max force %.2g after %d steps)", images,
			path.Climber, path.MaxForce, path.Iters)
		s, err := RefineSaddle(ctx, w, path.Images[path.Climber], 1e-9)
		if err != nil {
			br.Tried = append(br.Tried, what+", refinement: "+err.Error())
			continue
		}
		br.Tried = append(br.Tried, what+", refined: "+s.Refined)
		br.Path, br.Saddle = path, s
		br.DeltaL = s.Loss - ma.Loss
		br.DeltaLogL = num.Float(theory.Barrier{LMin: ma.Loss, LSaddle: s.Loss}.DeltaLogL())
		if ma.Loss == 0 {
			br.DeltaLogL = num.Float(math.NaN())
			br.Note = "L* = 0 at minimum A (an interpolating minimum): log(L^s/L*) is infinite, so the " +
				"log-landscape barrier and the power-law escape predictions are not defined"
		}
		return br, nil
	}
	return br, fmt.Errorf("%w between the two minima; tried: %s", ErrNoSaddle, strings.Join(br.Tried, "; "))
}

// FlatTol is the relative size below which a Hessian eigenvalue counts as zero (a flat
// direction): the tolerance Characterize gives a minimum's negative curvature.
const FlatTol = 1e-8

// Flat counts the eigenvalues of eigs within FlatTol of the largest in modulus.
func Flat(eigs []float64) int {
	scale := 0.0
	for _, v := range eigs {
		scale = math.Max(scale, math.Abs(v))
	}
	k := 0
	for _, v := range eigs {
		if math.Abs(v) <= FlatTol*scale {
			k++
		}
	}
	return k
}

// Degenerate says why the determinant ratio det H*/|det H^s| of the rate formulas' harmonic
// prefactor is not defined for this barrier, or returns "". With complete spectra a flat
// direction at the minimum or the saddle (a continuous symmetry, or a parameter the loss does
// not use) makes the ratio 0/0, 0 or infinite: the prefactor would need the volume the flat
// directions span instead; with partial spectra only the saddle's negative curvature is used.
func (b *Barrier) Degenerate() string {
	if b.MinA.Dense && len(b.Saddle.Eigs) == len(b.MinA.Eigs) {
		ka, ks := Flat(b.MinA.Eigs), Flat(b.Saddle.Eigs)
		if ka == 0 && ks == 0 {
			return ""
		}
		return fmt.Sprintf("the Hessian has %d flat direction(s) at minimum A and %d at the saddle (|h| <= %.0e "+
			"of the largest eigenvalue): det H*/|det H^s| and the harmonic prefactor of the rate formulas are not "+
			"defined there, so the power-law, Arrhenius and frozen-noise rates are not computed", ka, ks, FlatTol)
	}
	if top := slices.Max(append([]float64{0}, b.MinA.Eigs...)); math.Abs(b.Saddle.NegEig) <= FlatTol*top {
		return fmt.Sprintf("the saddle's negative curvature %.3g is within %.0e of the largest eigenvalue at the "+
			"minimum (a flat barrier top): the harmonic prefactor of the rate formulas is not defined, so the "+
			"power-law, Arrhenius and frozen-noise rates are not computed", b.Saddle.NegEig, FlatTol)
	}
	return ""
}

// Theory returns the inputs of the escape formulas for escaping from MinA over the saddle:
// with complete (dense) spectra the outlier directions are all P directions, h* is the mean
// eigenvalue at the minimum and the determinant ratio runs over all of them.
func (b *Barrier) Theory() theory.Barrier {
	t := theory.Barrier{LMin: b.MinA.Loss, LSaddle: b.Saddle.Loss, HSaddleNeg: math.Abs(b.Saddle.NegEig),
		N: b.MinA.Outliers.N, HStar: b.MinA.Outliers.HStar}
	if b.MinA.Dense && len(b.Saddle.Eigs) == len(b.MinA.Eigs) {
		t.N = len(b.MinA.Eigs)
		logDet := 0.0
		hs := 0.0
		for i, v := range b.MinA.Eigs {
			logDet += math.Log(v) - math.Log(math.Abs(b.Saddle.Eigs[i]))
			hs += v
		}
		t.DetRatio = num.Float(math.Exp(logDet))
		t.HStar = hs / float64(len(b.MinA.Eigs))
	} else {
		// Large models: the n outlier directions at the minimum; at the saddle only the negative
		// and the lowest known eigenvalues are available, so the ratio uses h*^n / |h_e^s| h*^(n-1).
		t.DetRatio = num.Float(t.HStar / t.HSaddleNeg)
	}
	if b.Degenerate() != "" {
		t.DetRatio = num.Float(math.NaN())
	}
	return t
}

// OtherMinimum descends from each candidate start in turn and returns the first minimum
// distinct from a (farther than 1e-3 times the scale of a), with a record of what was tried.
func OtherMinimum(ctx context.Context, w *model.Worker, a []float64, starts [][]float64) (Point, []string, error) {
	var tried []string
	scale := math.Max(norm(a), 1)
	for i, s := range starts {
		p, err := Minimize(ctx, w, s, MinimizeOptions{})
		if err != nil {
			tried = append(tried, fmt.Sprintf("start %d: %v", i, err))
			continue
		}
		if d := dist(p.Theta, a); d > 1e-3*scale {
			return p, append(tried, fmt.Sprintf("start %d: minimum at distance %.3g, L = %.6g", i, d, p.Loss)), nil
		}
		tried = append(tried, fmt.Sprintf("start %d: same minimum", i))
	}
	return Point{}, tried, fmt.Errorf("no second minimum found from %d starts (%s): give the second minimum", len(starts),
		strings.Join(tried, "; "))
}
