// Package capture turns traffic into HTTP exchanges.
//
// It takes packets (live from AF_PACKET sockets, from pcap and pcapng files)
// or recorded exchanges (HAR, NDJSON) and gives a stream of [Exchange] values
// plus [Stats] that account for everything it could not read. The data model
// lives here; sources, reassembly and parsing live in sub-packages.
package capture
