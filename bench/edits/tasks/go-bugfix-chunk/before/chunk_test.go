package chunk

import (
	"reflect"
	"testing"
)

func TestChunkKeepsTheRest(t *testing.T) {
	got := Chunk([]string{"a", "b", "c", "d", "e"}, 2)
	want := [][]string{{"a", "b"}, {"c", "d"}, {"e"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Chunk = %v, want %v", got, want)
	}
}

func TestExactAndEmpty(t *testing.T) {
	if got := Chunk([]string{"a", "b", "c", "d"}, 2); len(got) != 2 || got[1][1] != "d" {
		t.Fatalf("Chunk of 4 by 2 = %v", got)
	}
	if got := Chunk(nil, 3); len(got) != 0 {
		t.Fatalf("Chunk(nil) = %v", got)
	}
	if got := Batches(make([]string, 250)); got != 3 {
		t.Fatalf("Batches(250) = %d, want 3", got)
	}
}
