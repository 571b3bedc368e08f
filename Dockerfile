# Multi-stage build: compile in the Rust image, ship the binary and the example definitions
# in a slim Debian image.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p touchstone-server --bin touchstone

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 touchstone
COPY --from=build /src/target/release/touchstone /usr/local/bin/touchstone
COPY config/experiments /app/config/experiments
WORKDIR /app
USER touchstone
EXPOSE 8080
ENTRYPOINT ["touchstone"]
CMD ["serve"]
