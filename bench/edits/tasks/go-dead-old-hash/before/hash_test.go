package hash

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

func TestOldHashIsDeleted(t *testing.T) {
	if _, ok := funcNames(t, "hash.go")["oldHash"]; ok {
		t.Fatal("oldHash is still there")
	}
}

func TestChecksum(t *testing.T) {
	if got := Checksum(""); got != "811c9dc5" {
		t.Fatalf("Checksum(\"\") = %s", got)
	}
	if got := Checksum("a"); got != "e40c292c" {
		t.Fatalf("Checksum(a) = %s", got)
	}
}
