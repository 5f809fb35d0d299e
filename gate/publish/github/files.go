package github

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/specgate/specgate/internal/oserr"
)

// MaxSummaryLen is the most a step may write to its job summary, in
// bytes; GitHub drops a larger summary.
const MaxSummaryLen = 1 << 20

// AppendSummary appends markdown to the job summary file at path
// ($GITHUB_STEP_SUMMARY), ending it with a line break. Markdown that
// would take the file past MaxSummaryLen is trimmed with a note.
func AppendSummary(path, markdown string) error {
	if path == "" {
		return errors.New("job summary: GITHUB_STEP_SUMMARY is not set")
	}
	if !strings.HasSuffix(markdown, "\n") {
		markdown += "\n"
	}
	used, sep, err := summaryTail(path)
	if err != nil {
		return err
	}
	room := MaxSummaryLen - int(used) - len(sep)
	if len(markdown) > room {
		note := "**This report was trimmed to fit the job summary.**"
		if room < len(note)+16 {
			return fmt.Errorf("job summary %s: full (%d bytes)", path, used)
		}
		markdown, _ = fitMarkdown(markdown, room, note)
	}
	return appendFile(path, "job summary", sep+markdown)
}

// summaryTail gives the size of the summary file at path, and what to
// write before a new block so that a blank line parts it from the last.
func summaryTail(path string) (int64, string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("job summary %s: %w", path, oserr.Cause(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, "", fmt.Errorf("job summary %s: %w", path, oserr.Cause(err))
	}
	n := fi.Size()
	if n == 0 {
		return 0, "", nil
	}
	var last [2]byte
	k := min(n, 2)
	if _, err := f.ReadAt(last[:k], n-k); err != nil {
		return 0, "", fmt.Errorf("job summary %s: %w", path, oserr.Cause(err))
	}
	switch tail := string(last[:k]); {
	case tail == "\n\n" || k == 1 && tail == "\n":
		return n, "", nil
	case strings.HasSuffix(tail, "\n"):
		return n, "\n", nil
	}
	return n, "\n\n", nil
}

// SetOutputs writes step outputs to the file at path ($GITHUB_OUTPUT),
// sorted by name: name=value, or for a value with a line break
//
//	name<<DELIMITER
//	value
//	DELIMITER
//
// with a random delimiter that the value does not hold. Names are
// letters, digits, '-' and '_', starting with a letter or '_'.
func SetOutputs(path string, kv map[string]string) error {
	if path == "" {
		return errors.New("step outputs: GITHUB_OUTPUT is not set")
	}
	names := make([]string, 0, len(kv))
	for k := range kv {
		if !outputName(k) {
			return fmt.Errorf("step outputs: %q is not an output name", k)
		}
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		v := kv[k]
		if !strings.ContainsAny(v, "\r\n") {
			b.WriteString(k + "=" + v + "\n")
			continue
		}
		delim, err := delimiter(v)
		if err != nil {
			return fmt.Errorf("step outputs: %v", err)
		}
		b.WriteString(k + "<<" + delim + "\n" + v + "\n" + delim + "\n")
	}
	return appendFile(path, "step outputs", b.String())
}

// outputName tells whether s may name a step output.
func outputName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r == '-' || r >= '0' && r <= '9'):
		default:
			return false
		}
	}
	return true
}

// delimiter makes a random heredoc delimiter that v does not hold.
func delimiter(v string) (string, error) {
	for range 8 {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("random delimiter: %v", err)
		}
		d := "specgate_" + hex.EncodeToString(b[:])
		if !strings.Contains(v, d) {
			return d, nil
		}
	}
	return "", errors.New("no delimiter the value does not hold")
}

// appendFile appends s to the file at path, making it if needed.
func appendFile(path, what, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, path, oserr.Cause(err))
	}
	_, err = f.WriteString(s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, path, oserr.Cause(err))
	}
	return nil
}
