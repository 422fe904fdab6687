// Test harness: Argo CD's health-script runtime (see main.go). Pins match
// argoproj/argo-cd's go.mod (gopher-lua v1.1.2, gopher-json, sigs.k8s.io/yaml).
module okr-operator.local/harness/argocd-lua

go 1.24

require (
	github.com/yuin/gopher-lua v1.1.2
	layeh.com/gopher-json v0.0.0-20190114024228-97fed8db8427
	sigs.k8s.io/yaml v1.6.0
)

require go.yaml.in/yaml/v2 v2.4.2 // indirect
