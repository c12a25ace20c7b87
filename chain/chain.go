// Package chain computes real SGD's laws exactly, without a stochastic differential
// equation in between: SGD with replacement is a Markov chain theta' = theta - eta g_m(theta)
// with m a uniformly drawn sample (B = 1) or batch, and for models with one or two
// parameters its mean first-passage time to an exit and its quasi-stationary law inside the
// region the exit leaves solve linear equations on a grid (docs/theory.md, "Discrete time").
//
//   - The mean number of steps T(theta) to leave a region D solves the Fredholm equation
//     T(theta) = 1 + E[1{theta' in D} T(theta')]. On a grid with (bi)linear interpolation
//     (a Nystrom discretisation) it is the linear system (I - K) T = 1, solved by LU in one
//     dimension and by restarted GMRES in two (K applied from compressed rows).
//   - The quasi-stationary law is the principal left eigenvector of the sub-stochastic K;
//     its eigenvalue lambda gives the exact escape rate 1 - lambda per step, the quantity
//     Kramers-type formulas approximate.
//
// With B = 1 the expectation is the exact average over the N per-sample maps. With B > 1 it
// is a Monte Carlo average over M batches; independent batch sets give the Monte Carlo
// error. Every result comes with its solver residuals and the change from the half grid.
package chain

import (
	"context"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/internal/memory"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/num"
)

// Spec configures a chain computation.
type Spec struct {
	Obj   *model.Objective // at most two parameters, mean-square loss
	Eta   float64
	Batch int
	// Batches is the number M of Monte Carlo batches of the transition when Batch > 1
	// (0: N); Sets the number of independent batch sets for its error (0: 4).
	Batches, Sets int
	Seed          uint64
	// Grid is the number of intervals per dimension (0: 1000 in one dimension, 200 in two).
	Grid    int
	Workers int
	// MaxBytes caps the memory of the transition (0: the memory available).
	MaxBytes int64
	// Observable, when set, is averaged over the quasi-stationary law of every batch set
	// (Result.Observed) and of the half grid.
	Observable func(theta []float64) float64
	// LawOnly skips the mean first-passage time: only the quasi-stationary law is computed
	// (for regions so large that the escape time is beyond floating-point range), and the
	// grid change is that of the observable.
	LawOnly bool
}

// MaxParams is the largest number of parameters the chain handles.
const MaxParams = 2

// Version changes whenever the same Spec, start and region would give different numbers
// (run stores include it in the keys of stored chain solutions).
const Version = 1

// Region is the set D a run stays in until it exits, with the box the grid covers (a run
// that jumps out of the box is counted apart: it left for far away).
type Region struct {
	Name  string
	Level float64 // the exit level (c of a loss exit; 1 otherwise)
	// Inside returns a membership test with its own buffers (one per goroutine).
	Inside func() func(theta []float64) bool
	Lo, Hi [2]float64
	// Shift moves the grid by this fraction of a cell, so that no node lies exactly on a point
	// every map fixes (a saddle where the noise vanishes would be a trap of the discrete
	// chain that the real one, which never lands exactly there, does not have).
	Shift float64
	// Target is the radius of the ball a run must enter to exit (a well exit), 0 for exits
	// that leave the region instead: the grid must put nodes inside it.
	Target float64
}

// DensityPoint is the quasi-stationary density at a node, with the law the theory gives.
type DensityPoint struct {
	Theta   []float64 `json:"theta"`
	Density float64   `json:"density"`
}

// Result is the chain's answer for one region.
type Result struct {
	Level     float64   `json:"level"`
	Region    string    `json:"region"`
	MFPT      num.Float `json:"mfpt" check:"pos"`       // mean first-passage time from the start, in t
	MFPTSteps num.Float `json:"mfpt_steps" check:"pos"` // the same in steps
	MFPTSE    num.Float `json:"mfpt_mc_se,omitempty" check:"nonneg"`
	// Rate is -log(lambda)/eta, the escape rate per unit t; RatePerStep 1 - lambda. Both are
	// not measured (NaN) when the quasi-stationary law was not found (a warning says why).
	Rate        num.Float `json:"rate" check:"nonneg"`
	RatePerStep num.Float `json:"rate_per_step" check:"prob"`
	Lambda      num.Float `json:"lambda" check:"prob"`
	// LeaveBox is the probability, from the start, of jumping out of the box before the exit.
	LeaveBox float64 `json:"leave_box_probability" check:"prob"`
	// CoarseMFPT is the MFPT on the grid with half the intervals, GridChange its relative
	// difference from the MFPT on the full grid (with B > 1 both for the first batch set).
	CoarseMFPT  num.Float      `json:"mfpt_half_grid" check:"pos"`
	GridChange  num.Float      `json:"grid_change" check:"nonneg"`
	Residual    float64        `json:"residual" check:"nonneg"`     // of the MFPT solve, relative
	EigResidual num.Float      `json:"eig_residual" check:"nonneg"` // |K^T pi - lambda pi| / |pi|
	Unknowns    int            `json:"unknowns"`
	Grid        int            `json:"grid"`
	Lost        int64          `json:"lost_destinations,omitempty"`
	Products    int            `json:"products"` // products with K in the solves (fine grid)
	Entries     int64          `json:"entries"`  // stored entries of K (fine grid)
	Density     []DensityPoint `json:"-"`
	// Observed is the mean of Spec.Observable over the quasi-stationary law (over the batch
	// sets when B > 1, with its standard error), ObservedHalfGrid the same on the half grid.
	Observed         num.Float `json:"observed,omitempty"`
	ObservedSE       num.Float `json:"observed_mc_se,omitempty"`
	ObservedHalfGrid num.Float `json:"observed_half_grid,omitempty"`
	Warnings         []string  `json:"warnings,omitempty"`
}

var nan = num.Float(math.NaN())

// leakRounding is the size below which a negative 1 - lambda is rounding of lambda = 1.
const leakRounding = 1e-12

// GridTolerance is the relative change under grid halving above which a result warns.
const GridTolerance = 0.01

// MinBatches is the fewest Monte Carlo batches the transition takes when B > 1: with fewer,
// the chain is close to deterministic and its laws are those of the sample, not of SGD.
const MinBatches = 100

// MaxCellSteps is how many of SGD's root-mean-square steps from the minimum a grid cell may
// span. Each step's interpolation spreads a point over a cell, which adds about (h/2)^2 of
// variance against the step's own: at ten steps per cell that is 25 times the noise, and the
// grid resolves nothing of the dynamics near the minimum. Below that, the half-grid change
// judges the discretisation (the quick reproduce's double wells use cells of 1.2 to 1.6
// steps and match simulated SGD within its intervals).
const MaxCellSteps = 10

// checkResolution refuses a region whose grid cannot represent SGD's steps from start: cells
// wider than MaxCellSteps root-mean-square steps (a region of 1e100 is the extreme case),
// cells below the floating-point spacing of the coordinates (a region of 1e-300), and a
// start where every map is a fixed point (L* = 0: no noise, no escape).
func checkResolution(s Spec, mp *maps, start []float64, r Region) error {
	P := s.Obj.P()
	dst := make([]float64, mp.count()*P)
	mp.eval(start, dst)
	ms := 0.0
	for m := 0; m < mp.count(); m++ {
		for j := 0; j < P; j++ {
			d := dst[m*P+j] - start[j]
			ms += d * d / float64(mp.count())
		}
	}
	rms := math.Sqrt(ms)
	if !num.AllFinite(dst) || math.IsInf(ms, 0) {
		return fault.Invalid("SGD's steps from the minimum are not finite numbers: eta = %g is far too large for "+
			"this model", s.Eta)
	}
	if rms == 0 {
		return fault.Invalid("every SGD step from the minimum stays there (L* = 0: the model fits every sample, so " +
			"the noise vanishes): a run never leaves and the mean first-passage time is infinite")
	}
	for d := 0; d < P; d++ {
		cell := (r.Hi[d] - r.Lo[d]) / float64(s.Grid)
		scale := math.Max(math.Abs(r.Lo[d]), math.Abs(r.Hi[d]))
		switch {
		case !(cell > 0) || math.IsInf(cell, 0):
			return fault.Invalid("the region %s has no extent along theta%d: choose a larger one", r.Name, d+1)
		case cell < 1e-12*scale:
			return fault.Invalid("the region %s is too small for double precision: its grid cells (%.3g) are below "+
				"1e-12 of its coordinates (%.3g): choose a larger region", r.Name, cell, scale)
		case r.Target > 0 && r.Target < cell*math.Sqrt(float64(P))/2:
			return fault.Invalid("the exit's target, the ball of radius %.3g around the other minimum, is smaller "+
				"than the grid's cells (%.3g along theta%d): no grid node may lie in it; choose a larger radius or "+
				"more grid intervals", r.Target, cell, d+1)
		case cell > MaxCellSteps*rms:
			return fault.Invalid("the grid cannot resolve SGD's steps in the region %s: its cells are %.3g wide "+
				"along theta%d, more than %d times SGD's root-mean-square step from the minimum (%.3g): choose a "+
				"smaller region (a lower level or radius) or more grid intervals (%s)", r.Name, cell, d+1,
				MaxCellSteps, rms, needGrid(math.Ceil((r.Hi[d]-r.Lo[d])/(MaxCellSteps*rms))))
		}
	}
	return nil
}

// needGrid says how many intervals a region needs, or that it is beyond the chain's grids.
func needGrid(g float64) string {
	if g > 1<<16 {
		return fmt.Sprintf("it would need %.3g, more than the %d the chain allows", g, 1<<16)
	}
	return fmt.Sprintf("at least %.0f", g)
}

// checkResult refuses a solution that is not a mean time and a law: what a chain too close
// to stochastic for double precision (an escape too rare to resolve) produces.
func checkResult(res *Result, lawOnly bool) error {
	bad := func(x float64) bool { return !(x > 0) || math.IsInf(x, 0) }
	if !lawOnly && (bad(float64(res.MFPTSteps)) || bad(float64(res.CoarseMFPT))) {
		return fault.Invalid("the exact chain cannot resolve the exit %s: its mean first-passage time came out as "+
			"%.3g steps (%.3g t on the half grid), not a positive number: the escape is too rare for double "+
			"precision or the region too large for the grid; choose a lower level or a smaller radius", res.Region,
			float64(res.MFPTSteps), float64(res.CoarseMFPT))
	}
	if l := float64(res.Lambda); !math.IsNaN(l) && (l < 0 || l > 1) {
		return fault.Invalid("the exact chain cannot resolve the exit %s: the principal eigenvalue came out as %.17g, "+
			"outside [0, 1]: the escape is too rare for double precision; choose a lower level or a smaller radius",
			res.Region, l)
	}
	return nil
}

// Check validates the spec against the chain's limits.
func (s *Spec) Check() error {
	o := s.Obj
	if o.P() > MaxParams {
		return fault.Invalid("the exact chain handles models with at most %d parameters; %s has %d", MaxParams,
			o.Model.Spec(), o.P())
	}
	if !isMSE(o) {
		return fault.Invalid("the exact chain needs the mean-square loss")
	}
	if !(s.Eta > 0) || math.IsInf(s.Eta, 0) {
		return fault.Field("eta", fault.Invalid("eta = %v must be a positive finite number", s.Eta))
	}
	if s.Batch < 1 || s.Batch > o.N() {
		return fault.Field("batch", fault.Invalid("batch size B = %d must be between 1 and N = %d", s.Batch, o.N()))
	}
	if s.Grid < 0 || s.Grid > 1<<16 || (s.Grid > 0 && s.Grid < 8) {
		return fault.Field("grid", fault.Invalid("grid = %d intervals must be between 8 and 65536", s.Grid))
	}
	if s.Batches < 0 || s.Sets < 0 {
		return fault.Invalid("the numbers of batches and batch sets must be positive")
	}
	if s.Batch > 1 && s.Batches > 0 && s.Batches < MinBatches {
		return fault.Field("batches", fault.Invalid("batches = %d Monte Carlo batches cannot represent the law of a "+
			"batch's gradient: use at least %d (0: N)", s.Batches, MinBatches))
	}
	if s.Grid == 0 {
		s.Grid = map[int]int{1: 1000, 2: 200}[o.P()]
	}
	if s.Batches == 0 {
		s.Batches = o.N()
	}
	if s.Sets == 0 {
		s.Sets = 4
	}
	if s.Batch == 1 {
		s.Batches, s.Sets = o.N(), 1
	}
	return nil
}

// bytesFor estimates the memory of one solve on a grid of g intervals.
func (s *Spec) bytesFor(g int) int64 {
	nodes := int64(g + 1)
	if s.Obj.P() == 2 {
		nodes *= nodes
	}
	if nodes <= denseLimit {
		return memory.Floats(2, nodes, nodes)
	}
	// Compressed rows: each destination touches 4 nodes; rows aggregate, bounded by both.
	perRow := min(4*int64(s.Batches), nodes)
	return memory.Add(memory.Mul(nodes, perRow, 12), memory.Floats(80, nodes))
}

// Solve computes the mean first-passage time from start out of the region, the escape rate
// and the quasi-stationary law, on the spec's grid and on the half grid.
func Solve(ctx context.Context, s Spec, start []float64, r Region) (*Result, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	lim := memory.Limit{Cap: s.MaxBytes}
	if err := lim.Check(fmt.Sprintf("the exact chain on a grid of %d intervals", s.Grid),
		s.bytesFor(s.Grid)); err != nil {
		return nil, err
	}
	if s.LawOnly && s.Observable == nil {
		return nil, fault.Invalid("the law alone needs an observable to report")
	}
	if !r.Inside()(start) {
		return nil, fault.Invalid("the start point is not inside the region %s", r.Name)
	}
	res := &Result{Level: r.Level, Region: r.Name, Grid: s.Grid}
	var mfpts, obs []float64
	var coarseObs float64
	for set := 0; set < s.Sets; set++ {
		mp := newMaps(s.Obj, s.Eta, s.Batch, s.Batches, s.Seed+uint64(set))
		if set == 0 {
			if err := checkResolution(s, mp, start, r); err != nil {
				return nil, err
			}
		}
		var guess *solution
		if set == 0 {
			// The half grid first: its solution starts the fine grid's solvers.
			coarse, err := solveGrid(ctx, s, mp, start, r, s.Grid/2, true, nil)
			if err != nil {
				return nil, err
			}
			guess = coarse
			res.CoarseMFPT = coarse.res.MFPTSteps * num.Float(s.Eta)
			coarseObs = coarse.observe(s.Observable)
		}
		fine, err := solveGrid(ctx, s, mp, start, r, s.Grid, set == 0 || s.Observable != nil, guess)
		if err != nil {
			return nil, err
		}
		if set == 0 {
			coarse := res.CoarseMFPT
			*res = *fine.res
			res.CoarseMFPT = coarse
			res.GridChange = num.Float(math.Abs(float64(fine.res.MFPTSteps)*s.Eta-float64(coarse)) /
				(float64(fine.res.MFPTSteps) * s.Eta))
		}
		mfpts = append(mfpts, float64(fine.res.MFPTSteps))
		obs = append(obs, fine.observe(s.Observable))
	}
	if len(mfpts) > 1 {
		m, se := meanSE(mfpts)
		res.MFPTSteps, res.MFPTSE = num.Float(m), num.Float(se*s.Eta)
	}
	if s.Observable != nil {
		m, se := meanSE(obs)
		res.Observed, res.ObservedSE, res.ObservedHalfGrid = num.Float(m), num.Float(se), num.Float(coarseObs)
		if s.LawOnly {
			res.GridChange = num.Float(math.Abs(obs[0]-coarseObs) / math.Abs(obs[0]))
		}
	}
	res.MFPT = res.MFPTSteps * num.Float(s.Eta)
	if err := checkResult(res, s.LawOnly); err != nil {
		return nil, err
	}
	if res.GridChange > GridTolerance {
		what := "the MFPT"
		if s.LawOnly {
			what = "the observable's mean"
		}
		res.Warnings = append(res.Warnings, fmt.Sprintf("halving the grid changes %s by %.2g%% (> %.0f%%): "+
			"refine the grid", what, 100*res.GridChange, 100*GridTolerance))
	}
	if res.LeaveBox > 1e-3 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%.2g of the probability leaves the box before the exit (a "+
			"jump far away, or a divergence)", res.LeaveBox))
	}
	return res, nil
}

// meanSE is the mean of x and its standard error (0 for one value).
func meanSE(x []float64) (float64, float64) {
	m, v := 0.0, 0.0
	for _, v := range x {
		m += v / float64(len(x))
	}
	if len(x) < 2 {
		return m, 0
	}
	for _, y := range x {
		v += (y - m) * (y - m) / float64(len(x)-1)
	}
	return m, math.Sqrt(v / float64(len(x)))
}

// observe is the mean of f over the solution's quasi-stationary law (NaN without f).
func (s *solution) observe(f func([]float64) float64) float64 {
	if f == nil || s.pi == nil {
		return math.NaN()
	}
	sum, den := 0.0, 0.0
	for i, p := range s.pi {
		sum += p * f(s.gr.point(i))
		den += p
	}
	return sum / den
}

// solution is a grid's result with its grid functions, to start a finer grid's solvers.
type solution struct {
	res      *Result
	gr       *grid
	T, q, pi []float64
}

// at interpolates a grid function of the solution onto the nodes of another grid.
func (s *solution) at(g *grid, v []float64) []float64 {
	out := make([]float64, g.size())
	for i := range out {
		out[i] = s.gr.interp(v, g.point(i))
	}
	return out
}

// solveGrid solves on one grid; withLaw adds the quasi-stationary law and its eigenvalue;
// guess, when set, is a coarser solution whose interpolation starts the solvers.
func solveGrid(ctx context.Context, s Spec, mp *maps, start []float64, r Region, g int, withLaw bool,
	guess *solution) (*solution, error) {
	lo, hi := r.Lo, r.Hi
	for d := 0; d < s.Obj.P(); d++ {
		off := r.Shift * (hi[d] - lo[d]) / float64(g)
		lo[d], hi[d] = lo[d]+off, hi[d]+off
	}
	gr := newGrid(s.Obj.P(), lo, hi, g, r.Inside())
	n := gr.size()
	if n == 0 {
		return nil, fault.Invalid("no grid node lies inside the region %s: refine the grid", r.Name)
	}
	t, err := buildTransition(ctx, gr, mp, r.Inside, max(s.Workers, 1))
	if err != nil {
		return nil, err
	}
	res := &Result{Level: r.Level, Region: r.Name, Unknowns: n, Grid: g, Lost: t.lost, Entries: t.entries()}
	T, q := make([]float64, n), make([]float64, n)
	if guess != nil {
		T, q = guess.at(gr, guess.T), guess.at(gr, guess.q)
	}
	ones := make([]float64, n)
	for i := range ones {
		ones[i] = 1
	}
	var lu *mat.LU // the factors of I - K on small (dense) grids, also for the law
	switch {
	case s.LawOnly:
		for i := range T {
			T[i] = 1
		}
		res.MFPTSteps = num.Float(math.NaN())
		if t.dense != nil && withLaw {
			lu = denseLU(t)
		}
	case t.dense != nil:
		lu = denseLU(t)
		if res.Residual, err = luSolve(t, lu, [][]float64{ones, t.boxOut}, [][]float64{T, q}); err != nil {
			return nil, err
		}
	default:
		if res.Residual, res.Products, err = krylovSolve(t, ones, T, q); err != nil {
			return nil, fmt.Errorf("the mean first-passage time (%d unknowns): %w", n, err)
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if !s.LawOnly {
		res.MFPTSteps = num.Float(gr.interp(T, start))
		res.LeaveBox = gr.interp(q, start)
	}
	sol := &solution{res: res, gr: gr, T: T, q: q}
	if withLaw {
		pi := make([]float64, n)
		for i := range pi {
			pi[i] = T[i] // a positive start close to the principal direction
		}
		if guess != nil && guess.pi != nil {
			// The coarse law's density, at the fine nodes (masses scale with the cell).
			pi = guess.at(gr, guess.pi)
		}
		var leak, rel float64
		var k int
		err := errNotConverged
		if lu != nil {
			start := slices.Clone(pi)
			if leak, rel, k, err = lawByInverseIteration(lu, t, pi); err != nil {
				copy(pi, start)
			}
		}
		if err != nil {
			var lambda float64
			var k2 int
			lambda, rel, k2, err = dominant(t.applyT, pi, 40, 1e-10, 4000)
			leak, k = 1-lambda, k+k2
		}
		res.Products += k
		// lambda = 1 to double precision: the law stands, the escape per step is below resolution.
		belowRounding := err == nil && leak < 0 && leak > -leakRounding
		if err == nil && !belowRounding && !(leak >= 0 && leak <= 1) {
			err = fmt.Errorf("1 - lambda = %.3g is not a probability", leak)
		}
		if err != nil && s.LawOnly {
			return nil, fmt.Errorf("the quasi-stationary law: %w (residual %.2g)", err, rel)
		}
		if err != nil {
			// The mean time stands on its own; the law and the rate are not measured.
			res.Lambda, res.EigResidual, res.RatePerStep, res.Rate = nan, nan, nan, nan
			res.Warnings = append(res.Warnings, fmt.Sprintf("the quasi-stationary law was not found (%v, residual "+
				"%s): the escape rate is not measured", err, finiteOr(rel, "%.2g", "not finite")))
			return sol, nil
		}
		res.Lambda, res.EigResidual = num.Float(1-leak), num.Float(rel)
		res.RatePerStep = num.Float(leak)
		res.Rate = num.Float(-math.Log1p(-leak) / s.Eta)
		switch {
		case belowRounding:
			res.Lambda, res.RatePerStep, res.Rate = 1, nan, nan
			res.Warnings = append(res.Warnings, fmt.Sprintf("the escape probability per step is below double-precision "+
				"resolution (1 - lambda came out as %.2g): the escape rate is not measured; the law stands", leak))
		case leak == 1:
			// lambda = 0: every step leaves the region, and -log(lambda) has no finite value.
			res.Rate = nan
			res.Warnings = append(res.Warnings, "every step leaves the region (lambda = 0): the escape is certain "+
				"at the first step, and the rate per unit t, -log(lambda)/eta, is not finite")
		}
		cell := gr.cellMeasure()
		for i := range pi {
			res.Density = append(res.Density, DensityPoint{Theta: append([]float64(nil), gr.point(i)...),
				Density: pi[i] / cell})
		}
		sol.pi = pi
	}
	return sol, nil
}

// denseLU factorises I - K of a dense transition.
func denseLU(t *transition) *mat.LU {
	n := t.n
	a := mat.NewDense(n, n, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			v := -t.dense[i*n+j]
			if i == j {
				v++
			}
			a.Set(i, j, v)
		}
	}
	var lu mat.LU
	lu.Factorize(a)
	return &lu
}

// lawByInverseIteration computes the quasi-stationary law (the principal left eigenvector of
// K, summing to 1, in pi) by inverse iteration with the factors of I - K: for the eigenvector
// x = (I - K^T)^-1 pi = pi / (1 - lambda), so the leak 1 - lambda = sum pi / sum x comes
// without cancellation, and the iteration converges at the rate (1 - lambda_1) / (1 - lambda_2),
// within a few steps when escapes are rare (where the Arnoldi iteration on K is slowest). It
// returns the leak, the residual |K^T pi - lambda pi| / |pi| and the iterations.
func lawByInverseIteration(lu *mat.LU, t *transition, pi []float64) (float64, float64, int, error) {
	n := t.n
	x, w := make([]float64, n), make([]float64, n)
	sum := 0.0
	for _, v := range pi {
		sum += v
	}
	for i := range pi {
		pi[i] /= sum
	}
	leak, rel := math.NaN(), math.Inf(1)
	for k := 1; k <= 100; k++ {
		if err := lu.SolveVecTo(mat.NewVecDense(n, x), true, mat.NewVecDense(n, pi)); err != nil {
			return leak, rel, k, err
		}
		sx := 0.0
		for _, v := range x {
			sx += v
		}
		leak = 1 / sx // sum pi = 1
		for i := range pi {
			pi[i] = x[i] / sx
		}
		t.applyT(pi, w)
		r := 0.0
		for i := range w {
			d := w[i] - (1-leak)*pi[i]
			r += d * d
		}
		if rel = math.Sqrt(r) / norm(pi); rel <= 1e-10 && leak > 0 {
			return leak, rel, k, nil
		}
	}
	return leak, rel, 100, errNotConverged
}

// krylovSolve solves (I - K) T = 1 and (I - K) q = boxOut by restarted GMRES; when that
// stalls (an eigenvalue of K within about 1e-4 of 1: a rare escape) it deflates the principal
// eigenpair and solves again. It returns the MFPT solve's relative residual and the products.
func krylovSolve(t *transition, ones, T, q []float64) (float64, int, error) {
	T0, q0 := slices.Clone(T), slices.Clone(q)
	r1, k1, err1 := gmres(t.apply, ones, T, 60, 1e-9, 2000)
	_, k2, err2 := gmres(t.apply, t.boxOut, q, 60, 1e-9, 2000)
	if err1 == nil && err2 == nil {
		return r1, k1 + k2, nil
	}
	products := k1 + k2
	phi := make([]float64, len(T))
	psi := make([]float64, len(T))
	for i := range phi {
		phi[i], psi[i] = 1, 1
	}
	lambda, _, k, err := dominant(t.apply, phi, 40, 1e-12, 8000)
	products += k
	if err != nil {
		return math.Inf(1), products, fmt.Errorf("the principal right eigenvector for deflation: %w", err)
	}
	if _, _, k, err = dominant(t.applyT, psi, 40, 1e-12, 8000); err != nil {
		return math.Inf(1), products + k, fmt.Errorf("the principal left eigenvector for deflation: %w", err)
	}
	products += k
	copy(T, T0)
	copy(q, q0)
	r1, k1, err = deflatedSolve(t.apply, phi, psi, lambda, ones, T, 60, 1e-10, 20000)
	products += k1
	if err != nil {
		return r1, products, err
	}
	if dot(t.boxOut, t.boxOut) > 0 {
		_, k2, err = deflatedSolve(t.apply, phi, psi, lambda, t.boxOut, q, 60, 1e-10, 20000)
		products += k2
	} else {
		clear(q)
	}
	return r1, products, err
}

// luSolve solves (I - K) x_k = b_k for the dense K by one LU factorisation and returns the
// largest relative residual.
func luSolve(t *transition, lu *mat.LU, bs, xs [][]float64) (float64, error) {
	n := t.n
	worst := 0.0
	y := make([]float64, n)
	for k, b := range bs {
		x := mat.NewVecDense(n, xs[k])
		if err := lu.SolveVecTo(x, false, mat.NewVecDense(n, b)); err != nil {
			return 0, fault.Invalid("the chain's linear system is singular (%v): part of the region traps the chain "+
				"forever (with B > 1: none of the Monte Carlo batches leads out of it; raise --batches)", err)
		}
		t.apply(xs[k], y)
		bn, rn := norm(b), 0.0
		for i := range y {
			d := b[i] - (xs[k][i] - y[i])
			rn += d * d
		}
		if bn > 0 {
			worst = math.Max(worst, math.Sqrt(rn)/bn)
		}
	}
	return worst, nil
}

// finiteOr formats x, or says instead when it is not a finite number.
func finiteOr(x float64, format, instead string) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return instead
	}
	return fmt.Sprintf(format, x)
}
