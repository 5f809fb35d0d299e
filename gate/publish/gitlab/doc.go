// Package gitlab publishes a gate's report from a GitLab CI job: it takes
// the job's environment (Env), a token and the markdown report, and gives
// one sticky merge request note, edited in place on every run, and the
// baseline documents that the default branch's last successful job stored
// as its artifacts.
//
// It speaks GitLab's REST API v4 with net/http: four endpoints (list, create
// and edit a merge request's notes; download a ref's job artifacts) do not
// justify a client library. Every call goes to Env.APIURL, so self-managed
// instances work unchanged. Requests that may be sent twice are retried on
// 5xx answers and rate limits with bounded exponential backoff; a note is
// created at most once, by looking for it again before another attempt.
// The token is sent only to the API's own origin (never across a redirect
// to object storage), and no error, log line or note ever holds it.
package gitlab
