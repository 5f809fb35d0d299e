# specgate in an image of its own: the static binary and nothing else.
# Build with 'make image' where Docker is available. Live capture in a
# container needs CAP_NET_RAW (and, for --netns, CAP_SYS_ADMIN).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/specgate ./cmd/specgate

FROM scratch
COPY --from=build /out/specgate /specgate
ENTRYPOINT ["/specgate"]
