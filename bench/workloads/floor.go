package main

import (
	"math/bits"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/sgdlab/sgdlab/seed"
)

// The machine floor of workloads 4 and 5: the same computation written as the shortest Go
// loop we know (theta held in a register, everything inlined, one incremental Fisher-Yates
// swap in an own copy of the packed rows per sample, the loss threshold as an inline
// quadratic). It is not sgdlab (no exits, observers, budgets, divergence checks or stores)
// and serves only to show how far the targets of BENCHMARKS.md are from what this machine
// can do at all.

// floorChain performs steps SGD steps of 1-D regression (packed rows [x, y]) with batch b
// and epoch sampling from theta, stopping early (returning the steps done) the first time
// the loss 0.5 (C theta^2 - 2 Bv theta + S) exceeds thr; sample is called every 100 steps.
func floorChain(rows []float64, stream uint64, b int, eta, theta float64, steps int, mom [3]float64, thr float64,
	sample func(float64)) int {
	own := append([]float64(nil), rows...)
	n := len(own) / 2
	src := rand.NewPCG(stream, 1)
	pos, end := 0, n/b*b
	c, bv, s := mom[0], mom[1], mom[2]
	for k := 1; k <= steps; k++ {
		g := 0.0
		for range b {
			if pos == end {
				pos = 0
			}
			j := pos + int(seed.Below(src, uint64(n-pos)))
			own[2*pos], own[2*j] = own[2*j], own[2*pos]
			own[2*pos+1], own[2*j+1] = own[2*j+1], own[2*pos+1]
			x, y := own[2*pos], own[2*pos+1]
			pos++
			g += (theta*x - y) * x
		}
		theta -= eta * g / float64(b)
		if 0.5*(c*theta*theta-2*bv*theta+s) > thr {
			return k
		}
		if sample != nil && k%100 == 0 {
			sample(theta)
		}
	}
	return steps
}

// moments returns C, Bv, S and the minimiser of 1-D regression data.
func moments(rows []float64) ([3]float64, float64) {
	var m [3]float64
	n := float64(len(rows) / 2)
	for i := 0; i < len(rows); i += 2 {
		x, y := rows[i], rows[i+1]
		m[0] += x * x / n
		m[1] += x * y / n
		m[2] += y * y / n
	}
	return m, m[1] / m[0]
}

// floorW4 runs 100 escapes to L > 2 L* over workers goroutines and returns the run-steps.
func floorW4(rows []float64, workers int) int64 {
	mom, th := moments(rows)
	lstar := 0.5 * (mom[0]*th*th - 2*mom[1]*th + mom[2])
	var total int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var steps int64
			for r := w; r < 100; r += workers {
				steps += int64(floorChain(rows, uint64(r), 1, 0.1, th, 1<<40, mom, 2*lstar, nil))
			}
			mu.Lock()
			total += steps
			mu.Unlock()
		}()
	}
	wg.Wait()
	return total
}

// floorW5 runs the 10^6-step chain with B = 10 and returns the number of loss samples.
func floorW5(rows []float64) int {
	mom, th := moments(rows)
	var ls []float64
	floorChain(rows, 7, 10, 0.1, th, 1_000_000, mom, 1e300, func(t float64) {
		ls = append(ls, 0.5*(mom[0]*t*t-2*mom[1]*t+mom[2]))
	})
	return len(ls)
}

// floorLane advances one run of the interleaved floor loop: a wyrand step (one add and one
// 128-bit multiply), a multiply-shift index (no rejection: its bias, below N / 2^64, is
// far below anything measurable), the affine map delta -> a_i delta + b_i.
func floorLane(delta float64, s uint64, ab []float64, n uint64) (float64, uint64) {
	s += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(s, s^0xe7037ed1a0b428db)
	i, _ := bits.Mul64(hi^lo, n)
	return ab[2*i]*delta + ab[2*i+1], s
}

// floorEscapes runs runs escapes of 1-D regression with batch 1, eta and sampling with
// replacement from theta* until (theta - theta*)^2 > r2 (the loss level c L* with
// r2 = 2 (c - 1) L* / C) on workers goroutines, four runs interleaved per goroutine so that
// the latency of one run's dependent multiply-add hides behind the others'. It returns the
// run-steps. This is the fastest loop we can write for workload 4c: precomputed affine maps
// (a_i = 1 - eta x_i^2, b_i = eta x_i (y_i - x_i theta*) for delta = theta - theta*),
// registers only, no exits but the one, no records, no other random number generator.
func floorEscapes(rows []float64, eta, c float64, runs, workers int) int64 {
	mom, th := moments(rows)
	lstar := 0.5 * (mom[0]*th*th - 2*mom[1]*th + mom[2])
	r2 := 2 * (c - 1) * lstar / mom[0]
	n := len(rows) / 2
	ab := make([]float64, 2*n)
	for i := range n {
		x, y := rows[2*i], rows[2*i+1]
		ab[2*i], ab[2*i+1] = 1-eta*x*x, eta*x*(y-x*th)
	}
	var total atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Runs w, w + workers, ... of this goroutine, four at a time.
			next := w
			take := func() bool {
				ok := next < runs
				next += workers
				return ok
			}
			var steps int64
			var d [4]float64
			var s [4]uint64
			var live [4]bool
			for l := range 4 {
				s[l] = uint64(w*4+l+1) * 0x9e3779b97f4a7c15
				live[l] = take()
			}
			d0, d1, d2, d3 := d[0], d[1], d[2], d[3]
			s0, s1, s2, s3 := s[0], s[1], s[2], s[3]
			un := uint64(n)
			for live[0] && live[1] && live[2] && live[3] {
				d0, s0 = floorLane(d0, s0, ab, un)
				d1, s1 = floorLane(d1, s1, ab, un)
				d2, s2 = floorLane(d2, s2, ab, un)
				d3, s3 = floorLane(d3, s3, ab, un)
				steps += 4
				if d0*d0 > r2 || d1*d1 > r2 || d2*d2 > r2 || d3*d3 > r2 {
					// A run left: restart its lane with the next run (one step of the
					// others is counted as done, as it was).
					if d0*d0 > r2 {
						d0, live[0] = 0, take()
					}
					if d1*d1 > r2 {
						d1, live[1] = 0, take()
					}
					if d2*d2 > r2 {
						d2, live[2] = 0, take()
					}
					if d3*d3 > r2 {
						d3, live[3] = 0, take()
					}
				}
			}
			// Fewer than four runs left: finish each alone.
			d, s = [4]float64{d0, d1, d2, d3}, [4]uint64{s0, s1, s2, s3}
			for l := range 4 {
				for live[l] && d[l]*d[l] <= r2 {
					d[l], s[l] = floorLane(d[l], s[l], ab, un)
					steps++
				}
			}
			total.Add(steps)
		}()
	}
	wg.Wait()
	return total.Load()
}
