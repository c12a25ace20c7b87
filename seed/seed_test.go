package seed

import "testing"

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
