package minmax

// Min returns the smaller of a and b.
func Min(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// Max returns the larger of a and b.
func Max(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// Clamp limits v to [lo, hi].
func Clamp(v, lo, hi int) int {
	return Max(lo, Min(v, hi))
}
