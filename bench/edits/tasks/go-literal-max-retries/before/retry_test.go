package retry

import (
	"errors"
	"testing"
)

func failUntil(n int) func(int) error {
	return func(attempt int) error {
		if attempt < n {
			return errors.New("not yet")
		}
		return nil
	}
}

func TestFiveAttempts(t *testing.T) {
	if MaxRetries != 5 {
		t.Fatalf("MaxRetries = %d, want 5", MaxRetries)
	}
	if n, err := Do(failUntil(5)); err != nil || n != 5 {
		t.Fatalf("Do = %d, %v; want 5, nil", n, err)
	}
	if _, err := Do(failUntil(6)); !errors.Is(err, ErrGaveUp) {
		t.Fatalf("want ErrGaveUp, got %v", err)
	}
}
