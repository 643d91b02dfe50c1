package scores

// Average returns the mean score.
func Average(scores []int) float64 {
	if len(scores) == 0 {
		return 0
	}
	total := 0
	for _, s := range scores {
		total += s
	}
	return float64(total) / float64(len(scores))
}

// Passed counts scores of at least pass.
func Passed(scores []int, pass int) int {
	n := 0
	for _, s := range scores {
		if s >= pass {
			n++
		}
	}
	return n
}
