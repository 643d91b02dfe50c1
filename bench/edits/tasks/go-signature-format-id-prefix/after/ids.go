package ids

import "fmt"

// FormatID renders a numeric id the way invoices print it.
func FormatID(n int, prefix string) string {
	return fmt.Sprintf("%s%04d", prefix, n)
}

// Label is the heading of an invoice.
func Label(n int, customer string) string {
	return FormatID(n, "ID-") + " " + customer
}

// Labels formats many ids.
func Labels(ns []int) []string {
	out := make([]string, 0, len(ns))
	for _, n := range ns {
		out = append(out, FormatID(n, "ID-"))
	}
	return out
}
