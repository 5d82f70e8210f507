package cli

import "os"

//go:generate go run ../cmd/gendocs ../docs

// DocsApp is the App the reference is generated from: a fixed environment,
// so defaults derived from it read the same on every machine.
func DocsApp() *App {
	env := map[string]string{"HOME": "~"}
	a := &App{IO: IO{Out: os.Stdout, Err: os.Stderr}, Getenv: func(k string) string { return env[k] }}
	a.setDefaults()
	return a
}
