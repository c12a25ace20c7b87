package main

import (
	"os"
	"runtime"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
)

// progressor makes progress bars on a terminal and nothing elsewhere (CI logs, pipes).
type progressor struct{ on bool }

func newProgressor(quiet bool) progressor {
	return progressor{on: !quiet && isatty.IsTerminal(os.Stderr.Fd())}
}

// bar is a progress display; the zero value does nothing.
type bar struct{ pb *progressbar.ProgressBar }

// Bar starts a bar counting to total.
func (p progressor) Bar(total int64, what string) bar {
	if !p.on {
		return bar{}
	}
	if total < 0 {
		return bar{
			progressbar.NewOptions64(-1, progressbar.OptionSetWriter(os.Stderr),
				progressbar.OptionSetDescription(what), progressbar.OptionSpinnerType(14),
				progressbar.OptionClearOnFinish()),
		}
	}
	return bar{progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

// Set moves the bar to n.
func (b bar) Set(n int64) {
	if b.pb != nil {
		b.pb.Set64(n)
	}
}

// Done removes the bar.
func (b bar) Done() {
	if b.pb != nil {
		b.pb.Finish()
		b.pb.Clear()
	}
}

// Progress shows done of total items (a counter; total may change once it is known).
func (b bar) Progress(done, total int64, what string) {
	if b.pb == nil {
		return
	}
	if b.pb.GetMax64() != total {
		b.pb.ChangeMax64(total)
	}
	b.pb.Describe(what)
	b.pb.Set64(done)
}

// Describe changes the bar's label.
func (b bar) Describe(s string) {
	if b.pb != nil {
		b.pb.Describe(s)
	}
}

func numCPU() int               { return runtime.NumCPU() }
func now() time.Time            { return time.Now() }
func since(t time.Time) float64 { return time.Since(t).Seconds() }
