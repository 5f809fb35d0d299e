// Package github publishes a gate's report from a GitHub Actions job: it
// takes the runner's environment (Env), a token and the markdown report,
// and gives a sticky pull-request comment, the job summary, step outputs,
// and the baseline specs that the branch's last successful run stored as
// an artifact.
//
// Every API call goes to Env.APIURL, so GitHub Enterprise Server works
// unchanged. Idempotent requests, and the comment's POST and PATCH, are
// retried on 5xx answers and on rate limits with exponential backoff. No
// error, log line or comment ever holds the token.
package github
