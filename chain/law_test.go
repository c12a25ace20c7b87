package chain

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// The quasi-stationary law by inverse iteration with the LU factors of I - K equals the
// principal left eigenvector from a dense eigensolver (gonum's Eigen on K^T) and from the
// Arnoldi iteration, with the leak 1 - lambda, on sub-stochastic matrices that leak little
// (where the Arnoldi iteration is slow) and a lot.
func TestLawByInverseIteration(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, leakTarget := range []float64{1e-7, 1e-3, 0.2} {
		n := 60
		k := make([]float64, n*n)
		for i := 0; i < n; i++ {
			sum := 0.0
			for j := 0; j < n; j++ {
				// A banded random walk: mass near the diagonal, as a chain's transition has.
				if d := i - j; d*d <= 9 {
					k[i*n+j] = rng.Float64()
					sum += k[i*n+j]
				}
			}
			keep := 1.0
			if i == 0 || i == n-1 {
				keep = 1 - leakTarget // only the end rows leak
			}
			for j := 0; j < n; j++ {
				k[i*n+j] *= keep / sum
			}
		}
		tr := &transition{n: n, dense: k, workers: 1}
		pi := make([]float64, n)
		for i := range pi {
			pi[i] = 1
		}
		leak, rel, iters, err := lawByInverseIteration(denseLU(tr), tr, pi)
		if err != nil {
			t.Fatalf("leak %g: %v after %d iterations (residual %.2g)", leakTarget, err, iters, rel)
		}
		var eig mat.Eigen
		if !eig.Factorize(mat.NewDense(n, n, k).T(), mat.EigenRight) {
			t.Fatal("dense eigensolver failed")
		}
		vals := eig.Values(nil)
		best := 0
		for i, v := range vals {
			if real(v) > real(vals[best]) {
				best = i
			}
		}
		var vecs mat.CDense
		eig.VectorsTo(&vecs)
		ref, s := make([]float64, n), 0.0
		for i := range ref {
			ref[i] = real(vecs.At(i, best))
			s += ref[i]
		}
		for i := range ref {
			ref[i] /= s
			// The residual criterion 1e-10 bounds the error by 1e-10 / (lambda_1 - lambda_2).
			if math.Abs(pi[i]-ref[i]) > 1e-6*math.Abs(ref[i])+1e-14 {
				t.Fatalf("leak %g: pi[%d] = %v, dense eigenvector %v", leakTarget, i, pi[i], ref[i])
			}
		}
		if want := 1 - real(vals[best]); math.Abs(leak-want) > 1e-6*want+1e-14 {
			t.Fatalf("leak %g: 1 - lambda = %v, dense %v", leakTarget, leak, want)
		}
		arn := make([]float64, n)
		for i := range arn {
			arn[i] = 1
		}
		lambda, _, _, err := dominant(tr.applyT, arn, 40, 1e-10, 100000)
		if err == nil && math.Abs((1-lambda)-leak) > 1e-5*leak+1e-12 {
			t.Errorf("leak %g: Arnoldi 1 - lambda = %v, inverse iteration %v", leakTarget, 1-lambda, leak)
		}
		t.Logf("leak %g: 1 - lambda = %.6g in %d inverse iterations", leakTarget, leak, iters)
	}
}
