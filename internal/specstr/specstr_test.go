package specstr

import (
	"strings"
	"testing"
)

func TestGrammar(t *testing.T) {
	s, err := Parse("exit", "loss:c=1.5,2,3")
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Floats("c", 1, 1e300)
	if err != nil || len(c) != 3 || c[0] != 1.5 || c[2] != 3 {
		t.Fatalf("c = %v, %v", c, err)
	}
	if err := s.Done(); err != nil {
		t.Fatal(err)
	}
	s, _ = Parse("data", "MNIST:parity:1e3,seed=2")
	if s.Name != "mnist" || strings.Join(s.Positional(), " ") != "parity 1e3" {
		t.Fatalf("positional %v", s.Positional())
	}
	if v, err := s.Int("seed", 1, 0, 10); v != 2 || err != nil {
		t.Fatalf("seed %v %v", v, err)
	}
	if v, _ := s.Int("N", 7, 0, 10); v != 7 {
		t.Fatalf("default %v", v)
	}
	if err := s.Done(); err != nil {
		t.Fatal(err)
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct{ spec, key, want string }{{"ball:r=NaN", "r", "not a finite number"}, {"loss:c=Inf",
		"c", "not a finite number"}, {"gauss:N=1e40", "N", "not an integer"}, {"gauss:N=2.5", "N", "not an integer"},
		{"gauss:N=-3", "N", "not an integer"}, {"gauss:N=1,N=2", "", "twice"}, {"gauss::N=1", "", "empty item"},
		{"gauss:N=1,typo=3", "N", "unknown option"}, {"gauss:stray", "", "unexpected"}, {":x", "", "no name"},
		{"a:=3", "", "no key"}} {
		s, err := Parse("test", c.spec)
		if err == nil && c.key != "" {
			switch c.key {
			case "N":
				_, err = s.Int("N", 0, 0, 1<<40)
			default:
				_, err = s.Floats(c.key, -1e300, 1e300)
			}
		}
		if err == nil && s != nil {
			err = s.Done()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.spec, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: multi-line error %q", c.spec, err)
		}
	}
}

// FuzzParse: any input either fails with a one-line error or parses into a name and
// values that re-read without panics.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"loss:c=1.5,2,3", "gauss:N=10000,d=1,seed=1", "mlp:784-100-1:relu:nobias",
		"mnist:parity:1000", "", ":", "a:b=,", "x:y=1:z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse("fuzz", in)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		for k := range s.keys {
			s.Floats(k, -1e300, 1e300)
			s.Int(k, 0, -1<<62, 1<<62)
		}
		s.Positional()
		if err := s.Done(); err != nil {
			t.Fatalf("all consumed, still %v", err)
		}
	})
}
