// Package escape runs ensembles of SGD (or any of its SDE models) from a minimum until
// they escape, and estimates escape rates and mean first-passage times with censoring
// (docs/theory.md, "Escape"). Run i of an ensemble uses the generator seed.Stream(seed, i) alone,
// so results are identical for any number of workers or shards.
package escape

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/internal/specstr"
	"github.com/sgdlab/sgdlab/landscape"
	"github.com/sgdlab/sgdlab/model"
)

// Exit decides when a run has escaped. An exit may track several nested levels at once
// (loss thresholds c_1 < c_2 < ...): Crossed returns how many of the first levels are
// exceeded now; the first time a level is exceeded is its first-passage time.
type Exit interface {
	Describe() string
	Levels() []float64 // level values (c for loss exits; one level 1 otherwise)
	Every() int64      // check every this many steps
	// Crossed reports how many levels are exceeded at theta (finite); loss evaluates L(theta)
	// lazily. It returns -1 when the loss it needs is not finite (a diverged run).
	Crossed(theta []float64, loss func() float64) int
}

// ExitSpec is a parsed --exit flag; New makes a per-run Exit (with its own buffers).
type ExitSpec struct {
	Kind  string    // loss, basin, ball, surface
	C     []float64 // loss levels
	R     float64   // ball radius
	Check int64     // check period
}

// ParseExit parses loss:c=2 | loss:c=1.5,2,3 | basin[:every=100] | ball:r=0.5 | surface |
// well[:r=0.5], each optionally with every=K (the check period in steps). well is the
// committed transition: the first entry into the ball around the other minimum theta_B of
// radius r |theta_B - theta_s|. Errors are of class fault.ErrInvalid.
func ParseExit(s string) (ExitSpec, error) {
	e, err := parseExit(s)
	return e, fault.AsInvalid(err)
}

func parseExit(s string) (ExitSpec, error) {
	sp, err := specstr.Parse("exit", s)
	if err != nil {
		return ExitSpec{}, err
	}
	e := ExitSpec{Kind: sp.Name, Check: 1}
	if e.Kind == "basin" {
		e.Check = 100
	}
	if e.Check, err = sp.Int("every", e.Check, 1, 1<<40); err != nil {
		return e, err
	}
	switch e.Kind {
	case "loss":
		if e.C, err = sp.Floats("c", 1, 1e300); err != nil {
			return e, err
		}
		if len(e.C) == 0 {
			return e, sp.Errorf("needs thresholds: loss:c=2 or loss:c=1.5,2,3")
		}
		for _, c := range e.C {
			if !(c > 1) {
				return e, sp.Errorf("threshold c = %v must be > 1 (a run starts at L = L*, so c <= 1 is crossed at "+
					"once)", c)
			}
		}
		sort.Float64s(e.C)
		for i := 1; i < len(e.C); i++ {
			if e.C[i] == e.C[i-1] {
				return e, sp.Errorf("threshold c = %v is given twice: give each level once", e.C[i])
			}
		}
	case "ball":
		if e.R, err = sp.Float("r", 0, 1e-300, 1e300); err != nil {
			return e, err
		}
		if e.R == 0 {
			return e, sp.Errorf("needs a radius: ball:r=0.5")
		}
	case "well":
		if e.R, err = sp.Float("r", 0.5, 1e-300, 1); err != nil {
			return e, err
		}
		if e.R >= 1 {
			return e, sp.Errorf("the radius fraction r must be below 1 (the ball must not reach the saddle)")
		}
	case "basin", "surface":
	default:
		return e, fmt.Errorf("unknown exit %q: use loss:c=C, basin[:every=K], ball:r=R, surface or well[:r=0.5]",
			sp.Name)
	}
	return e, sp.Done()
}

// String is the canonical spec of the exit (levels sorted, defaults omitted): equal exits
// have equal strings, which store keys rely on.
func (e ExitSpec) String() string {
	s := e.Kind
	switch e.Kind {
	case "loss":
		cs := make([]string, len(e.C))
		for i, c := range e.C {
			cs[i] = strconv.FormatFloat(c, 'g', -1, 64)
		}
		s += ":c=" + strings.Join(cs, ",")
	case "ball", "well":
		s += ":r=" + strconv.FormatFloat(e.R, 'g', -1, 64)
	}
	def := int64(1)
	if e.Kind == "basin" {
		def = 100
	}
	if e.Check != def {
		s += fmt.Sprintf(",every=%d", e.Check)
		if e.Kind == "basin" || e.Kind == "surface" {
			s = strings.Replace(s, ",every", ":every", 1)
		}
	}
	return s
}

// Levels returns the levels the exit reports (the c values of a loss exit, else one level 1).
func (e ExitSpec) Levels() []float64 {
	if e.Kind == "loss" {
		return e.C
	}
	return []float64{1}
}

// Context is what exits need to know about the minimum (and, for surface, the saddle).
type Context struct {
	Obj       *model.Objective
	ThetaStar []float64
	LStar     float64
	NewLand   func() model.Landscape
	LambdaMax float64 // largest Hessian eigenvalue at theta* (step of the basin test's gradient flow)
	// SaddleTheta and SaddleDir define the dividing surface (theta - theta_s) . n = 0, with n
	// the negative-curvature direction oriented away from the minimum.
	SaddleTheta, SaddleDir []float64
	// OtherMin is the minimum beyond the saddle (for the well exit).
	OtherMin []float64
}

// New returns an Exit for one run.
func (e ExitSpec) New(c Context) (Exit, error) {
	switch e.Kind {
	case "loss":
		if !(c.LStar > 0) {
			return nil, fault.Invalid("exit %s: L* = %g at the minimum, so the threshold c L* is zero and "+
				"the first step would count as an escape; use ball:r=... (or well with the other minimum)", e, c.LStar)
		}
		thr := make([]float64, len(e.C))
		for i, cl := range e.C {
			thr[i] = cl * c.LStar
		}
		return &lossExit{c: e.C, thr: thr, lstar: c.LStar, every: e.Check}, nil
	case "ball":
		return &ballExit{r: e.R, center: c.ThetaStar, every: e.Check}, nil
	case "basin":
		in := landscape.Basin(c.Obj, c.NewLand, c.ThetaStar, c.LambdaMax)
		if in == nil {
			return nil, fault.Invalid(
				"exit basin: the loss of %s is quadratic, so there is no other basin to escape to; use loss:c=... "+
					"or ball:r=...",
				c.Obj.Model.Spec(),
			)
		}
		return &basinExit{in: in, every: e.Check}, nil
	case "well":
		if c.OtherMin == nil || c.SaddleTheta == nil {
			return nil, fault.Invalid("exit well needs the other minimum and the saddle between them")
		}
		d := 0.0
		for i := range c.OtherMin {
			d += (c.OtherMin[i] - c.SaddleTheta[i]) * (c.OtherMin[i] - c.SaddleTheta[i])
		}
		return &ballExit{r: e.R * math.Sqrt(d), center: c.OtherMin, every: e.Check, inside: true}, nil
	case "surface":
		if c.SaddleTheta == nil {
			return nil, fault.Invalid("exit surface needs the saddle (found from the other minimum)")
		}
		n := append([]float64(nil), c.SaddleDir...)
		s := 0.0
		for i := range n {
			s += n[i] * (c.SaddleTheta[i] - c.ThetaStar[i])
		}
		if s < 0 {
			for i := range n {
				n[i] = -n[i]
			}
		}
		return &surfaceExit{x: c.SaddleTheta, n: n, every: e.Check}, nil
	}
	return nil, fmt.Errorf("unknown exit %q", e.Kind)
}

type lossExit struct {
	c     []float64
	thr   []float64 // c L*, ascending
	lstar float64
	every int64
}

func (l *lossExit) Describe() string {
	return fmt.Sprintf("first time L(theta) > c L* (L* = %.6g), c in %v, checked every %d step(s)", l.lstar, l.c,
		l.every)
}
func (l *lossExit) Levels() []float64 { return l.c }
func (l *lossExit) Every() int64      { return l.every }
func (l *lossExit) Crossed(theta []float64, loss func() float64) int {
	v := loss()
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return -1
	}
	n := 0
	for n < len(l.thr) && v > l.thr[n] {
		n++
	}
	return n
}

// ballExit fires on leaving the ball around center, or with inside set on entering it.
type ballExit struct {
	r      float64
	center []float64
	every  int64
	inside bool
}

func (b *ballExit) Describe() string {
	if b.inside {
		return fmt.Sprintf(
			"first entry into the ball of radius %.4g around the other minimum (a committed transition), checked "+
				"every %d step(s)",
			b.r,
			b.every,
		)
	}
	return fmt.Sprintf("first time |theta - theta*| > %g, checked every %d step(s)", b.r, b.every)
}
func (b *ballExit) Levels() []float64 { return []float64{b.r} }
func (b *ballExit) Every() int64      { return b.every }
func (b *ballExit) Crossed(theta []float64, _ func() float64) int {
	s := 0.0
	for i, v := range theta {
		s += (v - b.center[i]) * (v - b.center[i])
	}
	if (s > b.r*b.r) != b.inside {
		return 1
	}
	return 0
}

type basinExit struct {
	in    func([]float64) bool
	every int64
}

func (b *basinExit) Describe() string {
	return fmt.Sprintf(
		"descent from theta no longer ends at theta* (checked every %d steps; the time is that of the first "+
			"failing check)",
		b.every,
	)
}
func (b *basinExit) Levels() []float64 { return []float64{1} }
func (b *basinExit) Every() int64      { return b.every }
func (b *basinExit) Crossed(theta []float64, _ func() float64) int {
	if b.in(theta) {
		return 0
	}
	return 1
}

type surfaceExit struct {
	x, n  []float64
	every int64
}

func (s *surfaceExit) Describe() string {
	return fmt.Sprintf(
		"first crossing of the hyperplane through the saddle normal to its unstable direction (checked every %d "+
			"step(s)); about half the time to commit to the other basin",
		s.every,
	)
}
func (s *surfaceExit) Levels() []float64 { return []float64{1} }
func (s *surfaceExit) Every() int64      { return s.every }
func (s *surfaceExit) Crossed(theta []float64, _ func() float64) int {
	d := 0.0
	for i, v := range theta {
		d += (v - s.x[i]) * s.n[i]
	}
	if d > 0 {
		return 1
	}
	return 0
}
