module github.com/vpipe/vpipe

go 1.23.0

require github.com/asticode/go-astiav v0.16.0

require (
	github.com/asticode/go-astikit v0.42.0 // indirect
	github.com/stretchr/testify v1.11.1 // indirect
)
