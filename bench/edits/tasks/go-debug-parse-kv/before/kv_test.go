package kv

import (
	"io"
	"os"
	"testing"
)

func TestPrintsNothing(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	_, perr := ParseKV("a=1, b = 2")
	w.Close()
	os.Stdout = stdout
	printed, _ := io.ReadAll(r)
	if perr != nil {
		t.Fatal(perr)
	}
	if len(printed) != 0 {
		t.Fatalf("ParseKV printed %q", printed)
	}
}

func TestParses(t *testing.T) {
	m, err := ParseKV("a=1, b = 2,")
	if err != nil || m["a"] != "1" || m["b"] != "2" || len(m) != 2 {
		t.Fatalf("ParseKV = %v, %v", m, err)
	}
	if _, err := ParseKV("nokey"); err == nil {
		t.Fatal("want an error for a pair without =")
	}
}
