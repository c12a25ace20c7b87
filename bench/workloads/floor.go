package main

import (
	"math/rand/v2"
	"sync"

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
