// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package architecture_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// declared reads every Go file of the module (tests, tools' modules and
// _bin aside) and returns what `X.Y` in the docs may name: a package's
// top-level identifier (pkg.Name), a type's method or field (Type.Name),
// and the files, by base name and by path.
func declared(t *testing.T) (names map[string]bool, files map[string]bool) {
	t.Helper()
	names, files = map[string]bool{}, map[string]bool{}
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "_bin" || d.Name() == "tools" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		files[d.Name()], files[filepath.ToSlash(rel)] = true, true
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		pkg := f.Name.Name
		for _, decl := range f.Decls {
			switch decl := decl.(type) {
			case *ast.FuncDecl:
				if decl.Recv == nil {
					names[pkg+"."+decl.Name.Name] = true
					continue
				}
				recv := decl.Recv.List[0].Type
				if star, ok := recv.(*ast.StarExpr); ok {
					recv = star.X
				}
				if id, ok := recv.(*ast.Ident); ok {
					names[id.Name+"."+decl.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, spec := range decl.Specs {
					switch spec := spec.(type) {
					case *ast.TypeSpec:
						names[pkg+"."+spec.Name.Name] = true
						addMembers(names, spec)
					case *ast.ValueSpec:
						for _, n := range spec.Names {
							names[pkg+"."+n.Name] = true
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names, files
}

// addMembers records a struct's fields and an interface's methods.
func addMembers(names map[string]bool, spec *ast.TypeSpec) {
	var fields *ast.FieldList
	switch ty := spec.Type.(type) {
	case *ast.StructType:
		fields = ty.Fields
	case *ast.InterfaceType:
		fields = ty.Methods
	default:
		return
	}
	for _, f := range fields.List {
		for _, n := range f.Names {
			names[spec.Name.Name+"."+n.Name] = true
		}
	}
}

// TestArchitectureDocNamesExist: every Go name docs/architecture.md writes
// in backquotes (`Service.Present`, `store.Managed`, `doors.go`) is still in
// the code: the house's source of truth does not drift.
func TestArchitectureDocNamesExist(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("..", "..", "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	names, files := declared(t)
	// Names of other projects' code the walk-through mentions.
	external := map[string]bool{"ch.DNSName": true}
	quoted := regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(string(text), -1)
	checked := 0
	for _, q := range quoted {
		name := strings.TrimSuffix(q[1], "()")
		switch {
		case strings.HasSuffix(name, ".go"):
			checked++
			if !files[name] {
				t.Errorf("docs/architecture.md names the file %s, which no package has", name)
			}
		case regexp.MustCompile(`^[A-Za-z_]\w*\.[A-Za-z_]\w*$`).MatchString(name) && !external[name] && !strings.HasSuffix(name, ".cfg"):
			checked++
			if !names[name] {
				t.Errorf("docs/architecture.md names %s, which the code does not declare", name)
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d names checked: the reading of the document is wrong", checked)
	}
}
