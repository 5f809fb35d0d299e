// Package cifake serves the parts of the GitHub and GitLab REST APIs that
// specgate's publishers call, as httptest servers on loopback, for tests.
//
// It takes seeded state (comments and notes, workflow runs, artifacts and
// job artifacts as zip archives, injected failures) and gives the servers'
// URLs, the job environment that points at them, and a record of every
// request, so that a test can assert what a client sent and what it left
// behind. Both servers answer in the documented shapes: paths, methods,
// authentication headers, JSON bodies, status codes and pagination
// headers. The tokens they accept are planted constants that no output
// may repeat.
package cifake
