package main

import (
	"fmt"
	"strconv"
	"strings"
)

// sizeValue is a byte count flag that accepts units: 512, 64KiB, 8MiB,
// 1GiB, and the decimal KB, MB, GB. (A few lines here spare a dependency.)
type sizeValue int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1},
}

func (s *sizeValue) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s = sizeValue(n)
	return nil
}

func (s *sizeValue) String() string {
	n := int64(*s)
	for _, u := range sizeUnits[:3] {
		if n >= u.mult && n%u.mult == 0 && (u.mult == 1<<30 || n < u.mult<<10 || n%(u.mult<<10) != 0) {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

func (s *sizeValue) Type() string { return "size" }

func parseSize(v string) (int64, error) {
	t := strings.TrimSpace(v)
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(strings.ToUpper(t), strings.ToUpper(u.suffix)) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid size %q (use bytes or a unit: 512KiB, 8MiB, 1GiB)", v)
	}
	return n * mult, nil
}
