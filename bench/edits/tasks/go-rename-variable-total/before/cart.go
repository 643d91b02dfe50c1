package cart

// Item is one line of a shopping cart.
type Item struct {
	Name  string
	Price float64
	Qty   int
}

// SumPrices is the cost of every item times its quantity.
func SumPrices(items []Item) float64 {
	tmp := 0.0
	for _, it := range items {
		tmp += it.Price * float64(it.Qty)
	}
	return tmp
}
