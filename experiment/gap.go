package experiment

import (
	"fmt"
	"math"
	"strings"
)

// gapSplit says, as factors of the mean first-passage time, how real SGD's time differs from
// the decoupled SDE's, from whatever was measured: t maps dynamics names to their MFPT (in
// t) and chain is the exact chain's (NaN when not solved). The steps are the decoupling
// (exact-noise against decoupled SDE, both fine), the Gaussian finite step (exact-noise SDE
// at step eta against fine), the non-Gaussian batch noise (exact chain against the SDE at
// step eta), the rest (SGD with replacement against the chain, zero up to sampling error when
// all is right) and epoch against replacement sampling. A step whose two ends were not
// measured is named as such.
func gapSplit(t map[string]float64, chain float64) string {
	get := func(k string) float64 {
		if v, ok := t[k]; ok && v > 0 && !math.IsInf(v, 0) {
			return v
		}
		return math.NaN()
	}
	steps := []struct {
		name string
		a, b float64
	}{
		{"decoupling", get("sde-fine"), get("decoupled-fine")},
		{"Gaussian finite step", get("sde"), get("sde-fine")},
		{"non-Gaussian batch noise", chain, get("sde")},
		{"the rest (SGD with replacement against the chain)", get("sgd-replacement"), chain},
		{"epoch against replacement sampling", get("sgd"), get("sgd-replacement")},
	}
	var parts, missing []string
	for _, s := range steps {
		if math.IsNaN(s.a) || math.IsNaN(s.b) {
			missing = append(missing, s.name)
			continue
		}
		parts = append(parts, fmt.Sprintf("%s x%.3g", s.name, s.a/s.b))
	}
	out := strings.Join(parts, ", ")
	if len(missing) > 0 {
		if out != "" {
			out += "; "
		}
		out += "not measured: " + strings.Join(missing, ", ")
	}
	return out
}
