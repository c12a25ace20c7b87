package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/sgdlab/sgdlab/model"
)

// version is the sgdlab release; buildInfo adds the VCS revision when the binary has one.
const version = "0.1.0"

type versionCmd struct{}

func buildRevision() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}

func (versionCmd) Run(e *env) error {
	rec := map[string]string{"version": version, "go": runtime.Version(), "revision": buildRevision(),
		"arithmetic": model.Arithmetic()}
	if e.g.JSON {
		return e.writeJSON(rec)
	}
	fmt.Fprintf(e.out, "sgdlab %s (%s, %s; arithmetic: %s)\n", version, rec["revision"], rec["go"], rec["arithmetic"])
	return nil
}
