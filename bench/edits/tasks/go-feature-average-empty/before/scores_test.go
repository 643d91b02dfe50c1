package scores

import "testing"

func TestEmptyIsZero(t *testing.T) {
	if got := Average(nil); got != 0 {
		t.Fatalf("Average(nil) = %v, want 0", got)
	}
	if got := Average([]int{}); got != 0 {
		t.Fatalf("Average([]) = %v, want 0", got)
	}
}

func TestAverage(t *testing.T) {
	if got := Average([]int{70, 80}); got != 75 {
		t.Fatalf("Average = %v", got)
	}
	if Passed([]int{40, 50, 60}, 50) != 2 {
		t.Fatal("Passed is wrong")
	}
}
