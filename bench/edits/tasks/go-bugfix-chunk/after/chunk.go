package chunk

// Chunk splits xs into slices of at most n elements, in order.
func Chunk(xs []string, n int) [][]string {
	if n < 1 {
		panic("chunk: n must be at least 1")
	}
	var out [][]string
	for i := 0; i < len(xs); i += n {
		end := i + n
		if end > len(xs) {
			end = len(xs)
		}
		out = append(out, xs[i:end])
	}
	return out
}

// Batches is how many requests it takes to send ids, 100 per request.
func Batches(ids []string) int {
	return len(Chunk(ids, 100))
}
