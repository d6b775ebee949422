# The arca server image (what `arca install` deploys as /arca). Built from this repository:
#   docker build -t arca/arca:v0.1.0 .    (the tag `arca install` uses by default)
# Stage 1 builds only the `arca` target with Debian 12's packaged libraries; stage 2 keeps the binary and
# the shared libraries it links, and runs as an unprivileged user.
FROM debian:12 AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates \
      libcurl4-openssl-dev libssl-dev nlohmann-json3-dev libsimdjson-dev libyaml-cpp-dev libarchive-dev \
      libdeflate-dev libisal-dev libzstd-dev zlib1g-dev libcli11-dev libspdlog-dev libfmt-dev libcpp-httplib-dev \
      libboost-dev libgtest-dev libgmock-dev libbenchmark-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
    && cmake --build /build --target arca \
    && strip /build/src/cli/arca

FROM debian:12-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libcurl4 libssl3 libsimdjson14 libyaml-cpp0.7 libarchive13 libdeflate0 libisal2 libzstd1 \
      zlib1g libspdlog1.10 libfmt9 libcpp-httplib0.11 libbrotli1 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/src/cli/arca /arca
USER 65532:65532
EXPOSE 8085
ENTRYPOINT ["/arca"]
CMD ["server"]
