# Short aliases; plain `go test ./...` always works too (tests that need the
# real tools skip without them, except under CI=true).
BIN := $(CURDIR)/.bin
export PATH := $(BIN):$(PATH)

.PHONY: test tools golden example bench check-example schema routes-oracle

# The full suite: the pinned real tools, then every test, then the route
# oracle (the sim module: Istio's control plane on every generated tree).
# CGO_ENABLED=0 matches the istioctl build, so both share one build of Istio.
test: tools
	go vet ./...
	staticcheck ./...
	go test ./...
	cd sim && CGO_ENABLED=0 go vet ./... && CGO_ENABLED=0 go test ./...

# Only the route oracle.
routes-oracle:
	cd sim && CGO_ENABLED=0 go test ./oracle -run TestRoutes -v

tools:
	bash .ci/tools.sh $(BIN)

# Rewrite the golden trees after an intended change; review the diff.
golden:
	go test ./generator/... -update

# Regenerate the checked-in example tree from inventory.example.yaml. The
# example's secrets are encrypted to the test-only keys of testdata/age.
example:
	SOPS_AGE_KEY_FILE=testdata/age/test-only-operator.agekey go run ./cmd/meshgen generate --allow-test-keys -i inventory.example.yaml -o .

check-example:
	go run ./cmd/meshgen generate --check --allow-test-keys -i inventory.example.yaml -o .

# Benchmarks, then the fleet measured side by side with istioctl and
# kustomize; docs/performance.md records a run.
bench: tools
	go test -run '^$$' -bench 'NoChange|CheckFleet|LoadFleet|FirstRunPKI200$$|IssueIntermediates$$|ValidateWide' -benchmem ./generator/... ./cmd/meshgen
	cd sim && CGO_ENABLED=0 go test -run '^$$' -bench 'SimulateFleetM' -benchtime 1x -benchmem ./oracle
	bash generator/fleet/perf.sh 5

# Regenerate inventory.schema.json from the inventory types and their doc
# comments; a test fails when it is stale.
schema:
	go run ./generator/inventory/schemagen -o inventory.schema.json
