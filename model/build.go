package model

import (
	"math"

	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/internal/linalg"
)

// Build parses a model spec and a loss name for the dataset d and returns the objective.
func Build(modelSpec, lossName string, d *data.Dataset) (*Objective, error) {
	m, err := Parse(modelSpec, d.D, d.K)
	if err != nil {
		return nil, err
	}
	loss, err := ParseLoss(lossName)
	if err != nil {
		return nil, err
	}
	o, err := NewObjective(m, loss, d)
	return o, fault.AsInvalid(err)
}

// CheckFinite returns an error naming the first non-finite parameter.
func CheckFinite(theta []float64) error {
	for i, v := range theta {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fault.Invalid("parameter %d is %v: the parameter vector must be finite", i, v)
		}
	}
	return nil
}

// Arithmetic names the floating-point code paths in use: the BLAS, whether the AVX2/FMA
// vector kernels run and the packed GEMM's micro-kernel (chosen by the CPU). Two machines
// with different arithmetic round differently, so stored results record it and are never
// merged across it silently.
func Arithmetic() string {
	vec := "no vector kernels"
	if linalg.Available() {
		vec = "AVX2+FMA kernels"
	}
	gemm := "no packed GEMM"
	if k := linalg.Kernel(); k != "" {
		gemm = "GEMM " + k
	}
	return BLAS + ", " + vec + ", " + gemm
}
