module github.com/vpipe/vpipe

go 1.23.0

require github.com/asticode/go-astiav v0.16.0

require (
	github.com/VividCortex/ewma v1.2.0 // indirect
	github.com/acarl005/stripansi v0.0.0-20180116102854-5a71ef0e047d // indirect
	github.com/asticode/go-astikit v0.42.0 // indirect
	github.com/mattn/go-runewidth v0.0.16 // indirect
	github.com/rivo/uniseg v0.4.7 // indirect
	github.com/sourcegraph/conc v0.3.1-0.20240121214520-5f936abd7ae8 // indirect
	github.com/stretchr/testify v1.11.1 // indirect
	github.com/vbauerster/mpb/v8 v8.8.3 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	golang.org/x/sys v0.24.0 // indirect
)
