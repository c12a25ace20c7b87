package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
)

// Section is one block of the HTML report (one experiment).
type Section struct {
	ID     string
	Title  string
	Status string // against the paper
	Tone   string // ok, mid or bad: the colour of the status
	// Exact is the status of sgdlab's exact discrete-time prediction against real SGD, with
	// its tone.
	Exact, ExactTone string
	Fields           []Field // labelled paragraphs (claim, theory, setup, verdict)
	Checks           []CheckRow
	Criteria         []Row // the criteria the verdict applied: name, value, meaning
	Numbers          []Row // name, value, theory, note
	Tables           []HTMLTable
	Figures          []HTMLFigure
	Notes            []string
}

// CheckRow is one check of a verdict: what was compared, the number measured against its
// criterion, the events it rests on and the outcome (with its tone).
type CheckRow struct {
	Scope, Name, Measured, Target, Criterion, N, Outcome, Tone string
}

// Field is a labelled paragraph.
type Field struct{ Label, Text string }

// Row is one line of a numbers table.
type Row struct{ Name, Value, Theory, Note string }

// HTMLTable is a table of strings.
type HTMLTable struct {
	Title  string
	Header []string
	Rows   [][]string
}

// HTMLFigure is a PNG file (path relative to the report) with its caption and data file.
type HTMLFigure struct {
	Title, PNG, CSV, Caption string
	data                     template.URL
}

// Page is the whole report.
type Page struct {
	Title    string
	Subtitle []string
	Sections []Section
}

var page = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body{font-family:Liberation Sans,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc;padding-bottom:.2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}
td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}
.ok{color:#176b1c;font-weight:bold}.bad{color:#a1161c;font-weight:bold}.mid{color:#8a5a00;font-weight:bold}
figure{margin:1em 0}figcaption{font-size:.85em;color:#555}img{max-width:100%;border:1px solid #ddd}
.label{font-weight:bold}.note{font-size:.9em;color:#444}
</style></head><body>
<h1>{{.Title}}</h1>
{{range .Subtitle}}<p class="note">{{.}}</p>{{end}}
<table><tr><th>experiment</th><th>against the paper</th><th>sgdlab's exact discrete-time prediction
(exact chain, phi_eta) against real SGD</th></tr>
{{range .Sections}}<tr><td><a href="#{{.ID}}">{{.ID}}: {{.Title}}</a></td>
<td class="{{.Tone}}">{{.Status}}</td><td class="{{.ExactTone}}">{{.Exact}}</td></tr>{{end}}
</table>
{{range .Sections}}
<h2 id="{{.ID}}">{{.ID}}: {{.Title}} <span class="{{.Tone}}">[{{.Status}}]</span>
<span class="{{.ExactTone}}">[exact: {{.Exact}}]</span></h2>
{{range .Fields}}<p><span class="label">{{.Label}}:</span> {{.Text}}</p>{{end}}
{{if .Checks}}<table><tr><th>against</th><th>check</th><th>measured</th><th>compared with</th><th>criterion</th>
<th>n</th><th>outcome</th></tr>
{{range .Checks}}<tr><td>{{.Scope}}</td><td>{{.Name}}</td><td>{{.Measured}}</td><td>{{.Target}}</td>
<td>{{.Criterion}}</td><td>{{.N}}</td><td class="{{.Tone}}">{{.Outcome}}</td></tr>{{end}}</table>{{end}}
{{if .Criteria}}<table><tr><th>criterion of the verdict</th><th>value</th><th>meaning</th></tr>
{{range .Criteria}}<tr><td>{{.Name}}</td><td>{{.Value}}</td><td>{{.Note}}</td></tr>{{end}}</table>{{end}}
{{if .Numbers}}<table><tr><th>quantity</th><th>measured</th><th>theory</th><th>note</th></tr>
{{range .Numbers}}<tr><td>{{.Name}}</td><td>{{.Value}}</td><td>{{.Theory}}</td>
<td>{{.Note}}</td></tr>{{end}}</table>{{end}}
{{range .Tables}}<p class="label">{{.Title}}</p><table><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</table>{{end}}
{{range .Figures}}<figure><img alt="{{.Title}}" src="{{.Data}}">
<figcaption>{{.Caption}}{{if .CSV}} Data: <a href="{{.CSV}}">{{.CSV}}</a>.{{end}}</figcaption></figure>{{end}}
{{range .Notes}}<p class="note">{{.}}</p>{{end}}
{{end}}
</body></html>
`))

// Data returns the figure as a data: URL (the report opens from disk without its files).
func (f HTMLFigure) Data() template.URL { return f.data }

// WriteHTML renders the page into dir/index.html, embedding every figure's PNG.
func WriteHTML(dir string, p Page) (string, error) {
	for si := range p.Sections {
		for fi := range p.Sections[si].Figures {
			f := &p.Sections[si].Figures[fi]
			b, err := os.ReadFile(filepath.Join(dir, f.PNG))
			if err != nil {
				return "", fmt.Errorf("report: figure %s: %w", f.PNG, err)
			}
			f.data = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b))
		}
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, p); err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	path := filepath.Join(dir, "index.html")
	return path, WriteFileAtomic(path, buf.Bytes())
}
