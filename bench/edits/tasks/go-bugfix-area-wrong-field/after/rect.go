package rect

// Rect is an axis-aligned rectangle.
type Rect struct {
	W, H float64
}

// Area is width times height.
func (r Rect) Area() float64 {
	return r.W * r.H
}

// Perimeter is the length of the outline.
func (r Rect) Perimeter() float64 {
	return 2 * (r.W + r.H)
}

// Square reports whether both sides are equal.
func (r Rect) Square() bool {
	return r.W == r.H
}
