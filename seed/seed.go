// Package seed derives independent random generators from a master seed, so that
// trajectory i of an ensemble depends on (master seed, i) alone and never on how many
// workers or shards ran the ensemble (docs/design.md).
package seed

import (
	"math/bits"
	"math/rand/v2"
)

// mix is the splitmix64 finaliser: a bijection on uint64 with good avalanche.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Stream returns the generator for stream i of master seed s (PCG seeded with two
// mixed words). Distinct (s, i) give statistically independent streams.
func Stream(s, i uint64) *rand.Rand {
	return rand.New(rand.NewPCG(mix(s^mix(i)), mix(mix(s)+i)))
}

// Named purposes within one run, so that e.g. the initial parameters and the batch
// order use different streams of the same seed.
const (
	Init    uint64 = 1 << 62
	Batches uint64 = 1<<62 + 1
	Extra   uint64 = 1<<62 + 2
)

// Below returns a uniform integer in [0, n), n > 0, from src (Lemire's multiply-shift with
// rejection: exact, and one multiplication in the common case). It takes the PCG itself
// rather than a *rand.Rand so that hot loops call it directly.
func Below(src *rand.PCG, n uint64) uint64 {
	hi, lo := bits.Mul64(src.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(src.Uint64(), n)
		}
	}
	return hi
}
