package chain

import (
	"fmt"
	"math"

	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/model"
)

// LossRegion is D = {theta : L(theta) <= c L*}, the region a loss exit leaves, with a box
// around its part that contains start: in one dimension exactly the interval [a, b] (so the
// grid's end nodes lie on the boundary), in two the bounding box of the boundary points
// found along 720 rays from start, widened by one percent. newLand makes a loss evaluator
// per goroutine. A region that is not bounded within rmax of start is an error.
func LossRegion(newLand func() model.Landscape, start []float64, lstar, c, rmax float64) (Region, error) {
	thr := c * lstar
	r := Region{Name: fmt.Sprintf("L <= %g L*", c), Level: c}
	if !(thr > 0) || math.IsInf(thr, 0) || !(rmax > 0) || math.IsInf(rmax, 0) {
		return r, fault.Invalid("the region %s needs a finite positive level (c L* = %g) and reach (%g)", r.Name,
			thr, rmax)
	}
	r.Inside = func() func([]float64) bool {
		land := newLand()
		return func(th []float64) bool {
			l := land.LossGrad(th, nil)
			return l <= thr
		}
	}
	in := r.Inside()
	p := len(start)
	edge := func(dir []float64) (float64, bool) {
		x := make([]float64, p)
		at := func(s float64) bool {
			for i := range x {
				x[i] = start[i] + s*dir[i]
			}
			return in(x)
		}
		lo, hi := 0.0, 1e-3*math.Max(1, rmax*1e-3)
		for at(hi) {
			lo, hi = hi, 2*hi
			if !(hi <= rmax) {
				return 0, false
			}
		}
		for range 200 {
			mid := 0.5 * (lo + hi)
			if at(mid) {
				lo = mid
			} else {
				hi = mid
			}
		}
		return lo, true // the last point inside
	}
	unbounded := func() error {
		return fault.Invalid("the region %s is not bounded within %.4g of the minimum: choose a lower level or "+
			"a smaller radius", r.Name, rmax)
	}
	if p == 1 {
		a, okA := edge([]float64{-1})
		b, okB := edge([]float64{1})
		if !okA || !okB {
			return r, unbounded()
		}
		r.Lo, r.Hi = [2]float64{start[0] - a}, [2]float64{start[0] + b}
		return r, nil
	}
	r.Lo, r.Hi = [2]float64{start[0], start[1]}, [2]float64{start[0], start[1]}
	for k := 0; k < 720; k++ {
		phi := 2 * math.Pi * float64(k) / 720
		dir := []float64{math.Cos(phi), math.Sin(phi)}
		s, ok := edge(dir)
		if !ok {
			return r, unbounded()
		}
		for d := 0; d < 2; d++ {
			v := start[d] + s*dir[d]
			r.Lo[d], r.Hi[d] = math.Min(r.Lo[d], v), math.Max(r.Hi[d], v)
		}
	}
	for d := 0; d < 2; d++ {
		w := 0.01 * (r.Hi[d] - r.Lo[d])
		r.Lo[d], r.Hi[d] = r.Lo[d]-w, r.Hi[d]+w
	}
	return r, nil
}

// BallRegion is the ball |theta - center| <= radius (a ball exit), boxed exactly.
func BallRegion(center []float64, radius float64) Region {
	r := Region{Name: fmt.Sprintf("|theta - theta*| <= %g", radius), Level: 1}
	r.Inside = func() func([]float64) bool { return func(th []float64) bool { return dist(th, center) <= radius } }
	for d := range center {
		r.Lo[d], r.Hi[d] = center[d]-radius, center[d]+radius
	}
	return r
}

// WellRegion is everything outside the ball of the given radius around the other minimum (a
// well exit: the run ends on entering it). The box holds both minima with a margin of
// margin times their distance on every side; a run that jumps out of it is counted apart.
func WellRegion(start, other []float64, radius, margin float64) Region {
	r := Region{Name: fmt.Sprintf("outside the ball of radius %.4g around the other minimum", radius), Level: 1,
		Shift: irrational, Target: radius}
	r.Inside = func() func([]float64) bool { return func(th []float64) bool { return dist(th, other) > radius } }
	span := margin * dist(start, other)
	for d := range start {
		r.Lo[d], r.Hi[d] = math.Min(start[d], other[d])-span, math.Max(start[d], other[d])+span
	}
	return r
}

// SurfaceRegion is the half space (theta - saddle) . normal <= 0 on the minimum's side (a
// surface exit), boxed around the minimum and the saddle with the given margin.
func SurfaceRegion(start, saddle, normal []float64, margin float64) Region {
	n := append([]float64(nil), normal...)
	s := 0.0
	for i := range n {
		s += n[i] * (saddle[i] - start[i])
	}
	if s < 0 {
		for i := range n {
			n[i] = -n[i]
		}
	}
	r := Region{Name: "the minimum's side of the surface through the saddle", Level: 1, Shift: irrational}
	r.Inside = func() func([]float64) bool {
		return func(th []float64) bool {
			d := 0.0
			for i := range th {
				d += (th[i] - saddle[i]) * n[i]
			}
			return d <= 0
		}
	}
	span := margin * dist(start, saddle)
	for d := range start {
		r.Lo[d], r.Hi[d] = math.Min(start[d], saddle[d])-span, math.Max(start[d], saddle[d])+span
	}
	return r
}

// irrational is the grid shift of regions that contain a saddle: half the golden section of
// a cell, so that no node of any grid lands on the saddle.
const irrational = 0.30901699437494745

func dist(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += (a[i] - b[i]) * (a[i] - b[i])
	}
	return math.Sqrt(s)
}
