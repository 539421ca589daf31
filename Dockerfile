# Parley as a container image: one binary and its site, nothing else.
#
#   ./dev.sh image                     the runtime stage around this machine's release build (what the tests
#                                      build and run, with podman): parley:latest
#   docker build -t parley:latest .    everything from source in the builder stage (needs the official Rust
#                                      image; not exercised by the tests here, which reach no registry)
#
# Run it with the variables in docs/deploy.md ("Containers"); compose.yaml is the production shape.

# Where the binary and the site come from: `source` builds them here, `prebuilt` takes ./dist (the release
# build, staged by ./dev.sh image).
ARG DIST=source

FROM docker.io/library/rust:1.95-bookworm AS source
RUN apt-get update && apt-get install -y --no-install-recommends npm && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && rustup target add wasm32-unknown-unknown \
 && cargo install cargo-leptos --version 0.3.7 --locked \
 && cargo install wasm-bindgen-cli --version 0.2.130 \
 && npm install --global --no-audit --no-fund binaryen@132
WORKDIR /src
COPY . .
RUN LEPTOS_OUTPUT_NAME=parley cargo leptos build --release \
 && mkdir -p /dist && cp target/release/parley /dist/parley && cp -r target/site /dist/site

FROM scratch AS prebuilt
COPY dist/ /dist/

FROM ${DIST} AS dist

FROM docker.io/library/debian:bookworm-slim AS runtime
# ca-certificates: TLS to PostgreSQL, SMTP and the assistant's server use the system's roots too.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && groupadd --gid 10001 parley \
 && useradd --uid 10001 --gid parley --home-dir /data --shell /usr/sbin/nologin parley \
 && mkdir -p /data && chown parley:parley /data
COPY --from=dist /dist/parley /usr/local/bin/parley
COPY --from=dist /dist/site /srv/parley/site
ENV PARLEY_ENV=production \
    LEPTOS_SITE_ADDR=0.0.0.0:8080 \
    LEPTOS_SITE_ROOT=/srv/parley/site \
    DATABASE_URL=sqlite:///data/parley.db \
    PARLEY_LOG_FORMAT=json
USER parley
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# The binary asks its own /health (no curl in the image). It answers 503 until the database is reached
# and migrated, so "starting" turns "healthy" only once requests are served.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["/usr/local/bin/parley", "healthcheck"]
# PID 1 is Parley itself: it handles SIGTERM (finish in-flight requests, close the pool, exit 0) and has
# no children to reap.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/parley"]
