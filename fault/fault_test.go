package fault

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestClasses(t *testing.T) {
	base := errors.New("file missing")
	inv := Invalid("data: %w", base)
	if !errors.Is(inv, ErrInvalid) || !errors.Is(inv, base) || errors.Is(inv, ErrDiverged) {
		t.Fatalf("Invalid: class or cause lost: %v", inv)
	}
	if inv.Error() != "data: file missing" {
		t.Fatalf("message %q", inv.Error())
	}
	div := fmt.Errorf("run 3: %w", Diverged("theta is NaN at step %d", 7))
	if !errors.Is(div, ErrDiverged) || errors.Is(div, ErrInvalid) {
		t.Fatalf("Diverged: %v", div)
	}
	if AsInvalid(div) != div || !errors.Is(AsInvalid(base), ErrInvalid) || AsInvalid(nil) != nil {
		t.Fatal("AsInvalid must keep classified errors and nil")
	}
	if errors.Is(AsInvalid(context.Canceled), context.Canceled) != true {
		t.Fatal("AsInvalid must keep the cause")
	}
}

func TestField(t *testing.T) {
	err := fmt.Errorf("noise: %w", Field("k", Invalid("k = 5 must be at most P = 1")))
	if FieldOf(err) != "k" || !errors.Is(err, ErrInvalid) || err.Error() != "noise: k = 5 must be at most P = 1" {
		t.Fatalf("%v %q", err, FieldOf(err))
	}
	if FieldOf(errors.New("x")) != "" || Field("a", nil) != nil {
		t.Fatal("no field")
	}
	if FieldOf(Invalid("wrapped: %w", Field("inner", errors.New("x")))) != "inner" {
		t.Fatal("a field inside a classified error is found")
	}
	// Unfield hides the field, not the class, the message or a recovered panic.
	u := fmt.Errorf("E5 failed: %w", Unfield(err))
	if FieldOf(u) != "" || !errors.Is(u, ErrInvalid) || u.Error() != "E5 failed: "+err.Error() {
		t.Fatalf("unfielded: %v %q", u, FieldOf(u))
	}
	var p *PanicError
	if !errors.As(Unfield(fmt.Errorf("x: %w", &PanicError{Value: "boom"})), &p) || p.Value != "boom" {
		t.Fatal("a panic behind Unfield is lost")
	}
	if Unfield(nil) != nil {
		t.Fatal("Unfield(nil)")
	}
}

// A panic on a Group's goroutine is raised again by Wait on the caller's, with the stack of
// the goroutine where it happened; Catch turns a panic into an error.
func TestGroupAndCatch(t *testing.T) {
	var g Group
	g.Go(func() {})
	g.Go(func() { panic("boom") })
	func() {
		defer func() {
			p, ok := recover().(*PanicError)
			if !ok || p.Value != "boom" || !strings.Contains(string(p.Stack), "fault_test.go") {
				t.Fatalf("Wait re-raised %v", p)
			}
		}()
		g.Wait()
		t.Fatal("Wait returned after a panic")
	}()
	err := func() (err error) {
		defer Catch(&err)
		var s []int
		_ = s[3]
		return nil
	}()
	var p *PanicError
	if !errors.As(err, &p) || !strings.Contains(err.Error(), "index out of range") {
		t.Fatalf("Catch: %v", err)
	}
}
