package actionrun

import (
	"fmt"
	"os"
	"strings"
)

// parseKeyValues reads a GITHUB_OUTPUT or GITHUB_ENV file as the runner
// does: each entry is name=value on one line, or name<<DELIMITER followed
// by the value's lines and a line holding only DELIMITER. A later entry
// for a name replaces an earlier one. name is used in errors.
func parseKeyValues(data, name string) (map[string]string, []string, error) {
	out := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := out[k]; !ok {
			order = append(order, k)
		}
		out[k] = v
	}
	lines := strings.Split(data, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSuffix(lines[i], "\r")
		if line == "" {
			continue
		}
		eq, heredoc := strings.Index(line, "="), strings.Index(line, "<<")
		switch {
		case eq >= 0 && (heredoc < 0 || eq < heredoc):
			key := line[:eq]
			if key == "" {
				return nil, nil, fmt.Errorf("%s line %d: empty name", name, i+1)
			}
			set(key, line[eq+1:])
		case heredoc >= 0:
			key, delim := line[:heredoc], line[heredoc+2:]
			if key == "" || delim == "" {
				return nil, nil, fmt.Errorf("%s line %d: want NAME<<DELIMITER", name, i+1)
			}
			var value []string
			closed := false
			for i++; i < len(lines); i++ {
				l := strings.TrimSuffix(lines[i], "\r")
				if l == delim {
					closed = true
					break
				}
				value = append(value, l)
			}
			if !closed {
				return nil, nil, fmt.Errorf("%s: the value of %s has no closing delimiter line", name, key)
			}
			set(key, strings.Join(value, "\n"))
		default:
			return nil, nil, fmt.Errorf("%s line %d: want NAME=VALUE or NAME<<DELIMITER", name, i+1)
		}
	}
	return out, order, nil
}

// readKeyValues parses the file at path; a missing file holds nothing.
func readKeyValues(path, name string) (map[string]string, []string, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return map[string]string{}, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", name, err)
	}
	return parseKeyValues(string(data), name)
}
