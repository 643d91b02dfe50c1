package mathx

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"
)

func funcNames(t *testing.T, file string) map[string]*ast.FuncDecl {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*ast.FuncDecl{}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok {
			out[fd.Name.Name] = fd
		}
	}
	return out
}

func TestTotal(t *testing.T) {
	if got := Total([]int{1, 2, 3}); got != 6 {
		t.Fatalf("Total = %d, want 6", got)
	}
	if got := Mean([]int{2, 4}); got != 3 {
		t.Fatalf("Mean = %v, want 3", got)
	}
	if got := Weighted([]int{1, 2}, []int{3, 4}); got != 11 {
		t.Fatalf("Weighted = %d, want 11", got)
	}
}

func TestSumIsGone(t *testing.T) {
	if _, ok := funcNames(t, "mathx.go")["Sum"]; ok {
		t.Fatal("Sum still exists")
	}
}
