//go:build !amd64 || purego

package linalg

func microKernels() []microKernel { return nil }
