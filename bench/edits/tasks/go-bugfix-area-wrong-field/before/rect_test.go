package rect

import "testing"

func TestArea(t *testing.T) {
	if got := (Rect{2, 3}).Area(); got != 6 {
		t.Fatalf("Area of 2x3 = %v, want 6", got)
	}
	if got := (Rect{4, 4}).Area(); got != 16 {
		t.Fatalf("Area of 4x4 = %v", got)
	}
	if (Rect{2, 3}).Perimeter() != 10 || (Rect{2, 3}).Square() {
		t.Fatal("Perimeter or Square is wrong")
	}
}
