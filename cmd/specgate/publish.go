package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/specgate/specgate/gate"
	ghpub "github.com/specgate/specgate/gate/publish/github"
	glpub "github.com/specgate/specgate/gate/publish/gitlab"
	"github.com/specgate/specgate/gate/render"
)

// ciBaseline resolves a baseline that lives in a CI system's artifacts:
// artifact:NAME (GitHub Actions: the newest successful run's artifact on
// the base branch) or gitlab-artifact:JOB (GitLab: the newest successful
// pipeline's job artifacts on the target branch). ok is false for any
// other source. It says which baseline it used. The documents are in dir,
// below tmp, which the caller removes.
func (a *app) ciBaseline(ctx context.Context, src, token string) (dir, tmp string, ok bool, err error) {
	switch {
	case strings.HasPrefix(src, "artifact:"):
		name := strings.TrimPrefix(src, "artifact:")
		env, err := ghpub.EnvFrom(os.Getenv)
		if err != nil {
			return "", "", true, fmt.Errorf("baseline %s: %v", src, err)
		}
		if token != "" {
			env.Token = token
		}
		c, err := ghpub.NewClient(ctx, env, nil)
		if err != nil {
			return "", "", true, fmt.Errorf("baseline %s: %v", src, err)
		}
		branch := env.BaseRef // a pull request's base
		if branch == "" {
			branch = env.RefName // a push: this branch's own baseline
		}
		dir, err := os.MkdirTemp("", "specgate-baseline-")
		if err != nil {
			return "", "", true, err
		}
		s, err := c.DownloadBaseline(ctx, name, branch, dir)
		if err != nil {
			os.RemoveAll(dir)
			return "", "", true, fmt.Errorf("baseline %s: %w", src, err)
		}
		fmt.Fprintf(a.stderr, "specgate: baseline: artifact %s of run %d on %s (commit %s)\n", name, s.RunID, branch, shortSHA(s.SHA))
		return dir, dir, true, nil
	case strings.HasPrefix(src, "gitlab-artifact:"):
		job := strings.TrimPrefix(src, "gitlab-artifact:")
		env, err := glpub.EnvFrom(os.Getenv)
		if err != nil {
			return "", "", true, fmt.Errorf("baseline %s: %v", src, err)
		}
		c := glpub.NewClient(env, nil)
		// The merge request's target branch first, then the default one.
		err = glpub.ErrNoBaseline
		for _, ref := range env.BaselineRefs() {
			dir, derr := os.MkdirTemp("", "specgate-baseline-")
			if derr != nil {
				return "", "", true, derr
			}
			s, derr := c.DownloadBaseline(ctx, job, ref, dir)
			if derr == nil {
				fmt.Fprintf(a.stderr, "specgate: baseline: %s\n", s)
				return s.Dir, dir, true, nil
			}
			os.RemoveAll(dir)
			err = derr
			if !errors.Is(derr, glpub.ErrNoBaseline) {
				break
			}
		}
		return "", "", true, fmt.Errorf("baseline %s: %w", src, err)
	}
	return "", "", false, nil
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// noBaseline reports whether err says a CI system holds no baseline yet.
func noBaseline(err error) bool {
	return errors.Is(err, ghpub.ErrNoBaseline) || errors.Is(err, glpub.ErrNoBaseline)
}

// publish posts the report where the CI system shows it: the sticky pull
// or merge request comment, the job summary and the step outputs. A
// token that cannot write (a fork's) is not a failure: the summary and
// the annotations carry the report, and the verdict decides the exit.
func (a *app) publish(ctx context.Context, r *gate.Report, token, reportJSON string) error {
	var md bytes.Buffer
	if err := render.Render(&md, "markdown", r, render.Options{Tool: "specgate", Version: version}); err != nil {
		return err
	}
	switch {
	case os.Getenv("GITHUB_ACTIONS") == "true":
		env, err := ghpub.EnvFrom(os.Getenv)
		if err != nil {
			return fmt.Errorf("--comment: %v", err)
		}
		if token != "" {
			env.Token = token
		}
		if env.StepSummary != "" {
			if err := ghpub.AppendSummary(env.StepSummary, md.String()); err != nil {
				return err
			}
		}
		if env.Output != "" {
			out := map[string]string{"verdict": string(r.Verdict), "breaking-count": strconv.Itoa(r.Breaking)}
			if reportJSON != "" {
				out["report-json"] = reportJSON
			}
			if err := ghpub.SetOutputs(env.Output, out); err != nil {
				return err
			}
		}
		if env.PR == 0 {
			return nil // not a pull request: the summary is the report
		}
		if env.Fork {
			fmt.Fprintln(a.stderr, "specgate: a fork's token cannot comment on this pull request: the report is in the job summary and the annotations")
			return nil
		}
		c, err := ghpub.NewClient(ctx, env, nil)
		if err != nil {
			return fmt.Errorf("--comment: %v", err)
		}
		res, err := c.UpsertComment(ctx, env.PR, md.String())
		if errors.Is(err, ghpub.ErrCannotWrite) {
			fmt.Fprintln(a.stderr, "specgate: the token cannot comment on this pull request (a fork's is read-only): the report is in the job summary and the annotations")
			return nil
		}
		if err != nil {
			fmt.Fprintf(a.stderr, "specgate: warning: the pull request comment failed: %v\n", err)
			return nil
		}
		fmt.Fprintf(a.stderr, "specgate: pull request comment %s: %s\n", res.Action, res.URL)
	case os.Getenv("GITLAB_CI") == "true":
		env, err := glpub.EnvFrom(os.Getenv)
		if err != nil {
			return fmt.Errorf("--comment: %v", err)
		}
		if env.MergeRequestIID == 0 {
			return nil
		}
		res, err := glpub.NewClient(env, nil).UpsertNote(ctx, md.String())
		if errors.Is(err, glpub.ErrCannotWrite) {
			fmt.Fprintln(a.stderr, "specgate: the token cannot comment on this merge request (set SPECGATE_GITLAB_TOKEN with api scope): the report is in the job's reports")
			return nil
		}
		if err != nil {
			fmt.Fprintf(a.stderr, "specgate: warning: the merge request note failed: %v\n", err)
			return nil
		}
		fmt.Fprintf(a.stderr, "specgate: merge request note %s: %s\n", res.Action, res.URL)
	default:
		fmt.Fprintln(a.stderr, "specgate: --comment: not running in GitHub Actions or GitLab CI, nothing to comment on")
	}
	return nil
}
