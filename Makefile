# punchd. The test command is scripts/test.sh (the README's); packages come from scripts/dist.sh.
.PHONY: all build test dist test-packages clean

all: build

# bin/punchd, bin/punchctl, bin/zkclock (a bare `go build ./cmd/...` discards them).
build:
	go build -o bin/ ./cmd/...

test:
	bash scripts/test.sh

# .deb and .rpm for amd64, arm64 and loong64, and the Windows amd64 zip, in dist/ (VERSION=… to set the version).
dist:
	bash scripts/dist.sh

# Build the amd64 .deb, check it with dpkg-deb and install it into a throwaway root.
test-packages:
	bash scripts/test-packages.sh

clean:
	rm -rf dist bin
