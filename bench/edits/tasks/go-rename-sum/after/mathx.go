package mathx

// Total adds up the values.
func Total(xs []int) int {
	total := 0
	for _, x := range xs {
		total += x
	}
	return total
}

// Mean is the average of xs, 0 for no values.
func Mean(xs []int) float64 {
	if len(xs) == 0 {
		return 0
	}
	return float64(Total(xs)) / float64(len(xs))
}

// Weighted sums each value times its weight.
func Weighted(xs, ws []int) int {
	prod := make([]int, len(xs))
	for i := range xs {
		prod[i] = xs[i] * ws[i]
	}
	return Total(prod)
}
