//go:build !slow

package main

// slowTag is true in a build with the slow tag (go test -tags slow).
const slowTag = false
