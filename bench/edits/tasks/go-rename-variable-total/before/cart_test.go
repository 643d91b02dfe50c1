package cart

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

func TestVariableRenamed(t *testing.T) {
	fd := funcNames(t, "cart.go")["SumPrices"]
	if fd == nil {
		t.Fatal("no SumPrices")
	}
	names := map[string]bool{}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			names[id.Name] = true
		}
		return true
	})
	if names["tmp"] || !names["total"] {
		t.Fatalf("identifiers in SumPrices: %v", names)
	}
}

func TestSum(t *testing.T) {
	got := SumPrices([]Item{{"a", 1.5, 2}, {"b", 2, 1}})
	if got != 5 {
		t.Fatalf("SumPrices = %v", got)
	}
}
