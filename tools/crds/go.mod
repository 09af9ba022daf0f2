// Module crds pins the Go modules whose CustomResourceDefinitions the tests
// validate generated objects against: Flux's Kustomization, Argo CD's
// ApplicationSet and Application, and the Gateway API's Gateway (the
// ambient east-west gateway; v1.4.1, the release Sail's multicluster docs
// install). Nothing here is compiled: .ci/tools.sh runs `go mod download`
// (which checks go.sum) and copies the CRD files into .bin/crds. Pins are
// the newest releases that need no Go above 1.26.
module github.com/meshgen/meshgen/tools/crds

go 1.26.8

require (
	github.com/argoproj/argo-cd/v3 v3.5.7
	github.com/fluxcd/kustomize-controller v1.9.6
	sigs.k8s.io/gateway-api v1.4.1
)
