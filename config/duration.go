package config

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

const day = 24 * time.Hour

// ParseDuration parses a duration in Go syntax ("90s", "10m", "1h30m", "-5m") that may start
// with a count of days ("7d", "1.5d", "1d12h").
func ParseDuration(s string) (time.Duration, error) {
	d, err := parseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("parse duration %q: %w", s, err)
	}
	return d, nil
}

var errInvalidDuration = errors.New("invalid duration")

// parseDuration returns errors that say what is wrong without repeating s, for Problem.Msg.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("must not be empty")
	}
	if isDigits(s) && s != "0" {
		return 0, fmt.Errorf("%w: missing unit (such as %ss)", errInvalidDuration, s)
	}
	days, rest, hasDays := strings.Cut(s, "d")
	if !hasDays {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, errInvalidDuration
		}
		return d, nil
	}
	neg := false
	switch {
	case strings.HasPrefix(days, "-"):
		neg, days = true, days[1:]
	case strings.HasPrefix(days, "+"):
		days = days[1:]
	}
	n, ok := parseDecimal(days)
	if !ok {
		return 0, errInvalidDuration
	}
	total := n * float64(day)
	if rest != "" {
		if rest[0] == '-' || rest[0] == '+' {
			return 0, errInvalidDuration
		}
		r, err := time.ParseDuration(rest)
		if err != nil {
			return 0, errInvalidDuration
		}
		total += float64(r)
	}
	// float64(math.MaxInt64) rounds up to 2^63, which does not fit: compare with >=.
	if total >= float64(math.MaxInt64) {
		return 0, fmt.Errorf("%w: out of range", errInvalidDuration)
	}
	d := time.Duration(total)
	if neg {
		d = -d
	}
	return d, nil
}

// parseDecimal parses digits with at most one decimal point ("7", "1.5", ".5"); unlike
// strconv.ParseFloat it refuses exponents, hex, signs, "inf" and "nan".
func parseDecimal(s string) (float64, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || !isDigits(whole) && whole != "" || !isDigits(frac) && frac != "" {
		return 0, false
	}
	var n float64
	for _, c := range whole {
		n = n*10 + float64(c-'0')
	}
	scale := 1.0
	for _, c := range frac {
		scale /= 10
		n += float64(c-'0') * scale
	}
	return n, !math.IsInf(n, 0)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// formatDuration writes d without zero trailing units: "1h", "10m", "1h30m", "168h".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
