package minmax

import "testing"

func TestMin(t *testing.T) {
	if Min(2, 9) != 2 || Min(9, 2) != 2 || Min(-1, -1) != -1 {
		t.Fatalf("Min is wrong: Min(2, 9) = %d", Min(2, 9))
	}
}

func TestMaxAndClamp(t *testing.T) {
	if Max(2, 9) != 9 {
		t.Fatal("Max(2, 9) != 9")
	}
	if Clamp(15, 0, 10) != 10 || Clamp(-5, 0, 10) != 0 || Clamp(4, 0, 10) != 4 {
		t.Fatalf("Clamp(15, 0, 10) = %d", Clamp(15, 0, 10))
	}
}
