package stats

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
)

const original = `func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}`

func TestMeanHasADocComment(t *testing.T) {
	src, err := os.ReadFile("stats.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "stats.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Name.Name != "Mean" {
			continue
		}
		if fd.Doc == nil || len(strings.Fields(fd.Doc.Text())) < 3 {
			t.Fatal("Mean has no doc comment")
		}
		code := string(src[fset.Position(fd.Pos()).Offset:fset.Position(fd.End()).Offset])
		if code != strings.ReplaceAll(original, "    ", "\t") {
			t.Fatalf("Mean's code changed:\n%s", code)
		}
		return
	}
	t.Fatal("no func Mean")
}

func TestMean(t *testing.T) {
	if Mean([]float64{1, 2, 3}) != 2 || Mean(nil) != 0 || Range([]float64{3, 1, 7}) != 6 {
		t.Fatal("Mean or Range is wrong")
	}
}
