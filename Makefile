# acmehub — see README.md. `make run` starts the server on its built-in default;
# `make test` runs every test (the control-plane binaries are built first).

GO        ?= go
BIN       := bin/acmehub
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/acmehub/acmehub/cmd.Version=$(VERSION)

# Kubernetes control plane for the webhook tests, built from the Go module proxy.
K8S_VERSION := v1.36.3
K8S_LDFLAGS := -X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) \
	-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=36 \
	-X k8s.io/client-go/pkg/version.gitVersion=$(K8S_VERSION) \
	-X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=36
ASSETS := _bin/etcd _bin/kube-apiserver _bin/kubectl _bin/helm _bin/pebble _bin/legoclient _bin/certmanager _bin/axe.min.js \
	_bin/kubelet _bin/kube-proxy _bin/kube-scheduler _bin/kube-controller-manager _bin/coredns
export TEST_ASSET_ETCD           ?= $(CURDIR)/_bin/etcd
export TEST_ASSET_KUBE_APISERVER ?= $(CURDIR)/_bin/kube-apiserver
export TEST_ASSET_KUBECTL        ?= $(CURDIR)/_bin/kubectl
export TEST_ASSET_HELM           ?= $(CURDIR)/_bin/helm
export TEST_ASSET_PEBBLE         ?= $(CURDIR)/_bin/pebble
export TEST_ASSET_LEGO           ?= $(CURDIR)/_bin/legoclient
export TEST_ASSET_CERT_MANAGER  ?= $(CURDIR)/_bin/certmanager
export TEST_ASSET_AXE            ?= $(CURDIR)/_bin/axe.min.js
export TEST_ASSET_KUBELET        ?= $(CURDIR)/_bin/kubelet
export TEST_ASSET_KUBE_PROXY     ?= $(CURDIR)/_bin/kube-proxy
export TEST_ASSET_KUBE_SCHEDULER ?= $(CURDIR)/_bin/kube-scheduler
export TEST_ASSET_KUBE_CONTROLLER_MANAGER ?= $(CURDIR)/_bin/kube-controller-manager
export TEST_ASSET_COREDNS        ?= $(CURDIR)/_bin/coredns

.PHONY: build run test test-unit test-conformance test-e2e test-chart test-cluster test-assets bench lint clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) .

run: build
	@echo 'acmehub server: DNS on 127.0.0.1:5353 (UDP+TCP), API on http://127.0.0.1:8080, SQLite in ./data'
	@echo 'Try it from another terminal (README.md, "Quick start"):'
	@awk '/^## Quick start/ {q = 1} q && /^```sh/ {p = 1; next} p && /^```/ {exit} p {print "  " $$0}' README.md
	$(BIN) server

# Every test, with a summary at the end (hack/testrun): the programs the
# tests start are checked first, and installed with one apt-get as root on
# Debian/Ubuntu (hack/test-deps.sh, from hack/test-deps.txt); a throwaway
# PostgreSQL serves the run unless $$ACMEHUB_TEST_POSTGRES names a server;
# the test binaries are built concurrently, when their sources changed; then
# the stages run: lint, unit (with the race detector, the real binary's tests
# and the fuzz seed corpora), conformance (cert-manager's suite), e2e
# (kube-apiserver, cert-manager's controller, pebble, lego, Chromium), chart
# and cluster (the README's install on a one-node cluster this machine runs,
# as root: kubelet, containerd, runc, kube-proxy, CoreDNS).
# ACMEHUB_TEST_SKIP=postgres,bind,knot,unbound,chromium,cluster opts tests
# out by name; the summary lists them.
test: STAGES :=
test-unit: STAGES := unit
test-conformance: STAGES := conformance
test-e2e: STAGES := e2e
test-chart: STAGES := chart
test-cluster: STAGES := cluster
test test-unit test-conformance test-e2e test-chart test-cluster:
	@hack/test-deps.sh
	@$(MAKE) --no-print-directory _bin/testrun
	@MAKE='$(MAKE)' GO='$(GO)' _bin/testrun $(STAGES)

_bin/testrun: $(wildcard hack/testrun/*.go)
	$(GO) build -o $@ ./hack/testrun

test-assets: $(ASSETS)

_bin/etcd _bin/kube-apiserver _bin/kubectl _bin/kubelet _bin/kube-proxy _bin/kube-scheduler _bin/kube-controller-manager &: \
		hack/tools/go.mod hack/tools/go.sum hack/tools/etcd/main.go
	cd hack/tools && $(GO) build -ldflags '$(K8S_LDFLAGS)' -o ../../_bin/ \
		./etcd k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl \
		k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy \
		k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kube-controller-manager

# CoreDNS with the plugins a cluster's DNS needs, for the one-node cluster.
_bin/coredns: hack/tools/coredns/go.mod hack/tools/coredns/go.sum hack/tools/coredns/main.go
	cd hack/tools/coredns && CGO_ENABLED=0 $(GO) build -o ../../../_bin/coredns .

_bin/helm: hack/tools/helm/go.mod hack/tools/helm/go.sum
	cd hack/tools/helm && $(GO) build -o ../../../_bin/helm helm.sh/helm/v3/cmd/helm

# Pebble (Let's Encrypt's test CA) and an ACME client on lego's library with
# its httpreq provider, for the hub's end-to-end test.
_bin/pebble _bin/legoclient &: hack/tools/acme/go.mod hack/tools/acme/go.sum hack/tools/acme/legoclient/main.go
	cd hack/tools/acme && $(GO) build -o ../../../_bin/ github.com/letsencrypt/pebble/v2/cmd/pebble ./legoclient

# cert-manager's controller (its ACME control loops, from its own packages)
# for the end-to-end test that issues Certificates through the webhook.
_bin/certmanager: hack/tools/certmanager/go.mod hack/tools/certmanager/go.sum hack/tools/certmanager/main.go
	cd hack/tools/certmanager && CGO_ENABLED=0 $(GO) build -o ../../../_bin/certmanager .

# axe-core, the accessibility checks the console's browser test runs, from
# the npm registry at the version and checksum package-lock.json pins.
_bin/axe.min.js: hack/tools/axe/package.json hack/tools/axe/package-lock.json
	cd hack/tools/axe && npm ci --no-audit --no-fund
	mkdir -p _bin && cp hack/tools/axe/node_modules/axe-core/axe.min.js $@

# Go benchmarks, the webhook's memory behind kube-apiserver, then the load
# against real processes (needs dnsperf).
bench: test-assets
	$(GO) test -run '^$$' -bench . -benchmem ./hub/... ./solver/...
	$(GO) test -run '^$$' -bench WebhookMemory -benchtime 1x -tags e2e ./test/e2e/
	hack/bench.sh

# golangci-lint with .golangci.yml (gofmt, goimports, vet, staticcheck,
# errcheck, gosec, revive, funlen, goheader), at zero findings.
lint: _bin/golangci-lint
	_bin/golangci-lint run ./...
	cd hack/tools && $(GO) vet ./...
	cd hack/tools/acme && $(GO) vet ./...
	cd hack/tools/certmanager && $(GO) vet ./...
	cd hack/tools/coredns && $(GO) vet ./...

_bin/golangci-lint: hack/tools/lint/go.mod hack/tools/lint/go.sum
	cd hack/tools/lint && $(GO) build -o ../../../_bin/golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint

clean:
	rm -rf bin _bin
