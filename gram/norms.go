package gram

import (
	"github.com/sgdlab/sgdlab/model"
)

// SampleNorms returns |J_mu^T U_mu|^2 for every sample mu, where U is N x K: the squared
// norms of per-sample vectors in the span of the Jacobian rows (U = dl/df gives the
// per-sample loss gradients, U = e_k the output gradients). Dense-layer models use the
// factorisation |g|^2 = sum_l |D_l|^2 (|A_l|^2 + bias); others stream explicit gradients.
func SampleNorms(o *model.Objective, theta, U []float64) []float64 {
	return sampleNormsMulti(o, theta, [][]float64{U})[0]
}

// sampleNormsMulti computes SampleNorms for several U at once, sharing the forward pass.
func sampleNormsMulti(o *model.Objective, theta []float64, Us [][]float64) [][]float64 {
	n, K, d, P := o.N(), o.K(), o.Data.D, o.P()
	chunk := model.ChunkFor(o.Model)
	ev := o.Model.NewEval(chunk)
	out := make([][]float64, len(Us))
	for i := range out {
		out[i] = make([]float64, n)
	}
	f := make([]float64, chunk*K)
	fe, factored := ev.(model.Factored)
	var rows []float64
	if !factored {
		rows = make([]float64, chunk*P)
	}
	for i0 := 0; i0 < n; i0 += chunk {
		b := min(chunk, n-i0)
		ev.Forward(theta, o.Data.X[i0*d:(i0+b)*d], b, f)
		for ui, U := range Us {
			u := U[i0*K : (i0+b)*K]
			if !factored {
				ev.PerSample(u, rows, P)
				for i := 0; i < b; i++ {
					s := 0.0
					for _, v := range rows[i*P : (i+1)*P] {
						s += v * v
					}
					out[ui][i0+i] = s
				}
				continue
			}
			for _, fc := range fe.LayerFactors(u) {
				for i := 0; i < b; i++ {
					dd, aa := 0.0, 0.0
					for _, v := range fc.D[i*fc.Out : (i+1)*fc.Out] {
						dd += v * v
					}
					for _, v := range fc.A[i*fc.In : (i+1)*fc.In] {
						aa += v * v
					}
					if fc.Bias {
						aa++
					}
					out[ui][i0+i] += dd * aa
				}
			}
		}
	}
	return out
}

// JacobianNorms returns sum_k |grad f_k(x_mu)|^2 for every sample (one forward pass, one
// backward pass per output).
func JacobianNorms(o *model.Objective, theta []float64) []float64 {
	n, K := o.N(), o.K()
	Us := make([][]float64, K)
	for k := range Us {
		Us[k] = make([]float64, n*K)
		for mu := 0; mu < n; mu++ {
			Us[k][mu*K+k] = 1
		}
	}
	out := make([]float64, n)
	for _, v := range sampleNormsMulti(o, theta, Us) {
		for mu := range out {
			out[mu] += v[mu]
		}
	}
	return out
}
