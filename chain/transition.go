package chain

import (
	"context"
	"sync"

	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/internal/workpool"
)

// transition is the chain's one-step operator restricted to the unknowns (the nodes inside
// D): K[i][j] is the probability mass that one step from node i puts on node j through the
// interpolation stencil of its destination. Rows sum to less than one: the rest leaves D
// (the exit) or the box. It is stored densely for small grids and as compressed rows
// (duplicates summed) otherwise.
type transition struct {
	n       int
	dense   []float64 // n x n, or nil
	rowPtr  []int64   // compressed rows when dense is nil
	col     []int32
	val     []float64
	exitOut []float64 // per unknown: probability of leaving D in one step (inside the box)
	boxOut  []float64 // per unknown: probability of leaving the box in one step
	lost    int64     // destinations inside D with no interpolation node inside D
	workers int       // goroutines of a product
	// The compressed rows of K^T, built on first use.
	tPtr []int64
	tCol []int32
	tVal []float64
}

// denseLimit is the largest number of unknowns stored densely.
const denseLimit = 4096

// buildTransition evaluates every map at every unknown on workers goroutines.
func buildTransition(ctx context.Context, g *grid, mp *maps, newInside func() func([]float64) bool,
	workers int) (*transition, error) {
	n, M, P := g.size(), mp.count(), g.p
	t := &transition{n: n, exitOut: make([]float64, n), boxOut: make([]float64, n), workers: workers}
	if n <= denseLimit {
		t.dense = make([]float64, n*n)
	}
	rows := make([][]int32, n)
	vals := make([][]float64, n)
	type scratch struct {
		mp     *maps
		inside func([]float64) bool
		dst    []float64
		acc    []float64 // dense row accumulator
		seen   []int32
	}
	pool := sync.Pool{New: func() any {
		s := &scratch{mp: mp.clone(), inside: newInside(), dst: make([]float64, M*P)}
		if t.dense == nil {
			s.acc = make([]float64, n)
		}
		return s
	}}
	var mu sync.Mutex
	inv := 1 / float64(M)
	err := workpool.Each(ctx, n, workers, func(i int) error {
		s := pool.Get().(*scratch)
		defer pool.Put(s)
		s.mp.eval(g.point(i), s.dst)
		var idx [4]int32
		var w [4]float64
		row := s.acc
		if t.dense != nil {
			row = t.dense[i*n : (i+1)*n]
		}
		var exit, box float64
		lost := int64(0)
		for m := 0; m < M; m++ {
			x := s.dst[m*P : (m+1)*P]
			if !s.inside(x) {
				exit += inv
				continue
			}
			k := g.stencil(x, &idx, &w)
			switch {
			case k < 0:
				box += inv
				continue
			case k == 0:
				lost++
				exit += inv
				continue
			}
			for j := 0; j < k; j++ {
				if t.dense == nil && row[idx[j]] == 0 {
					s.seen = append(s.seen, idx[j])
				}
				row[idx[j]] += w[j] * inv
			}
		}
		t.exitOut[i], t.boxOut[i] = exit, box
		if t.dense == nil {
			cols := make([]int32, len(s.seen))
			vs := make([]float64, len(s.seen))
			for j, c := range s.seen {
				cols[j], vs[j] = c, row[c]
				row[c] = 0
			}
			s.seen = s.seen[:0]
			rows[i], vals[i] = cols, vs
		}
		if lost > 0 {
			mu.Lock()
			t.lost += lost
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if t.dense == nil {
		t.rowPtr = make([]int64, n+1)
		for i := range rows {
			t.rowPtr[i+1] = t.rowPtr[i] + int64(len(rows[i]))
		}
		t.col = make([]int32, 0, t.rowPtr[n])
		t.val = make([]float64, 0, t.rowPtr[n])
		for i := range rows {
			t.col, t.val = append(t.col, rows[i]...), append(t.val, vals[i]...)
		}
	}
	return t, nil
}

// apply writes K x into y.
func (t *transition) apply(x, y []float64) { t.gather(t.rowPtr, t.col, t.val, false, x, y) }

// applyT writes K^T x into y (the evolution of a distribution over the unknowns).
func (t *transition) applyT(x, y []float64) {
	if t.dense == nil && t.tPtr == nil {
		t.transpose()
	}
	t.gather(t.tPtr, t.tCol, t.tVal, true, x, y)
}

// gather computes y[i] = sum_j A[i][j] x[j] for the compressed rows given (or the dense
// matrix, transposed when trans), rows split over the workers: each y[i] is one goroutine's
// sum in a fixed order, so the result does not depend on the number of workers.
func (t *transition) gather(ptr []int64, col []int32, val []float64, trans bool, x, y []float64) {
	n := t.n
	rows := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			s := 0.0
			switch {
			case t.dense != nil && !trans:
				for j, v := range t.dense[i*n : (i+1)*n] {
					s += v * x[j]
				}
			case t.dense != nil:
				for j := 0; j < n; j++ {
					s += t.dense[j*n+i] * x[j]
				}
			default:
				for p := ptr[i]; p < ptr[i+1]; p++ {
					s += val[p] * x[col[p]]
				}
			}
			y[i] = s
		}
	}
	w := t.workers
	if w <= 1 || n < 256 {
		rows(0, n)
		return
	}
	var grp fault.Group
	per := (n + w - 1) / w
	for lo := 0; lo < n; lo += per {
		grp.Go(func() { rows(lo, min(lo+per, n)) })
	}
	grp.Wait()
}

// transpose builds the compressed columns (the rows of K^T) once.
func (t *transition) transpose() {
	n := t.n
	t.tPtr = make([]int64, n+1)
	for _, c := range t.col {
		t.tPtr[c+1]++
	}
	for i := 0; i < n; i++ {
		t.tPtr[i+1] += t.tPtr[i]
	}
	t.tCol, t.tVal = make([]int32, len(t.col)), make([]float64, len(t.val))
	next := append([]int64(nil), t.tPtr[:n]...)
	for i := 0; i < n; i++ {
		for p := t.rowPtr[i]; p < t.rowPtr[i+1]; p++ {
			c := t.col[p]
			t.tCol[next[c]], t.tVal[next[c]] = int32(i), t.val[p]
			next[c]++
		}
	}
}

// entries is the number of stored nonzeros (for memory reports).
func (t *transition) entries() int64 {
	if t.dense != nil {
		return int64(t.n) * int64(t.n)
	}
	return t.rowPtr[t.n]
}
