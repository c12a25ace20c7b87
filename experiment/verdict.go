package experiment

import (
	"fmt"
	"strings"
)

// Status is an experiment's outcome, decided by its verdict function from measured numbers.
type Status string

// The statuses. NotMeasured covers what could not be measured here (data that is not on
// the machine, a dynamics left out of the parameters, a shard's partial ensembles); Failed
// is an experiment that stopped with an error.
const (
	Agrees      Status = "agrees"
	Partial     Status = "partial"
	Deviates    Status = "deviates"
	NotMeasured Status = "not measured"
	Failed      Status = "failed"
)

// Tone is how the report colours a status: ok, mid or bad.
func (s Status) Tone() string {
	switch s {
	case Agrees:
		return "ok"
	case Deviates, Failed:
		return "bad"
	}
	return "mid"
}

// Criterion is a named threshold a verdict applies; every criterion used is shown in the
// report beside the verdict.
type Criterion struct {
	Name    string  `json:"name"`
	Value   float64 `json:"value"`
	Meaning string  `json:"meaning"`
}

// Verdict is a status with the claims that support it. Verdict functions build it from
// numbers and criteria only, and add a claim only when the number it states was measured
// and the criterion it invokes holds.
type Verdict struct {
	Status Status
	Claims []string
}

// claim appends a sentence.
func (v *Verdict) claim(format string, args ...any) {
	v.Claims = append(v.Claims, fmt.Sprintf(format, args...))
}

// Text is the verdict in words.
func (v Verdict) Text() string { return strings.Join(v.Claims, " ") }

// notMeasured is the verdict when what the claim rests on was not measured.
func notMeasured(format string, args ...any) Verdict {
	return Verdict{Status: NotMeasured, Claims: []string{"Not measured: " + fmt.Sprintf(format, args...)}}
}

// worst combines the statuses of parts of an experiment: any deviation makes it deviate;
// otherwise parts not measured make it partial (or not measured when nothing was); all
// agreeing parts make it agree; partial parts make it partial.
func worst(parts ...Status) Status {
	if len(parts) == 0 {
		return NotMeasured
	}
	counts := map[Status]int{}
	for _, p := range parts {
		counts[p]++
	}
	switch {
	case counts[Failed] > 0:
		return Failed
	case counts[Deviates] > 0:
		return Deviates
	case counts[NotMeasured] == len(parts):
		return NotMeasured
	case counts[Agrees] == len(parts):
		return Agrees
	}
	return Partial
}
