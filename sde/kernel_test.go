package sde

import (
	"fmt"
	"math"
	"testing"

	"github.com/sgdlab/sgdlab/curvature"
	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/seed"
	"github.com/sgdlab/sgdlab/sgd"
)

// The scalar kernels (sgd.Runner.StepsToLoss1 behind sgdDyn, scalarDecoupled behind sdeDyn)
// are taken where they apply and give bit for bit the parameters, times and stopping step
// of Step followed by Loss, step by step, from the same seed.
func TestScalarKernelsMatchStepByStep(t *testing.T) {
	o, err := model.Build("linear", "mse", data.Gauss(2000, 1, 1, 3))
	if err != nil {
		t.Fatal(err)
	}
	fl, _ := model.NewFeatureLandscape(o, false)
	m := fl.Moments()
	th0 := m.Bv[0] / m.C[0]
	lstar := fl.LossGrad([]float64{th0}, nil)
	hstar := curvature.DenseFactor(1, []float64{m.C[0]})
	for _, c := range []Config{
		{Kind: SGD, Eta: 0.3, Batch: 1, Sampling: sgd.Replacement},
		{Kind: SGD, Eta: 0.3, Batch: 1, Sampling: sgd.Epoch},
		{Kind: Decoupled, Eta: 0.3, Batch: 1, Scheme: Ito, Substeps: 3, HStar: hstar, LStar: lstar},
		{Kind: Decoupled, Eta: 0.3, Batch: 2, Scheme: Ito, HStar: hstar, LStar: lstar},
	} {
		t.Run(fmt.Sprintf("%v-%v-B%d", c.Kind, c.Sampling, c.Batch), func(t *testing.T) {
			fac, err := NewFactory(o, c)
			if err != nil {
				t.Fatal(err)
			}
			fused, _ := fac.New(seed.Stream(9, 1))
			plain, _ := fac.New(seed.Stream(9, 1))
			switch d := fused.(type) {
			case *sgdDyn:
				if !d.scalar {
					t.Fatal("the SGD scalar kernel does not apply")
				}
			case *sdeDyn:
				if d.scalar == nil {
					t.Fatal("the decoupled scalar kernel does not apply")
				}
			}
			ls := fused.(LossStepper)
			thr := 1.5 * lstar
			a, b := []float64{th0}, []float64{th0}
			ta, tb := 0.0, 0.0
			for stretch := range 200 {
				n, stopped := ls.StepsToLoss(a, 37, thr, &ta)
				var k int64
				stop := false
				for k < 37 && !stop {
					tb += plain.Step(b)
					k++
					stop = !(plain.Loss(b) <= thr)
				}
				if n != k || stopped != stop || a[0] != b[0] || ta != tb {
					t.Fatalf("stretch %d: fused (%d steps, %v, theta %v, t %v), step by step (%d, %v, %v, %v)",
						stretch, n, stopped, a[0], ta, k, stop, b[0], tb)
				}
			}
			if math.Abs(a[0]-th0) == 0 {
				t.Fatal("the parameters did not move")
			}
		})
	}
}
