//go:build amd64 && !purego

package linalg

import "golang.org/x/sys/cpu"

var useAVX = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func axpyAVX(a float64, x, y []float64)

//go:noescape
func dotAVX(x, y []float64) float64

//go:noescape
func gatherAxpy32AVX(out, w *float64, stride int, idx *int32, val *float64, n int)

//go:noescape
func gatherAxpy4AVX(out, w *float64, stride int, idx *int32, val *float64, n int)
