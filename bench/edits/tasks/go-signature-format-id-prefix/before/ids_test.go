package ids

import "testing"

func TestPrefix(t *testing.T) {
	if got := FormatID(7, "X-"); got != "X-0007" {
		t.Fatalf("FormatID(7, X-) = %q", got)
	}
}

func TestCallersKeepID(t *testing.T) {
	if got := Label(12, "acme"); got != "ID-0012 acme" {
		t.Fatalf("Label = %q", got)
	}
	if got := Labels([]int{1, 2}); len(got) != 2 || got[1] != "ID-0002" {
		t.Fatalf("Labels = %v", got)
	}
}
