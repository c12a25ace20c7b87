package seed

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestStreamsAreDeterministicAndDistinct(t *testing.T) {
	a, b := Stream(7, 3), Stream(7, 3)
	for i := 0; i < 100; i++ {
		if a.Uint64() != b.Uint64() {
			t.Fatal("same (seed, index) gave different streams")
		}
	}
	seen := map[uint64]bool{}
	for s := uint64(0); s < 20; s++ {
		for i := uint64(0); i < 50; i++ {
			v := Stream(s, i).Uint64()
			if seen[v] {
				t.Fatalf("streams (%d, %d) and an earlier one start alike", s, i)
			}
			seen[v] = true
		}
	}
}

// Below is uniform: counts over [0, 7) within 4.5 standard errors of N/7, and within range.
func TestBelowUniform(t *testing.T) {
	src := rand.NewPCG(3, 4)
	const n, draws = 7, 700000
	var c [n]int
	for range draws {
		v := Below(src, n)
		if v >= n {
			t.Fatalf("Below(7) = %d", v)
		}
		c[v]++
	}
	p := 1.0 / n
	se := math.Sqrt(draws * p * (1 - p))
	for i, k := range c {
		if z := math.Abs(float64(k)-draws*p) / se; z > 4.5 {
			t.Errorf("value %d drawn %d times, expected %.0f (%.1f SE)", i, k, draws*p, z)
		}
	}
}

// The inlinable PCG draws what math/rand/v2's PCG draws and leaves it in the same state,
// including Below's rejection branch (n close to 2^63 rejects about half the draws).
func TestPCGMatchesStdlib(t *testing.T) {
	ref, src := rand.NewPCG(3, 4), rand.NewPCG(3, 4)
	p := LoadPCG(src)
	for i := range 1000 {
		var a uint64
		a, p = p.Next()
		if b := ref.Uint64(); a != b {
			t.Fatalf("draw %d: %d, stdlib %d", i, a, b)
		}
	}
	for _, n := range []uint64{1, 7, 10000, 1<<63 + 1} {
		for i := range 1000 {
			var a uint64
			a, p = p.Below(n)
			if b := Below(ref, n); a != b {
				t.Fatalf("Below(%d) draw %d: %d, stdlib %d", n, i, a, b)
			}
		}
	}
	p.Store(src)
	if a, b := src.Uint64(), ref.Uint64(); a != b {
		t.Fatalf("after Store: %d, stdlib %d", a, b)
	}
	if n := testing.AllocsPerRun(100, func() { LoadPCG(src).Store(src) }); n != 0 {
		t.Errorf("Load and Store allocate %v times", n)
	}
}
