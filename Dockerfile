# keyless-aws container image: one static binary and a CA bundle, nothing else
# (plus /keyless-aws-post, a symlink to the binary: action.yml's post-entrypoint; the
# binary tells the post step by its name, because the runner starts the post step with
# its own entrypoint but the main step's arguments).
#
# Two ways to fill the image, one final stage:
#
#   * default (no build args): compile from source in a musl builder stage. This is what
#     the release workflow publishes (linux/amd64 + linux/arm64) and what a GitHub runner
#     builds for `uses: ./` while action.yml says `image: 'Dockerfile'`.
#
#   * --build-arg BINARY_SOURCE=prebuilt, with a build context laid out like the image:
#     `keyless-aws` (a static binary), `keyless-aws-post -> keyless-aws` and
#     `etc/ssl/certs/ca-certificates.crt`. No image is pulled and no compiler runs;
#     scripts/build-image.sh does this for the tests.
#
# BuildKit only builds the stages the final stage depends on, so the prebuilt build never
# resolves the rust image, and the source build never touches the `prebuilt` stage. The
# legacy builder (and act, which builds through it) runs every stage; `COPY . /out/`
# below keeps the unused `prebuilt` stage from failing there.
#
# There is deliberately no `# syntax=` line: it would make BuildKit pull a frontend image.

ARG BINARY_SOURCE=source

# ---- source: static musl build from the repository ----
# rust:*-alpine targets x86_64/aarch64-unknown-linux-musl natively; musl binaries are
# statically linked by default. gcc builds ring's C and assembly parts.
# Pinned by digest (the multi-platform index), so a release is built with exactly this
# toolchain; dependabot (.github/dependabot.yml) proposes new digests.
#
# `cargo auditable build` embeds the crate list (name, version, source) in the binary's
# `.dep-v0` section: the final image is `FROM scratch`, so the binary is the only place
# an SBOM scanner (syft, trivy) or `cargo audit bin` can learn which crates it holds.
FROM rust:1.95-alpine3.23@sha256:606fd313a0f49743ee2a7bd49a0914bab7deedb12791f3a846a34a4711db7ed2 AS source
ARG CARGO_AUDITABLE_VERSION=0.7.7
RUN apk add --no-cache ca-certificates musl-dev gcc binutils \
 && cargo install cargo-auditable --locked --version "$CARGO_AUDITABLE_VERSION" \
 && rm -rf /usr/local/cargo/registry
WORKDIR /build
# .dockerignore reduces the context to Cargo.toml, Cargo.lock, src/ and friends.
COPY . .
RUN cargo auditable build --release --locked \
 && if readelf -d target/release/keyless-aws | grep -q NEEDED; then \
        echo "keyless-aws is not statically linked" >&2; exit 1; \
    fi \
 && if ! readelf -S target/release/keyless-aws | grep -q '\.dep-v0'; then \
        echo "keyless-aws has no .dep-v0 section (cargo auditable)" >&2; exit 1; \
    fi \
 && install -D -m 0755 target/release/keyless-aws /out/keyless-aws \
 && ln -s keyless-aws /out/keyless-aws-post \
 && install -D -m 0644 /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ca-certificates.crt

# ---- prebuilt: the build context is the image's files (see scripts/build-image.sh) ----
FROM scratch AS prebuilt
COPY . /out/

FROM ${BINARY_SOURCE} AS binary

# ---- final image ----
# One directory copy, so the symlink stays a symlink (copying it by name would copy the
# binary a second time).
FROM scratch
COPY --from=binary /out/ /
ENTRYPOINT ["/keyless-aws"]
