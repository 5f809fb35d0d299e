# specgate: make demo | make test | make lint | make bench | make fuzz
GO        ?= go
BIN       := bin/specgate
FUZZTIME  ?= 5m
STATICCHECK_VERSION := v0.8.2

export CGO_ENABLED := 0

.PHONY: all build demo test test-short fuzz-smoke fuzz lint bench image clean

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/specgate

## demo: the whole story on the built-in demo system
demo:
	@bash scripts/demo.sh

## test: every test, then each fuzz target for a few seconds
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...
	@FUZZTIME=3s bash scripts/fuzz.sh

## fuzz: each fuzz target for FUZZTIME (default 5m)
fuzz:
	@FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

## lint: gofmt, go vet, staticcheck
lint:
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || (echo "gofmt: the files above need formatting" && false)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

## bench: benchmarks, with ratios against tshark and a bare gopacket loop
bench:
	@bash scripts/bench.sh

## image: the container image (FROM scratch, the static binary), where Docker runs
IMAGE ?= specgate:dev
image:
	@docker info >/dev/null 2>&1 || { echo "make image: no Docker daemon here (docker info failed)"; exit 2; }
	docker build -t $(IMAGE) .

clean:
	rm -rf bin .demo .bench
