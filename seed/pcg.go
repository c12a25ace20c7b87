package seed

import (
	"math/bits"
	"math/rand/v2"
)

// PCG is math/rand/v2's PCG generator (128-bit LCG with the DXSM output) as a value whose
// methods inline into hot loops. Load copies a *rand.PCG's state in and Store writes it
// back, so a kernel can draw a stretch of numbers in registers and leave the generator
// exactly where the same draws through rand.PCG would have left it (TestPCGMatchesStdlib).
// All its methods take and return values: a PCG whose address is never taken stays in
// registers.
type PCG struct{ hi, lo uint64 }

// LoadPCG returns a copy of src's state.
func LoadPCG(src *rand.PCG) PCG {
	var buf [20]byte
	b, _ := src.AppendBinary(buf[:0])
	return PCG{hi: be64(b[4:12]), lo: be64(b[12:20])}
}

// Store writes the state back into dst.
func (p PCG) Store(dst *rand.PCG) {
	var buf [20]byte
	b := buf[:4]
	copy(b, "pcg:")
	b = appendBE64(appendBE64(b, p.hi), p.lo)
	if err := dst.UnmarshalBinary(b); err != nil {
		panic(err) // the encoding above is the documented one; failing here is a bug
	}
}

// Next returns the next output, as rand.PCG.Uint64 does, and the generator's next state.
// (Value semantics, so that a loop's generator stays in registers.)
func (p PCG) Next() (uint64, PCG) {
	const (
		mulHi    = 2549297995355413924
		mulLo    = 4865540595714422341
		incHi    = 6364136223846793005
		incLo    = 1442695040888963407
		cheapMul = 0xda942042e4dd58b5
	)
	hi, lo := bits.Mul64(p.lo, mulLo)
	hi += p.hi*mulLo + p.lo*mulHi
	lo, c := bits.Add64(lo, incLo, 0)
	hi, _ = bits.Add64(hi, incHi, c)
	p.lo, p.hi = lo, hi
	hi ^= hi >> 32
	hi *= cheapMul
	hi ^= hi >> 48
	return hi * (lo | 1), p
}

// Below returns a uniform integer in [0, n), n > 0, exactly as the function Below does
// with a *rand.PCG in the same state, and the generator's next state. It is too large to
// inline; hot loops write its three lines out:
//
//	u, p := p.Next()
//	hi, lo := bits.Mul64(u, n)
//	if lo < n { hi, p = p.Reject(n, hi, lo) }
func (p PCG) Below(n uint64) (uint64, PCG) {
	u, p := p.Next()
	hi, lo := bits.Mul64(u, n)
	if lo < n {
		return p.Reject(n, hi, lo)
	}
	return hi, p
}

// Reject finishes Below when its first draw (hi, lo = Mul64(u, n)) fell into the zone that
// may need rejection (lo < n: probability below n / 2^64), so it is kept out of line.
func (p PCG) Reject(n, hi, lo uint64) (uint64, PCG) {
	thresh := -n % n
	for lo < thresh {
		var u uint64
		u, p = p.Next()
		hi, lo = bits.Mul64(u, n)
	}
	return hi, p
}

func be64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[7]) | uint64(b[6])<<8 | uint64(b[5])<<16 | uint64(b[4])<<24 |
		uint64(b[3])<<32 | uint64(b[2])<<40 | uint64(b[1])<<48 | uint64(b[0])<<56
}

func appendBE64(b []byte, v uint64) []byte {
	return append(b, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8),
		byte(v))
}
