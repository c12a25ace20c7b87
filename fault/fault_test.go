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
