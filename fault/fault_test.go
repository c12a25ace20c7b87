package fault

import (
	"context"
	"errors"
	"fmt"
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
}
