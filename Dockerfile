# The arca server image (what `arca install` deploys as /arca; /velero is the same binary). Built from this repository:
#   docker build -t arca/arca:v0.1.0 .    (the tag `arca install` uses by default)
# Stage 1 builds only the `arca` and `arca-restore-helper` targets with Debian 12's packaged libraries; stage 2 keeps the binary and
# the shared libraries it links, and runs as an unprivileged user. Both stages install their packages from
# scripts/debian-packages (sets build and runtime) through scripts/install-deps.sh, the list a developer machine
# installs too; tests/packaging/image_deps_test.py checks those lists against the build and `ldd` of arca. Stage 1
# builds the one way developers and CI do (scripts/build.sh, in /src/build); .dockerignore keeps a checkout's
# build/ and node_modules/ out of the context. tests/packaging/dockerfile_test.py runs these instructions without a
# docker engine (bubblewrap, a root per stage holding only the packages of its base image and its set).
FROM debian:12 AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/debian-packages scripts/
RUN bash scripts/install-deps.sh --only build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN bash scripts/build.sh arca arca-restore-helper \
    && strip build/src/cli/arca build/src/podvolume/arca-restore-helper

FROM debian:12-slim
COPY scripts/install-deps.sh scripts/debian-packages /tmp/deps/scripts/
RUN bash /tmp/deps/scripts/install-deps.sh --only runtime && rm -rf /var/lib/apt/lists/* /tmp/deps
COPY --from=build /src/build/src/cli/arca /arca
# A Deployment written by `velero install` runs /velero (Velero's pkg/install/deployment.go): the same binary.
RUN ln -s /arca /velero
# The restore-wait init container of a file-system restore runs /velero-restore-helper (Velero's layout).
COPY --from=build /src/build/src/podvolume/arca-restore-helper /velero-restore-helper
USER 65532:65532
EXPOSE 8085
ENTRYPOINT ["/arca"]
CMD ["server"]
